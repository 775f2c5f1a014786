"""cgroup v2: one unified hierarchy, controllers enabled top-down.

A controller's files only appear in a cgroup when its parent lists it in
cgroup.subtree_control, so creation enables what we need on the root and on
every parent directory. Device access control in v2 is an eBPF program
attached to the cgroup, not a file; pyns does not attach one, so on v2 the
device allow-list (Resources.devices_default) is not enforced by the cgroup
and containers rely on the minimal /dev the runtime mounts.
"""
from __future__ import annotations

import os

from pyns.errors import CgroupError
from pyns.runtime.cgroups import resources as res
from pyns.runtime.cgroups.base import Cgroup, CgroupDriver, check_name
from pyns.runtime.cgroups.fs import CgroupFs, cgroup_error
from pyns.runtime.cgroups.resources import Resources

#: Controllers enabled for containers when the kernel offers them.
CONTROLLERS: tuple[str, ...] = ("cpuset", "cpu", "io", "memory", "pids")

LIMIT_FILES: tuple[str, ...] = (
    "memory.max", "memory.swap.max", "cpu.max", "cpu.weight", "pids.max", "cpuset.cpus", "cpuset.mems",
)


class V2Cgroup(Cgroup):
    """A v2 container cgroup; kills through cgroup.kill when the kernel has it (5.14+)."""

    def _kill_fast(self, timeout: float) -> None:
        """cgroup.kill signals the whole subtree atomically, forks included."""
        try:
            self._fs.write(os.path.join(self.dirs[0], "cgroup.kill"), "1")
        except OSError:
            pass


class V2Driver(CgroupDriver):
    """Container cgroups under the cgroup2 mount ``root``."""

    version = 2

    def __init__(self, root: str, *, parent: str | None = None, fs: CgroupFs | None = None):
        super().__init__(parent=parent, fs=fs)
        self.root = root

    def hierarchies(self) -> list[str]:
        return [self.root]

    def open(self, name: str) -> V2Cgroup:
        check_name(name)
        return self._handle(name)

    def create(self, name: str, resources: Resources = Resources()) -> V2Cgroup:
        """Create the leaf, enable controllers above it, write the limits.

        Controllers are enabled after the leaf exists: the kernel adds their
        files to existing children, and a parent with a child cannot be
        removed by a concurrent remove() in the meantime.
        """
        check_name(name)
        self._validate(resources)
        needed = _needed_controllers(resources)
        created = False
        try:
            self._make_leaf(self.root, name)
            created = True
            for d in [self.root] + list(reversed(self._parent_chain(self.root))):
                self._enable_controllers(d, needed)
            self._check_available(name, needed)
            self._configure(name, resources)
        except BaseException:
            if created:
                try:
                    self._handle(name).remove()
                except CgroupError:
                    pass
            raise
        return self._handle(name)

    def _leaf(self, name: str) -> str:
        return os.path.join(self.root, *self._parent_parts, name)

    def _handle(self, name: str) -> V2Cgroup:
        leaf = self._leaf(name)
        return V2Cgroup(name, [leaf], [self._parent_chain(self.root)], self.fs,
                        os.path.join(leaf, "memory.events"),
                        [(f, os.path.join(leaf, f)) for f in LIMIT_FILES])

    def _enable_controllers(self, d: str, needed: set[str]) -> None:
        """Add our controllers to ``d``/cgroup.subtree_control, one write each.

        One write per controller so a controller the kernel refuses (for
        example cpu while realtime tasks sit outside the root) only matters
        when a limit actually needs it.
        """
        try:
            available = set(self.fs.read(os.path.join(d, "cgroup.controllers")).split())
            enabled = set(self.fs.read(os.path.join(d, "cgroup.subtree_control")).split())
        except OSError as exc:
            raise cgroup_error("read controllers of", d, exc) from exc
        control = os.path.join(d, "cgroup.subtree_control")
        for c in CONTROLLERS:
            if c in enabled or c not in available:
                continue
            try:
                self.fs.write(control, f"+{c}")
            except OSError as exc:
                if c in needed:
                    raise cgroup_error(f"enable controller {c} in", control, exc) from exc

    def _check_available(self, name: str, needed: set[str]) -> None:
        path = os.path.join(self._leaf(name), "cgroup.controllers")
        try:
            have = set(self.fs.read(path).split())
        except OSError as exc:
            raise cgroup_error("read", path, exc) from exc
        missing = sorted(needed - have)
        if missing:
            raise CgroupError(f"cgroup v2: controller(s) {', '.join(missing)} not available in {path} "
                              f"(have: {' '.join(sorted(have)) or 'none'})")

    def _configure(self, name: str, r: Resources) -> None:
        d = self._leaf(name)
        if (limit := res.memory_limit(r)) is not None:
            self._write(os.path.join(d, "memory.max"), str(limit))
            if (swap := res.swap_max(r)) is not None:
                self._write(os.path.join(d, "memory.swap.max"), swap, optional=True)
        if (quota := res.cfs_quota(r)) is not None:
            self._write(os.path.join(d, "cpu.max"), f"{quota} {res.CFS_PERIOD_US}")
        if (shares := res.cpu_shares(r)) is not None:
            self._write(os.path.join(d, "cpu.weight"), str(res.shares_to_weight(shares)))
        if (pids := res.pids_max(r)) is not None:
            self._write(os.path.join(d, "pids.max"), str(pids))
        if r.cpuset_cpus:
            self._write(os.path.join(d, "cpuset.cpus"), r.cpuset_cpus)
        if r.cpuset_mems:
            self._write(os.path.join(d, "cpuset.mems"), r.cpuset_mems)


def _needed_controllers(r: Resources) -> set[str]:
    """Controllers without which a requested limit cannot be applied."""
    needed = set()
    if res.memory_limit(r) is not None:
        needed.add("memory")
    if r.nano_cpus or r.cpu_shares:
        needed.add("cpu")
    if r.cpuset_cpus or r.cpuset_mems:
        needed.add("cpuset")
    if res.pids_max(r) is not None:
        needed.add("pids")
    return needed
