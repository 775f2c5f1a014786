"""User mounts of a container: -v binds and volumes, --tmpfs, /etc files, --init.

Docker's behaviour: a missing bind source directory is created; a named
volume lives in ``<root>/volumes/<name>/_data`` and survives the container;
an anonymous one gets a random 64-hex name. Mounts are applied shallowest
destination first so that nested targets stack correctly.
"""
from __future__ import annotations

import os

from pyns import options
from pyns.errors import InvalidArgument
from pyns.records import record
from pyns.runtime.spec import Mount

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (see pyns/__init__.py)
if TYPE_CHECKING:
    from typing import Any, Mapping


@record
class ResolvedMounts:
    mounts: list[Mount]               # runtime mounts in order
    inspect: list[dict[str, Any]]     # docker inspect "Mounts"


def volume_dir(root: str, name: str) -> str:
    return os.path.join(root, "volumes", name, "_data")


def resolve(root: str, host_config: Mapping[str, Any]) -> ResolvedMounts:
    mounts: list[tuple[str, Mount]] = []
    inspect: list[dict[str, Any]] = []
    seen: set[str] = set()
    for spec in host_config.get("Binds") or []:
        v = options.parse_volume(spec)
        target = os.path.normpath(v.target)
        if target in seen:
            raise InvalidArgument(f"Duplicate mount point: {target}")
        seen.add(target)
        if v.kind == "bind":
            source = os.path.normpath(v.source)
            if not os.path.exists(source):
                os.makedirs(source, exist_ok=True)
            entry = {"Type": "bind", "Source": source, "Destination": target, "Mode": "",
                     "RW": not v.read_only, "Propagation": "rprivate"}
        else:
            name = v.source if v.kind == "volume" else os.urandom(32).hex()
            source = volume_dir(root, name)
            os.makedirs(source, exist_ok=True)
            entry = {"Type": "volume", "Name": name, "Source": source, "Destination": target,
                     "Driver": "local", "Mode": "", "RW": not v.read_only, "Propagation": ""}
        opts = ["rbind"] + (["ro"] if v.read_only else [])
        mounts.append((target, Mount(target, "bind", source, opts)))
        inspect.append(entry)
    for target, data in (host_config.get("Tmpfs") or {}).items():
        target = os.path.normpath(target)
        if target in seen:
            raise InvalidArgument(f"Duplicate mount point: {target}")
        seen.add(target)
        opts = options.tmpfs_options(data or "")
        mounts.append((target, Mount(target, "tmpfs", "tmpfs", opts)))
        inspect.append({"Type": "tmpfs", "Source": "", "Destination": target, "Mode": data or "",
                        "RW": "ro" not in opts, "Propagation": ""})
    mounts.sort(key=lambda m: m[0].count("/") if m[0] != "/" else 0)
    return ResolvedMounts([m for _, m in mounts], inspect)


def etc_files(container_dir: str, hostname: str, network_mode: str) -> list[Mount]:
    """Write /etc/hostname, /etc/hosts and /etc/resolv.conf for the container and bind them in."""
    files = {
        "hostname": hostname + "\n",
        "hosts": _hosts(network_mode),
        "resolv.conf": _resolv_conf(network_mode),
    }
    out = []
    for name, content in files.items():
        path = os.path.join(container_dir, name)
        with open(path, "w", encoding="utf-8") as f:
            f.write(content)
        out.append(Mount(f"/etc/{name}", "bind", path, ["rbind"]))
    return out


_DEFAULT_HOSTS = (
    "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"
    "fe00::0\tip6-localnet\nff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n"
)


def _hosts(network_mode: str) -> str:
    if network_mode == "host":
        try:
            with open("/etc/hosts", encoding="utf-8") as f:
                return f.read()
        except OSError:
            pass
    return _DEFAULT_HOSTS


def _resolv_conf(network_mode: str) -> str:
    try:
        with open("/etc/resolv.conf", encoding="utf-8") as f:
            text = f.read()
    except OSError:
        text = ""
    if network_mode == "host":
        return text
    # A loopback resolver on the host is unreachable from another netns.
    lines = [ln for ln in text.splitlines()
             if not (ln.split()[:1] == ["nameserver"] and ln.split()[1:2] and
                     (ln.split()[1].startswith("127.") or ln.split()[1] == "::1"))]
    return "\n".join(lines) + ("\n" if lines else "")
