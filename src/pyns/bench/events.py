"""The start-up timeline: the instants a run records, in the order they happen.

A run's *trace* is a dict of CLOCK_MONOTONIC nanoseconds by event name
(the clock ``time.monotonic_ns`` and the C side's ``pyns_monotonic_ns``
both read, so Python and C instants share one axis). An event a run did
not reach (or that the path does not have, like ``cli`` for the library)
is absent or 0, and the next event's phase then runs from the last one
that was reached: phases always add up to the end-to-end time.
"""
from __future__ import annotations

from typing import Mapping, Sequence

from pyns.bench.stats import Summary, ns_to_ms, summarize

#: (event, what has happened once it is recorded), in time order.
EVENTS: tuple[tuple[str, str], ...] = (
    ("begin", "the benchmark asks for a container"),
    ("cli", "CLI process started (interpreter up, nothing imported)"),
    ("prepare", "container created, start begins (CLI: + imports, parsing)"),
    ("spec", "cgroup made, spec built"),
    ("netns", "network set up before spawn (bridge: netns + veth)"),
    ("prepared", "plan ready"),
    ("clone", "clone"),
    ("namespaces", "namespaces ready"),
    ("cgroup", "cgroup joined"),
    ("network", "network ready"),
    ("rootfs", "rootfs mounted"),
    ("pivot", "pivot_root"),
    ("execve", "execve"),
    ("spawned", "spawn returned"),
    ("exit", "exit seen"),
    ("released", "cgroup and network released"),
    ("teardown", "teardown done"),
    ("end", "call returned (CLI: process exited)"),
)
EVENT_NAMES: tuple[str, ...] = tuple(name for name, _ in EVENTS)
LABELS: dict[str, str] = dict(EVENTS)

#: pyns.runtime.native.PHASES (the C side's PYNS_TS_*) -> event names.
NATIVE_EVENTS: dict[str, str] = {
    "start": "clone", "child": "namespaces", "cgroup": "cgroup", "network": "network",
    "rootfs": "rootfs", "pivot": "pivot", "exec": "execve", "return": "spawned",
}

#: The events the issue asks every start-up report to show.
REQUIRED: tuple[str, ...] = ("clone", "namespaces", "cgroup", "network", "rootfs", "pivot", "execve",
                             "exit", "teardown")


def from_native(timestamps: Mapping[str, int]) -> dict[str, int]:
    """A SpawnResult's timestamps under event names (unreached steps dropped)."""
    return {NATIVE_EVENTS[k]: v for k, v in timestamps.items() if k in NATIVE_EVENTS and v}


def normalize(trace: Mapping[str, int]) -> dict[str, int]:
    """A trace with the C side's step names (as an engine hook may record them) under event names."""
    return {NATIVE_EVENTS.get(k, k): v for k, v in trace.items() if v}


def phases(trace: Mapping[str, int]) -> dict[str, int]:
    """Nanoseconds from the previous reached event to each reached event (``begin`` excluded)."""
    out: dict[str, int] = {}
    if "begin" not in trace:
        return out
    last = trace["begin"]
    for name in EVENT_NAMES[1:]:
        t = trace.get(name, 0)
        if t:
            out[name] = t - last
            last = t
    return out


def total_ns(trace: Mapping[str, int]) -> int:
    """begin to the last event reached."""
    reached = [trace[n] for n in EVENT_NAMES[1:] if trace.get(n, 0)]
    return max(reached) - trace["begin"] if reached and "begin" in trace else 0


def breakdown(traces: Sequence[Mapping[str, int]]) -> list[tuple[str, Summary, float]]:
    """Per event: the summary (ms) of its phase over the runs that reached it,
    and the p50 (ms) of its instant since begin."""
    per: dict[str, list[float]] = {}
    since: dict[str, list[float]] = {}
    for trace in traces:
        for name, ns in phases(trace).items():
            per.setdefault(name, []).append(ns_to_ms(ns))
            since.setdefault(name, []).append(ns_to_ms(trace[name] - trace["begin"]))
    return [(name, summarize(per[name]), summarize(since[name]).p50) for name in EVENT_NAMES if name in per]
