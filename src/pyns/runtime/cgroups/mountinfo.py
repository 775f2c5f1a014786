"""Find the cgroup hierarchies from /proc/self/mountinfo.

Mountinfo, not /proc/mounts, because it is what the kernel tells *this*
mount namespace, and its "super options" field lists the v1 controllers bound
to each hierarchy. The version is decided by where our controllers live: on
"hybrid" hosts a cgroup2 mount exists (usually /sys/fs/cgroup/unified) but
holds no controllers, so any v1 mount of a controller we use means v1.
"""
from __future__ import annotations

import re

from pyns.errors import CgroupError
from pyns.records import field, record

#: v1 controllers pyns creates cgroups in, in the order their dirs are listed.
V1_CONTROLLERS: tuple[str, ...] = ("memory", "cpu", "cpuacct", "cpuset", "pids", "devices", "freezer", "blkio")

_OCTAL_ESCAPE = re.compile(r"\\([0-7]{3})")


@record(frozen=True)
class MountEntry:
    """One line of mountinfo, reduced to what cgroup detection needs."""

    root: str
    mount_point: str
    fstype: str
    super_options: tuple[str, ...]


@record(frozen=True)
class Topology:
    """Where the hierarchies are: a v2 root, or a mount point per v1 controller."""

    version: int
    v2_root: str = ""
    v1_mounts: dict[str, str] = field(default_factory=dict)


def _unescape(text: str) -> str:
    """Undo the kernel's octal escaping of spaces, tabs, newlines and backslashes."""
    return _OCTAL_ESCAPE.sub(lambda m: chr(int(m.group(1), 8)), text)


def parse_mountinfo(text: str) -> list[MountEntry]:
    """Parse mountinfo text; malformed lines are skipped rather than fatal."""
    entries: list[MountEntry] = []
    for line in text.splitlines():
        fields = line.split()
        try:
            sep = fields.index("-", 6)
        except ValueError:
            continue
        if len(fields) < sep + 3:
            continue
        entries.append(MountEntry(
            root=_unescape(fields[3]),
            mount_point=_unescape(fields[4]),
            fstype=fields[sep + 1],
            super_options=tuple(fields[sep + 3].split(",")),
        ))
    return entries


def _visible(entries: list[MountEntry]) -> list[MountEntry]:
    """Drop mounts shadowed by a later mount on the same mount point."""
    last: dict[str, MountEntry] = {}
    for entry in entries:
        last.pop(entry.mount_point, None)
        last[entry.mount_point] = entry
    return list(last.values())


def topology_from_entries(entries: list[MountEntry]) -> Topology:
    """Decide v1 vs v2 and where each hierarchy is mounted.

    The first mount of a controller wins (later ones are usually bind mounts
    of sub-trees); a cgroup2 mount mounted on ``/sys/fs/cgroup`` is preferred
    over any other cgroup2 mount.
    """
    visible = _visible(entries)
    v1_mounts: dict[str, str] = {}
    for entry in visible:
        if entry.fstype != "cgroup":
            continue
        for controller in entry.super_options:
            if controller in V1_CONTROLLERS and controller not in v1_mounts:
                v1_mounts[controller] = entry.mount_point
    if v1_mounts:
        ordered = {c: v1_mounts[c] for c in V1_CONTROLLERS if c in v1_mounts}
        return Topology(version=1, v1_mounts=ordered)
    v2 = [e.mount_point for e in visible if e.fstype == "cgroup2"]
    if not v2:
        raise CgroupError("cgroup: no cgroup filesystem is mounted (neither cgroup2 nor v1 controllers in mountinfo)")
    root = "/sys/fs/cgroup" if "/sys/fs/cgroup" in v2 else v2[0]
    return Topology(version=2, v2_root=root)


def read_topology(path: str = "/proc/self/mountinfo") -> Topology:
    """Read ``path`` and detect the hierarchies it describes."""
    try:
        with open(path, encoding="utf-8", errors="surrogateescape") as f:
            text = f.read()
    except OSError as exc:
        raise CgroupError(f"cgroup: cannot read {path}: {exc.strerror}") from exc
    return topology_from_entries(parse_mountinfo(text))
