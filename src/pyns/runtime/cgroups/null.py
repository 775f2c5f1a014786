"""No cgroups: what a rootless engine uses when no cgroup tree is delegated to it
(the parent, $PYNS_CGROUP_PARENT or "pyns", is not there or not its own).

Containers still get every namespace; they just share the user's cgroup.
Killing them does not need a cgroup either: the container's init is pid 1
of its pid namespace, and its death takes every other process there with
it. Asking for a limit is refused before anything starts (rootless.py).
"""
from __future__ import annotations

from pyns.runtime.cgroups.base import Cgroup, CgroupDriver
from pyns.runtime.cgroups.resources import Resources


class NullDriver(CgroupDriver):
    version = 0

    def hierarchies(self) -> list[str]:
        return []

    def create(self, name: str, resources: Resources = Resources()) -> Cgroup:
        return self.open(name)

    def open(self, name: str) -> Cgroup:
        return Cgroup(name, [], [], self.fs, "", [])
