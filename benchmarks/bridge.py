#!/usr/bin/env python3
"""What bridge mode adds to a container's start, phase by phase, in paired rounds.

    python3 benchmarks/bridge.py [--rounds N] [--gap MS]

Each round runs `/bin/true` in a fresh container (library, --rm) once with
--network none and once with --network bridge, in alternating order, so
drift on a busy machine hits both alike. Printed: end-to-end times, the
per-round difference, and the p50 difference of each phase (the launcher's
and the C child's timestamps, as `pyns bench startup` shows them):
spec->netns is the network setup, start->child the child's namespaces
(bridge: no network namespace to make), child->cgroup its cgroup join,
exit->released the release of cgroup and network.

The child's first cgroup.procs write waits for an RCU grace period unless
the previous container's write was recent enough (see the README): back to
back, a longer round (bridge) finds that wait cold more often. --gap MS
sleeps before every run so that every join is cold in both modes, which
leaves the network's own cost. Needs root.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from typing import Any

from common import busybox_engine, print_table, require_root

MODES = ("none", "bridge")


def _run(ws: Any, mode: str) -> tuple[float, dict[str, int]]:
    launcher = ws.engine.manager.launcher
    launcher.timings = {}
    t = time.perf_counter()
    ws.engine.containers.run(ws.image, ["/bin/true"], remove=True, network_mode=mode)
    total = (time.perf_counter() - t) * 1000
    marks, launcher.timings = launcher.timings, None
    return total, marks


def _phases(marks: dict[str, int]) -> dict[str, float]:
    """Each event's distance from the one before it, in ms, named 'from->to'."""
    ordered = sorted(marks.items(), key=lambda kv: kv[1])
    return {f"{a}->{b}": (tb - ta) / 1e6 for (a, ta), (b, tb) in zip(ordered, ordered[1:])}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=60)
    ap.add_argument("--warmup", type=int, default=4)
    ap.add_argument("--gap", type=float, default=0.0, help="ms to sleep before each run")
    args = ap.parse_args()
    require_root()
    totals: dict[str, list[float]] = {m: [] for m in MODES}
    phases: dict[str, dict[str, list[float]]] = {m: {} for m in MODES}
    with busybox_engine(bridge=True) as ws:
        for i in range(args.warmup + args.rounds):
            for mode in MODES if i % 2 else MODES[::-1]:
                time.sleep(args.gap / 1000)
                total, marks = _run(ws, mode)
                if i >= args.warmup:
                    totals[mode].append(total)
                    for name, ms in _phases(marks).items():
                        phases[mode].setdefault(name, []).append(ms)
        from pyns.bench.workspace import networks_down

        networks_down(ws.engine.networks)
    print(f"none vs bridge, {args.rounds} paired rounds, gap {args.gap:g} ms, ms")
    print_table("end to end", [(m, totals[m]) for m in MODES]
                + [("bridge - none, per round", [b - a for a, b in zip(totals["none"], totals["bridge"])])])
    print(f"\n{'phase (bridge p50 - none p50)':36s} {'none':>8s} {'bridge':>8s} {'diff':>8s}")
    names = list(dict.fromkeys([*phases["bridge"], *phases["none"]]))
    for name in names:
        n, b = (statistics.median(phases[m].get(name) or [0.0]) for m in MODES)
        print(f"{name:36s} {n:8.3f} {b:8.3f} {b - n:+8.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
