"""A mount namespace of the benchmark's own, without the hybrid cgroup2 mount.

crun 1.8 refuses to run on a "hybrid" host (cgroup v1 controllers plus a
controller-less cgroup2 mount, usually /sys/fs/cgroup/unified): "cgroups
in hybrid mode not supported". Unmounting that cgroup2 mount in a private
mount namespace makes the host look plain v1 to crun and changes nothing
else. The whole benchmark process moves there, once, before any run, so
that pyns, runc and crun all start from the same namespace rather than
crun paying for an extra nsenter per run. Host mounts still propagate in
(``/`` is made rslave); nothing made here propagates out, so this is only
done for a throw-away engine root or when crun is compared.
"""
from __future__ import annotations

import ctypes
import os

CLONE_NEWNS = 0x00020000
MS_REC, MS_SLAVE = 16384, 1 << 19
MNT_DETACH = 2


def hybrid_cgroup2_mounts(mountinfo: str) -> list[str]:
    """Mount points of cgroup2 filesystems on a host whose controllers are on v1 hierarchies."""
    v1, v2 = False, []
    for line in mountinfo.splitlines():
        fields = line.split()
        if "-" not in fields:
            continue
        fstype = fields[fields.index("-") + 1]
        if fstype == "cgroup":
            v1 = True
        elif fstype == "cgroup2":
            v2.append(fields[4])
    return v2 if v1 else []


def _check(rc: int, what: str) -> None:
    if rc != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def leave_hybrid_cgroups() -> list[str]:
    """Move this process into a new mount namespace without the hybrid cgroup2
    mounts; returns what was unmounted ([] when the host is not hybrid: nothing done).

    Must run while the process has one thread (unshare(CLONE_NEWNS) refuses otherwise).
    """
    with open("/proc/self/mountinfo", encoding="utf-8") as f:
        targets = hybrid_cgroup2_mounts(f.read())
    if not targets:
        return []
    libc = ctypes.CDLL(None, use_errno=True)
    _check(libc.unshare(CLONE_NEWNS), "unshare(CLONE_NEWNS)")
    _check(libc.mount(None, b"/", None, MS_REC | MS_SLAVE, None), "make / rslave")
    for path in sorted(targets, key=len, reverse=True):
        _check(libc.umount2(path.encode(), MNT_DETACH), f"umount {path}")
    from pyns.runtime.cgroups import clear_detect_cache

    clear_detect_cache()
    return targets
