"""What the benchmark scripts share: root check, timing, tables, a busybox engine.

Statistics and table layout come from pyns.bench (the same as `pyns bench`
prints), so every script's table reads the same way. Run from a checkout,
the in-place build under src/ is used when there is one (`make dev`),
else the installed pyns.
"""
from __future__ import annotations

import contextlib
import os
import shlex
import subprocess
import sys
import time
from typing import Any, Callable, Iterator

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
SRC = os.path.join(REPO, "src")
IN_PLACE = any(n.startswith("_native") for n in os.listdir(os.path.join(SRC, "pyns")))
if IN_PLACE:
    sys.path.insert(0, SRC)

from pyns.bench.report import SUMMARY_COLS, table
from pyns.bench.stats import percentile, summarize

__all__ = ["alternate", "busybox_engine", "percentile", "print_table", "pyns_bench", "require_root", "timed"]


def require_root() -> None:
    if os.geteuid() != 0:
        sys.exit("needs root (namespaces, mounts, cgroups)")


def timed(fn: Callable[[], Any], runs: int, warmup: int = 0) -> list[float]:
    """fn's wall time in ms, runs times, after warmup uncounted calls."""
    for _ in range(warmup):
        fn()
    out = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t) * 1000)
    return out


def alternate(fns: dict[str, Callable[[], Any]], runs: int, warmup: int = 0) -> dict[str, list[float]]:
    """Like timed, for several functions taking turns, so that drift on a busy machine hits all alike."""
    out: dict[str, list[float]] = {name: [] for name in fns}
    for i in range(warmup + runs):
        for name, fn in fns.items():
            t = time.perf_counter()
            fn()
            if i >= warmup:
                out[name].append((time.perf_counter() - t) * 1000)
    return out


def print_table(title: str, rows: list[tuple[str, list[float]]], fmt: str = ".2f") -> None:
    """min / p50 / p90 / max / mean of each row's values."""
    for line in table(title, [(name, summarize(v).as_dict()) for name, v in rows], SUMMARY_COLS, fmt):
        print(line)


@contextlib.contextmanager
def busybox_engine(bridge: bool = False) -> Iterator[Any]:
    """A throw-away engine root with the busybox image (ws.engine, ws.image), removed afterwards."""
    from pyns.bench.workspace import open_workspace

    with open_workspace(bridge=bridge) as ws:
        yield ws


def pyns_bench(*args: str) -> int:
    """Print `$ pyns bench ARGS` and run it (python -m pyns.bench): the README's exact command line."""
    print(f"$ pyns bench {shlex.join(args)}", flush=True)
    path = ([SRC] if IN_PLACE else []) + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(path))
    rc = subprocess.call([sys.executable, "-m", "pyns.bench", *args], env=env)
    print(flush=True)
    return rc
