"""pyns.bench.stats and pyns.bench.events: summaries and the start-up timeline (pure)."""
from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pyns.bench import events
from pyns.bench.stats import percentile, ratios, summarize, time_each

finite = st.floats(min_value=0, max_value=1e6, allow_nan=False)


def test_percentile_interpolates_between_ranks():
    assert percentile([1, 2, 3, 4], 0.5) == 2.5
    assert percentile([10], 0.9) == 10
    assert percentile([5, 1, 3], 0.0) == 1
    assert percentile([5, 1, 3], 1.0) == 5
    with pytest.raises(ValueError):
        percentile([], 0.5)


@given(st.lists(finite, min_size=1, max_size=50))
def test_summary_is_ordered(values):
    s = summarize(values)
    assert s.n == len(values)
    assert s.min <= s.p50 <= s.p90 <= s.max
    assert s.min - 1e-6 <= s.mean <= s.max + 1e-6
    assert set(s.as_dict()) == {"n", "min", "p50", "p90", "max", "mean"}


def test_ratios_pair_runs_and_skip_zero_denominators():
    assert ratios([2.0, 3.0, 4.0], [1.0, 0.0, 8.0]) == [2.0, 0.5]


def test_every_required_event_is_on_the_timeline_in_order():
    names = list(events.EVENT_NAMES)
    assert names[0] == "begin"
    positions = [names.index(e) for e in events.REQUIRED]
    assert positions == sorted(positions)
    assert set(events.NATIVE_EVENTS.values()) <= set(names)


def test_native_timestamps_map_to_events_and_unreached_steps_drop():
    got = events.from_native({"start": 10, "child": 20, "cgroup": 0, "rootfs": 30, "return": 40})
    assert got == {"clone": 10, "namespaces": 20, "rootfs": 30, "spawned": 40}


@given(st.lists(st.integers(min_value=0, max_value=10**6), min_size=len(events.EVENT_NAMES),
                max_size=len(events.EVENT_NAMES)),
       st.sets(st.sampled_from(events.EVENT_NAMES[1:])))
def test_phases_add_up_to_the_total(steps, missing):
    t, trace = 1000, {}
    for name, step in zip(events.EVENT_NAMES, steps):
        t += step + 1
        if name not in missing:
            trace[name] = t
    ph = events.phases(trace)
    assert set(ph) == set(trace) - {"begin"}
    assert sum(ph.values()) == events.total_ns(trace)
    assert all(v > 0 for v in ph.values())


def test_breakdown_summarises_each_phase_and_its_instant():
    traces = [{"begin": 0, "clone": 1_000_000, "exit": 3_000_000},
              {"begin": 0, "clone": 2_000_000, "execve": 2_500_000, "exit": 4_000_000}]
    rows = {name: (s, at) for name, s, at in events.breakdown(traces)}
    assert list(rows) == ["clone", "execve", "exit"]
    assert rows["clone"][0].n == 2 and rows["clone"][0].min == 1.0 and rows["clone"][0].max == 2.0
    assert rows["execve"][0].n == 1 and rows["execve"][0].p50 == 0.5
    assert rows["exit"][1] == 3.5  # p50 of 3 ms and 4 ms since begin


def test_time_each_calls_in_order_and_times_every_call():
    seen: list[int] = []
    each, wall = time_each(seen.append, iter(range(5)))
    assert seen == [0, 1, 2, 3, 4]
    assert len(each) == 5 and all(isinstance(ms, float) for ms in [*each, wall])
