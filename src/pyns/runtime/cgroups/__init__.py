"""Container cgroups, v1 and v2 behind one interface, chosen at run time.

Callers ask :func:`detect` for a driver and never look at the version again::

    driver = detect()
    cg = driver.create(container_id, Resources(memory=64 << 20, pids_limit=100))
    # the container's first process writes "0" into each of cg.procs_files
    ...
    oom = cg.oom_kill_count() > 0
    cg.kill_all()
    cg.remove()

Only the hierarchy layout is cached per process (it never changes under a
running engine); the driver itself is rebuilt on each call so the
``PYNS_CGROUP_PARENT`` environment variable is honoured when it changes.
"""
from __future__ import annotations

import functools

from pyns.runtime.cgroups.base import DEFAULT_PARENT, PARENT_ENV, Cgroup, CgroupDriver
from pyns.runtime.cgroups.fs import CgroupFs
from pyns.runtime.cgroups.mountinfo import Topology, read_topology
from pyns.runtime.cgroups.resources import Resources
from pyns.runtime.cgroups.v1 import DEFAULT_DEVICE_RULES, V1Cgroup, V1Driver
from pyns.runtime.cgroups.v2 import V2Cgroup, V2Driver

__all__ = [
    "Cgroup", "CgroupDriver", "CgroupFs", "DEFAULT_DEVICE_RULES", "DEFAULT_PARENT", "PARENT_ENV",
    "Resources", "V1Cgroup", "V1Driver", "V2Cgroup", "V2Driver", "clear_detect_cache", "detect",
    "driver_for",
]


@functools.lru_cache(maxsize=8)
def _topology(mountinfo: str) -> Topology:
    return read_topology(mountinfo)


def clear_detect_cache() -> None:
    """Forget the cached hierarchy layout (tests that remount, or switch fake trees)."""
    _topology.cache_clear()


def driver_for(topology: Topology, *, parent: str | None = None, fs: CgroupFs | None = None) -> CgroupDriver:
    """The driver matching ``topology`` (``parent`` defaults to $PYNS_CGROUP_PARENT, then "pyns")."""
    if topology.version == 2:
        return V2Driver(topology.v2_root, parent=parent, fs=fs)
    return V1Driver(topology.v1_mounts, parent=parent, fs=fs)


def detect(mountinfo: str = "/proc/self/mountinfo", *, parent: str | None = None,
           fs: CgroupFs | None = None) -> CgroupDriver:
    """A V1Driver or V2Driver for the hierarchies ``mountinfo`` describes.

    Raises CgroupError when no usable cgroup filesystem is mounted. A
    rootless engine uses the cgroup parent only when it is delegated to its
    user (it exists and is writable in every hierarchy); otherwise it gets
    a NullDriver (no cgroup per container, and no limits).
    """
    from pyns.runtime import rootless

    driver = driver_for(_topology(mountinfo), parent=parent, fs=fs)
    if fs is None and mountinfo == "/proc/self/mountinfo" and rootless.active() and not driver.delegated():
        from pyns.runtime.cgroups.null import NullDriver

        return NullDriver(parent=parent)
    return driver
