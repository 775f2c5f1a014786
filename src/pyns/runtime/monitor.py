"""Start a detached container under its C monitor (pyns-monitor).

The monitor reads the plan file, forks (so we reap it at once and it is
re-parented away from us), spawns the container and reports "ok PID" or
"err STEP ERRNO MSG" on a pipe; from then on it owns the container's
stdio, log and exit record, and no Python process stays behind.
"""
from __future__ import annotations

import os

from pyns.errors import RuntimeFailure
from pyns.records import record
from pyns.runtime.native import failure_from, libexec


@record
class MonitorStart:
    pid: int          # the container's init, in the host pid namespace
    monitor_pid: int  # the monitor process (re-parented to init)


def start_detached(plan_path: str, argv0: str, env: dict[str, str] | None = None) -> MonitorStart:
    """Launch the monitor on plan_path and wait until the container has exec'd."""
    import subprocess  # here: a foreground `run` never starts a monitor

    r, w = os.pipe()
    try:
        proc = subprocess.Popen(
            [libexec("pyns-monitor"), plan_path, str(w)],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            pass_fds=(w,), start_new_session=True, env=env,
        )
    except BaseException:
        os.close(r)
        raise
    finally:
        os.close(w)
    proc.wait()
    with os.fdopen(r, "rb") as f:
        status = f.read().decode(errors="replace").strip()
    if status.startswith("ok "):
        pid = int(status.split()[1])
        return MonitorStart(pid=pid, monitor_pid=parent_of(pid))
    if status.startswith("err "):
        parts = status.split(" ", 3)
        step, err_no = parts[1], int(parts[2])
        message = parts[3] if len(parts) > 3 else ""
        raise failure_from(step, err_no, message, argv0)
    raise RuntimeFailure(f"monitor failed to start the container (exit {proc.returncode})", "monitor", 0, 125)


def parent_of(pid: int) -> int:
    """The parent pid of pid, from /proc (0 if it is gone)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read()
        return int(data[data.rindex(b")") + 2:].split()[1])
    except (OSError, ValueError, IndexError):
        return 0
