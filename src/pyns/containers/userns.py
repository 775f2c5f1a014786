"""What a user namespace changes in a container's spec and files.

Two cases: --userns-remap (the engine is host root; the container's root is
an unprivileged host uid, so what the child makes as host root must be
given to it) and rootless (the engine itself is root of a user namespace,
so mounts that need namespaces it does not own are replaced by binds).
"""
from __future__ import annotations

import os

from pyns.runtime import defaults
from pyns.runtime.idmap import IdMap
from pyns.runtime.spec import Mount

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (see pyns/__init__.py)
if TYPE_CHECKING:
    from typing import Any


def remapped_layers(root: str, record: dict[str, Any], layers: list[str]) -> tuple[IdMap | None, list[str], list[str]]:
    """(the container's id map, its lower dirs, the dirs to idmap): the layers
    as they are for an unmapped container, else as remapped.py provides them."""
    idmap = IdMap.from_record(record.get("UsernsRemap"))
    if idmap is None:
        return None, layers, []
    from pyns.images import remapped

    return (idmap, *remapped.lower_dirs(root, layers, idmap))


def owned_by_root(mounts: list[Mount], idmap: IdMap) -> list[Mount]:
    """The mounts of a remapped container: the child mounts them as host root,
    so tmpfs roots get the mapped root as owner and devpts the mapped tty
    group, or the container's root could not write its own /dev."""
    uid, gid = idmap.host_uid(0), idmap.host_gid(0)
    out = []
    for m in mounts:
        opts = list(m.options)
        if m.type == "tmpfs" and not m.destination.startswith("/sys") \
                and "remount" not in opts and not any(o.startswith(("uid=", "gid=")) for o in opts):
            opts += [f"uid={uid}", f"gid={gid}"]
        elif m.type == "devpts":
            opts = [f"gid={idmap.host_gid(int(o[4:]))}" if o.startswith("gid=") else o for o in opts]
        out.append(Mount(m.destination, m.type, m.source, opts))
    return out


def rootless_mounts(mounts: list[Mount], namespaces: frozenset[str]) -> list[Mount]:
    """A rootless container may mount proc and sysfs only for namespaces its user
    namespace owns: sharing the host's pid or network namespace, it gets the
    host's /proc or /sys bound (read-only for /sys) instead, as runc does."""
    out = []
    for m in mounts:
        if m.type == "proc" and "pid" not in namespaces:
            m = Mount("/proc", "bind", "/proc", ["rbind", "nosuid", "noexec", "nodev"])
        elif m.type == "sysfs" and "network" not in namespaces:
            m = Mount("/sys", "bind", "/sys", ["rbind", "ro", "nosuid", "noexec", "nodev"])
        out.append(m)
    return out


def net_sysctls(unprivileged: bool) -> dict[str, str]:
    """docker's defaults; rootless, the ping range can only name the gids it maps."""
    if not unprivileged:
        return dict(defaults.NET_SYSCTLS)
    with open("/proc/self/gid_map", encoding="ascii") as f:
        mapped = sum(int(line.split()[2]) for line in f if line.strip())
    return {**defaults.NET_SYSCTLS, "net.ipv4.ping_group_range": f"0 {max(mapped - 1, 0)}"}


def give_to_root(idmap: IdMap, *paths: str) -> None:
    """chown paths (the upper dir, /etc/hosts & co) to the mapped root, if not yet."""
    uid, gid = idmap.host_uid(0), idmap.host_gid(0)
    for path in paths:
        st = os.lstat(path)
        if (st.st_uid, st.st_gid) != (uid, gid):
            os.lchown(path, uid, gid)
