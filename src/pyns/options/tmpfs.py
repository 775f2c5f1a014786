"""``--tmpfs /path[:options]`` as docker handles it.

The CLI only splits at the first colon; the daemon checks the destination
and, at start, prepends its defaults (noexec,nosuid,nodev,rprivate) to the
user's options and de-duplicates them with moby's MergeTmpfsOptions, where
a later option wins over an earlier one of the same kind (so "exec" undoes
the default "noexec").
"""
from __future__ import annotations

from pyns.errors import InvalidArgument
from pyns.options._go import clean_path, quote

DEFAULT_OPTIONS = ("noexec", "nosuid", "nodev", "rprivate")

# Flag options grouped by the mount flag they set: options in one group
# override each other. All propagation/bind flags share one group.
_FLAG_GROUPS = {
    "ro": "rdonly", "rw": "rdonly", "suid": "nosuid", "nosuid": "nosuid",
    "dev": "nodev", "nodev": "nodev", "exec": "noexec", "noexec": "noexec",
    "sync": "sync", "async": "sync", "dirsync": "dirsync", "remount": "remount",
    "mand": "mand", "nomand": "mand", "atime": "noatime", "noatime": "noatime",
    "diratime": "nodiratime", "nodiratime": "nodiratime",
    "relatime": "relatime", "norelatime": "relatime",
    "strictatime": "strictatime", "nostrictatime": "strictatime",
    **{p: "propagation" for p in ("bind", "rbind", "unbindable", "runbindable", "private",
                                  "rprivate", "shared", "rshared", "slave", "rslave")},
}
_DATA_KEYS = frozenset({"", "size", "mode", "uid", "gid", "nr_inodes", "nr_blocks", "mpol"})


def merge_tmpfs_options(options: list[str]) -> list[str]:
    """MergeTmpfsOptions: keep the last option of each kind, in input order."""
    seen: set[str] = set()
    merged: list[str] = []
    for option in reversed(options):
        if option == "defaults":
            continue
        if option in _FLAG_GROUPS:
            key = "flag:" + _FLAG_GROUPS[option]
        else:
            name, has_value, _ = option.partition("=")
            if not has_value or name not in _DATA_KEYS:
                raise InvalidArgument(f"invalid tmpfs option {quote(name)}")
            key = "data:" + name
        if key not in seen:
            seen.add(key)
            merged.append(option)
    merged.reverse()
    return merged


def check_tmpfs_target(target: str) -> None:
    """The daemon's ValidateTmpfsMountDestination."""
    if clean_path(target.replace("\\", "/")) == "/":
        raise InvalidArgument("invalid specification: destination can't be '/'")
    if not target.replace("\\", "/").startswith("/") or not clean_path(target).startswith("/"):
        raise InvalidArgument(f"invalid mount path: '{target.replace(chr(92), '/')}' mount path must be absolute")


def tmpfs_options(data: str) -> list[str]:
    """The mount options docker uses for a tmpfs whose HostConfig data is ``data``."""
    options = list(DEFAULT_OPTIONS)
    if data:
        options.extend(data.split(","))
    return merge_tmpfs_options(options)


def parse_tmpfs(spec: str) -> tuple[str, str]:
    """``(target, options)`` with docker's defaults merged in.

    "/run" -> ("/run", "noexec,nosuid,nodev,rprivate");
    "/run:rw,size=64m" -> ("/run", "noexec,nosuid,nodev,rprivate,rw,size=64m").
    The target is returned as written (docker keeps it so in HostConfig);
    the raw data for HostConfig.Tmpfs is ``spec.partition(":")[2]``.
    """
    if not isinstance(spec, str):
        raise InvalidArgument(f"invalid tmpfs specification: {spec!r}")
    target, _, data = spec.partition(":")
    check_tmpfs_target(target)
    return target, ",".join(tmpfs_options(data))
