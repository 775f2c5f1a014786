"""The observed state of a container: the state record checked against reality.

state.json says what the engine last did; exit.json (written by the C
supervisor) and /proc say what happened since. Reading never writes, so
`ps` and `inspect` are safe to run concurrently with anything.
"""
from __future__ import annotations

import datetime as dt

from pyns import formatting
from pyns.runtime import procs

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (see pyns/__init__.py)
if TYPE_CHECKING:
    from typing import Any

ZERO_TIME = "0001-01-01T00:00:00Z"


def observe(state: dict[str, Any], exit_record: dict[str, Any] | None) -> dict[str, Any]:
    """docker's State object for a container, from its records and /proc."""
    status = state.get("Status", "created")
    out: dict[str, Any] = {
        "Status": status,
        "Running": False,
        "Paused": False,
        "Restarting": False,
        "OOMKilled": bool(state.get("OOMKilled", False)),
        "Dead": False,
        "Pid": 0,
        "ExitCode": int(state.get("ExitCode", 0)),
        "Error": state.get("Error", ""),
        "StartedAt": state.get("StartedAt", ZERO_TIME),
        "FinishedAt": state.get("FinishedAt", ZERO_TIME),
    }
    if status != "running":
        return out
    if exit_record:
        out.update(Status="exited", ExitCode=int(exit_record.get("ExitCode", 0)),
                   OOMKilled=bool(exit_record.get("OOMKilled", False)),
                   FinishedAt=exit_record.get("FinishedAt", ZERO_TIME))
        return out
    same_boot = state.get("BootId", "") in ("", procs.boot_id())
    pid, pid_start = int(state.get("Pid", 0)), int(state.get("PidStart", 0))
    if same_boot and procs.alive(pid, pid_start):
        out.update(Running=True, Pid=pid)
        return out
    owner, owner_start = int(state.get("OwnerPid", 0)), int(state.get("OwnerStart", 0))
    if same_boot and procs.alive(owner, owner_start):
        # Reaped a moment ago; the supervisor is writing exit.json right now.
        out.update(Running=True, Pid=pid)
        return out
    # The supervisor died without recording an exit (SIGKILL, reboot): the
    # container died with it (parent-death signal). Report it as killed.
    out.update(Status="exited", ExitCode=137, Error=SUPERVISOR_DIED, FinishedAt=now_rfc3339())
    return out


SUPERVISOR_DIED = "container supervisor exited without recording an exit status"


def supervisor_died(state: dict[str, Any], observed: dict[str, Any]) -> bool:
    """True when observe() inferred the exit because the supervisor vanished."""
    return state.get("Status") == "running" and observed.get("Error") == SUPERVISOR_DIED


def now_rfc3339() -> str:
    return formatting.rfc3339_nano(dt.datetime.now(dt.timezone.utc))


def is_running(state: dict[str, Any], exit_record: dict[str, Any] | None) -> bool:
    return observe(state, exit_record)["Running"]
