"""Process identity from /proc: a pid plus its start time names one process.

Pids are reused; every pid pyns records is paired with the start time
(field 22 of /proc/PID/stat, in clock ticks since boot) so that a stale
state file can never make pyns signal an unrelated process.
"""
from __future__ import annotations

import os
import signal
import time


def _stat_fields(pid: int) -> list[bytes] | None:
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read()
    except OSError:
        return None
    # comm may hold spaces and parentheses: split after the last ')'.
    return data[data.rindex(b")") + 2:].split()


def start_time(pid: int) -> int:
    """Start time of pid in clock ticks since boot, 0 if it does not exist."""
    f = _stat_fields(pid)
    return int(f[19]) if f else 0


def parent_of(pid: int) -> int:
    f = _stat_fields(pid)
    return int(f[1]) if f else 0


def is_zombie(pid: int) -> bool:
    f = _stat_fields(pid)
    return bool(f) and f[0] in (b"Z", b"X")


def alive(pid: int, started: int) -> bool:
    """True while the very process (pid, start time) exists and is not a zombie."""
    if pid <= 0:
        return False
    f = _stat_fields(pid)
    if not f or f[0] in (b"Z", b"X"):
        return False
    return started == 0 or int(f[19]) == started


def signal_process(pid: int, started: int, sig: int) -> bool:
    """Send sig to (pid, start time) if it is still that process."""
    if not alive(pid, started):
        return False
    try:
        os.kill(pid, sig)
        return True
    except ProcessLookupError:
        return False


def wait_gone(pid: int, started: int, timeout: float) -> bool:
    """Wait up to timeout seconds for the process to go; True when gone."""
    deadline = time.monotonic() + timeout
    delay = 0.002
    while alive(pid, started):
        if time.monotonic() >= deadline:
            return False
        time.sleep(delay)
        delay = min(delay * 2, 0.05)
    return True


def in_pid_namespace_of(pid: int) -> list[int]:
    """Every process in pid's pid namespace (and below it): for a container
    without a cgroup (rootless) its process list comes from /proc instead."""
    try:
        target = os.stat(f"/proc/{pid}/ns/pid")
    except OSError:
        return []
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            st = os.stat(f"/proc/{name}/ns/pid")
        except OSError:
            continue
        if (st.st_ino, st.st_dev) == (target.st_ino, target.st_dev):
            found.append(int(name))
    return sorted(found)


def boot_id() -> str:
    try:
        with open("/proc/sys/kernel/random/boot_id", encoding="ascii") as f:
            return f.read().strip()
    except OSError:
        return ""


SIGKILL = signal.SIGKILL
