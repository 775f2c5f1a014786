"""Summaries of repeated measurements.

Start-up times are skewed (a long tail from scheduling and the kernel's
deferred work), so the benchmark reports order statistics, not a mean
with a standard deviation: min is what the machine can do, p50 what a
user sees, p90 and max how bad it gets. ``time_each`` is the one timed
loop the benchmarks that go one item after another share.
"""
from __future__ import annotations

import statistics
import time
from typing import Any, Callable, Iterable, Sequence, TypeVar

from pyns.records import as_dict, record

T = TypeVar("T")


def percentile(values: Sequence[float], p: float) -> float:
    """Linear interpolation between closest ranks (numpy's default); p in [0, 1]."""
    if not values:
        raise ValueError("percentile of no values")
    s = sorted(values)
    k = (len(s) - 1) * p
    lo = int(k)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


@record(frozen=True)
class Summary:
    n: int
    min: float
    p50: float
    p90: float
    max: float
    mean: float

    def as_dict(self) -> dict[str, float]:
        return as_dict(self)


def summarize(values: Sequence[float]) -> Summary:
    return Summary(len(values), min(values), percentile(values, 0.5), percentile(values, 0.9), max(values),
                   statistics.fmean(values))


def ratios(ours: Sequence[float], theirs: Sequence[float]) -> list[float]:
    """ours[i] / theirs[i] for each run pair (runs alternate, so pair i ran under the same conditions)."""
    return [a / b for a, b in zip(ours, theirs) if b > 0]


def ns_to_ms(ns: float) -> float:
    return ns / 1e6


def time_each(action: Callable[[T], Any], items: Iterable[T]) -> tuple[list[float], float]:
    """action(item) for each item in turn: (each call's wall time, the whole loop's), in ms.

    The whole is timed on its own rather than summed, so that what happens
    between calls (the loop, the garbage collector) counts too.
    """
    each: list[float] = []
    t0 = time.perf_counter()
    for item in items:
        t = time.perf_counter()
        action(item)
        each.append((time.perf_counter() - t) * 1000)
    return each, (time.perf_counter() - t0) * 1000
