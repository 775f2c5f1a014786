"""Recording a run's instants from inside the engine's run path.

The engine's Launcher marks CLOCK_MONOTONIC instants along its foreground
path (prepare, spec, netns, the spawn's own C timestamps, exit, released,
teardown) into ``Launcher.timings`` when that is a dict: a :class:`Probe`
hands it one. Across processes (the CLI path) the trace travels through the
file named by ``$PYNS_TIMINGS``: one JSON line per process, written at its
exit by the CLI (see pyns.cli.common and pyns.containers.launch).
"""
from __future__ import annotations

import json
import time
from typing import Any, Callable

from pyns.bench.events import normalize

TIMINGS_ENV = "PYNS_TIMINGS"


class Probe:
    """The instants of the run in progress, by event name (see pyns.bench.events)."""

    def __init__(self) -> None:
        self.marks: dict[str, int] = {}
        self._undo: list[Callable[[], None]] = []

    def mark(self, name: str, first: bool = False) -> None:
        if not (first and name in self.marks):
            self.marks[name] = time.monotonic_ns()

    def begin(self) -> None:
        """Start a new trace (the instant the benchmark asks for a container)."""
        self.marks.clear()
        self.mark("begin")

    def trace(self) -> dict[str, int]:
        return normalize(self.marks)

    def attach(self, launcher: Any, manager: Any = None) -> None:
        """Record the runs of this engine: the Launcher fills the probe's dict
        (its ``timings`` hook; ``manager.remove`` marks the teardown there too)."""
        launcher.timings = self.marks
        self._undo.append(lambda: setattr(launcher, "timings", None))

    def detach(self) -> None:
        while self._undo:
            self._undo.pop()()


def read_timings(path: str, pid: int | None = None) -> dict[str, int]:
    """The trace a process wrote (the last line, or pid's); {} when none was written."""
    try:
        with open(path, encoding="utf-8") as f:
            lines = [json.loads(ln) for ln in f if ln.strip()]
    except (OSError, ValueError):
        return {}
    for rec in reversed(lines):
        if pid is None or rec.get("pid") == pid:
            return normalize({k: int(v) for k, v in rec.get("marks", {}).items()})
    return {}
