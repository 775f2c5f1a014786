"""What docker gives every container: mounts, devices, masked and read-only paths.

Kept as data so the plan builder stays generic and the list can be read
(and compared with docker's) in one place.
"""
from __future__ import annotations

import resource

from pyns.runtime.spec import Device, Mount, Rlimit, Symlink

DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

# docker (20.10+) sets these in every container network namespace of its
# own: any user may bind low ports and send ICMP echo (no CAP_NET_RAW
# needed). A remapped container depends on them: its network namespace
# belongs to the host's user namespace, where its root holds no caps.
NET_SYSCTLS = {"net.ipv4.ip_unprivileged_port_start": "0", "net.ipv4.ping_group_range": "0 2147483647"}
# The sysctls docker lets --sysctl set: namespaced by ipc (these) or net (net.*).
IPC_SYSCTLS = frozenset({"kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem", "kernel.shmall",
                         "kernel.shmmax", "kernel.shmmni", "kernel.shm_rmid_forced"})

MASKED_PATHS = [
    "/proc/asound", "/proc/acpi", "/proc/interrupts", "/proc/kcore", "/proc/keys",
    "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug",
    "/proc/scsi", "/sys/firmware", "/sys/devices/virtual/powercap",
]

READONLY_PATHS = ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"]

DEVICES = [
    Device("/dev/null", "c", 1, 3),
    Device("/dev/zero", "c", 1, 5),
    Device("/dev/full", "c", 1, 7),
    Device("/dev/random", "c", 1, 8),
    Device("/dev/urandom", "c", 1, 9),
    Device("/dev/tty", "c", 5, 0),
]

SYMLINKS = [
    Symlink("/proc/self/fd", "/dev/fd"),
    Symlink("/proc/self/fd/0", "/dev/stdin"),
    Symlink("/proc/self/fd/1", "/dev/stdout"),
    Symlink("/proc/self/fd/2", "/dev/stderr"),
    Symlink("pts/ptmx", "/dev/ptmx"),
    Symlink("/proc/kcore", "/dev/core"),
]


def base_mounts(sysfs_readonly: bool = True) -> list[Mount]:
    """/proc, /dev (tmpfs), /dev/pts, /dev/shm, /dev/mqueue, /sys — in mount order."""
    return [
        Mount("/proc", "proc", "proc", ["nosuid", "noexec", "nodev"]),
        Mount("/dev", "tmpfs", "tmpfs", ["nosuid", "strictatime", "mode=755", "size=65536k"]),
        Mount("/dev/pts", "devpts", "devpts",
              ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]),
        Mount("/dev/shm", "tmpfs", "shm", ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]),
        Mount("/dev/mqueue", "mqueue", "mqueue", ["nosuid", "noexec", "nodev"]),
        Mount("/sys", "sysfs", "sysfs", ["nosuid", "noexec", "nodev"] + (["ro"] if sysfs_readonly else [])),
    ]


def cgroup_mounts(version: int, v1_hierarchies: list[tuple[str, str]]) -> list[Mount]:
    """/sys/fs/cgroup read-only, as the container's cgroup namespace shows it.

    v1: a tmpfs with one mount per hierarchy (name, comma-joined controller
    options); v2: one cgroup2 mount.
    """
    flags = ["nosuid", "noexec", "nodev", "relatime"]
    if version == 2:
        return [Mount("/sys/fs/cgroup", "cgroup2", "cgroup2", flags + ["ro"])]
    mounts = [Mount("/sys/fs/cgroup", "tmpfs", "tmpfs", flags + ["mode=755"])]
    for name, opts in v1_hierarchies:
        mounts.append(Mount(f"/sys/fs/cgroup/{name}", "cgroup", "cgroup", flags + ["ro"] + opts.split(",")))
    mounts.append(Mount("/sys/fs/cgroup", "tmpfs", None, ["remount", "ro"] + flags + ["mode=755"]))
    return mounts


def checked_rlimit(res: int, soft: int, hard: int) -> Rlimit:
    """A --ulimit, refused when it would raise our own hard limit.

    Raising a hard limit needs CAP_SYS_RESOURCE, which root may lack (it
    does on the dev machine): the error names the limit instead of failing
    with EPERM inside the child. -1 means unlimited.
    """
    from pyns.errors import InvalidArgument

    inf = resource.RLIM_INFINITY
    soft = inf if soft < 0 else soft
    hard = inf if hard < 0 else hard
    _, host_hard = resource.getrlimit(res)
    if host_hard != inf and (hard == inf or hard > host_hard):
        raise InvalidArgument(f"ulimit hard limit {'unlimited' if hard == inf else hard} is above the "
                              f"engine's own hard limit {host_hard}")
    return Rlimit(res, soft, hard)


def default_rlimits() -> list[Rlimit]:
    """Open files 1024 soft; hard as docker's 524288 but never above ours.

    Raising a hard limit needs CAP_SYS_RESOURCE, which root may not hold.
    """
    _, host_hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    hard = 524288 if host_hard == resource.RLIM_INFINITY else min(524288, host_hard)
    return [Rlimit(resource.RLIMIT_NOFILE, min(1024, hard), hard)]
