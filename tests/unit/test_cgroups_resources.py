"""Docker-flag → kernel-value translation and docker-compatible validation."""
from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pyns.errors import InvalidArgument
from pyns.runtime.cgroups import resources as res
from pyns.runtime.cgroups.resources import Resources

MB = 1024 * 1024
HOST = {"online_cpus": "0-1", "online_mems": "0"}


def check(r: Resources) -> None:
    r.validate(**HOST)


# --- validate -------------------------------------------------------------

@pytest.mark.parametrize("r, message", [
    (Resources(memory=5 * MB), "Minimum memory limit allowed is 6MB"),
    (Resources(memory=1), "Minimum memory limit allowed is 6MB"),
    (Resources(memory=64 * MB, memory_swap=32 * MB),
     "Minimum memoryswap limit should be larger than memory limit, see usage"),
    (Resources(memory_swap=64 * MB),
     "You should always set the Memory limit when using Memoryswap limit, see usage"),
    (Resources(cpuset_cpus="0-7"), "Requested CPUs are not available - requested 0-7, available: 0-1"),
    (Resources(cpuset_cpus="2"), "Requested CPUs are not available - requested 2, available: 0-1"),
    (Resources(cpuset_mems="1"), "Requested memory nodes are not available - requested 1, available: 0"),
    (Resources(cpuset_cpus="a-b"), "Invalid value a-b for cpuset cpus: invalid format: a-b"),
    (Resources(cpuset_cpus="1-0"), "Invalid value 1-0 for cpuset cpus: invalid range: 1-0"),
    (Resources(nano_cpus=3_000_000_000), "Range of CPUs is from 0.01 to 2.00, as there are only 2 CPUs available"),
    (Resources(nano_cpus=-1), "Range of CPUs is from 0.01 to 2.00, as there are only 2 CPUs available"),
    (Resources(nano_cpus=1_000_000), "Range of CPUs is from 0.01 to 2.00, as there are only 2 CPUs available"),
])
def test_validate_rejects_like_docker(r: Resources, message: str) -> None:
    with pytest.raises(InvalidArgument) as exc:
        check(r)
    assert str(exc.value) == message


@pytest.mark.parametrize("r", [
    Resources(),
    Resources(memory=6 * MB),
    Resources(memory=0),                        # docker: 0 = unlimited
    Resources(memory=64 * MB, memory_swap=-1),
    Resources(memory=64 * MB, memory_swap=64 * MB),
    Resources(memory=64 * MB, memory_swap=0),   # docker: 0 = unset
    Resources(nano_cpus=10_000_000),
    Resources(nano_cpus=2_000_000_000),
    Resources(cpu_shares=1),                    # clamped, not rejected
    Resources(pids_limit=-1),
    Resources(cpuset_cpus="0-1", cpuset_mems="0"),
    Resources(cpuset_cpus="0,1"),
])
def test_validate_accepts(r: Resources) -> None:
    check(r)


def test_validate_reads_host_cpus_by_default() -> None:
    online = res.parse_cpuset(res._read_online(res.ONLINE_CPUS_FILE, "0"))
    Resources(cpuset_cpus=res.format_cpuset(online)).validate()
    with pytest.raises(InvalidArgument, match="Requested CPUs are not available"):
        Resources(cpuset_cpus=str(max(online) + 1)).validate()


def test_validate_unknown_host_cpus_defers_to_kernel() -> None:
    Resources(cpuset_cpus="5").validate(online_cpus="", online_mems="")


def test_validate_huge_range_is_cheap() -> None:
    with pytest.raises(InvalidArgument, match="not available"):
        check(Resources(cpuset_cpus="0-4000000000"))


# --- value translation ----------------------------------------------------

@given(st.integers(min_value=-10, max_value=10**7))
def test_weight_in_kernel_range(shares: int) -> None:
    assert 1 <= res.shares_to_weight(shares) <= 10_000


@given(st.integers(min_value=2, max_value=262_143))
def test_weight_is_monotonic(shares: int) -> None:
    assert res.shares_to_weight(shares) <= res.shares_to_weight(shares + 1)


def test_weight_known_points() -> None:
    assert res.shares_to_weight(2) == 1
    assert res.shares_to_weight(1024) == 39
    assert res.shares_to_weight(262_144) == 10_000


@given(st.integers(min_value=1, max_value=10**9))
def test_cpu_shares_clamped(shares: int) -> None:
    out = res.cpu_shares(Resources(cpu_shares=shares))
    assert out is not None and res.MIN_CPU_SHARES <= out <= res.MAX_CPU_SHARES


def test_cpu_shares_unset() -> None:
    assert res.cpu_shares(Resources()) is None
    assert res.cpu_shares(Resources(cpu_shares=0)) is None


@given(st.integers(min_value=res.MIN_NANO_CPUS, max_value=1024 * 10**9))
def test_cfs_quota_matches_cpus(nano: int) -> None:
    quota = res.cfs_quota(Resources(nano_cpus=nano))
    assert quota is not None and quota >= res.MIN_CFS_QUOTA_US
    # quota/period is the CPU count, truncated to the microsecond
    assert quota == nano * res.CFS_PERIOD_US // 10**9
    assert abs(quota / res.CFS_PERIOD_US - nano / 1e9) < 1e-5


def test_cfs_quota_examples() -> None:
    assert res.cfs_quota(Resources(nano_cpus=1_500_000_000)) == 150_000
    assert res.cfs_quota(Resources(nano_cpus=500_000_000)) == 50_000
    assert res.cfs_quota(Resources()) is None


memories = st.integers(min_value=res.MIN_MEMORY, max_value=1 << 50)


@given(memories, st.one_of(st.none(), st.just(0), st.just(-1), st.integers(min_value=0, max_value=1 << 50)))
def test_swap_translation(memory: int, extra: int | None) -> None:
    swap = None if extra is None else (extra if extra <= 0 else memory + extra)
    r = Resources(memory=memory, memory_swap=swap)
    check(r)
    memsw = res.memsw_limit(r)
    v2 = res.swap_max(r)
    if swap == -1:
        assert memsw == -1 and v2 == "max"
    elif not swap:
        assert memsw == 2 * memory and v2 == str(memory)
    else:
        assert memsw == swap and v2 == str(swap - memory)
    assert memsw == -1 or memsw >= memory  # v1: memsw may never be below the limit


def test_no_memory_means_no_memory_writes() -> None:
    r = Resources(memory_swap=-1)
    assert res.memory_limit(r) is None and res.memsw_limit(r) is None and res.swap_max(r) is None
    assert res.memory_limit(Resources(memory=0)) is None


@given(st.one_of(st.none(), st.integers(min_value=-5, max_value=10**6)))
def test_pids_max(limit: int | None) -> None:
    out = res.pids_max(Resources(pids_limit=limit))
    assert out == (limit if limit is not None and limit > 0 else None)


# --- cpuset lists ----------------------------------------------------------

@given(st.sets(st.integers(min_value=0, max_value=300), max_size=60))
def test_cpuset_roundtrip(ids: set[int]) -> None:
    text = res.format_cpuset(ids)
    assert res.parse_cpuset(text) == ids
    assert res.format_cpuset(res.parse_cpuset(text)) == text


def test_cpuset_format_examples() -> None:
    assert res.format_cpuset({0, 1, 2, 4}) == "0-2,4"
    assert res.parse_cpuset("0-1") == res.parse_cpuset("0,1") == {0, 1}
    assert res.parse_cpuset("") == set()


@given(st.text(alphabet="0123456789-, x", max_size=12))
def test_cpuset_parser_total(text: str) -> None:
    """Any input either parses to ranges with lo <= hi or raises ValueError, nothing else."""
    try:
        ranges = res.parse_cpuset_ranges(text)
    except ValueError:
        return
    assert all(0 <= lo <= hi for lo, hi in ranges)
