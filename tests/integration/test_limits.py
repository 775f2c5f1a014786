"""Resource limits are visible in the container's cgroup and enforced."""
from __future__ import annotations

import pytest

from pyns.errors import ContainerError, InvalidArgument
from pyns.runtime.cgroups import detect
from tests.conftest import needs_root

pytestmark = needs_root


def sh(engine, busybox, script: str, **kw) -> str:
    return engine.containers.run(busybox, ["sh", "-c", script], remove=True, **kw).decode()


def cgroup_file(version: int, controller: str, v1: str, v2: str) -> str:
    return f"/sys/fs/cgroup/{controller}/{v1}" if version == 1 else f"/sys/fs/cgroup/{v2}"


def test_limits_are_visible_inside(engine, busybox):
    v = detect().version
    files = [cgroup_file(v, "memory", "memory.limit_in_bytes", "memory.max"),
             cgroup_file(v, "pids", "pids.max", "pids.max"),
             cgroup_file(v, "cpu", "cpu.cfs_quota_us", "cpu.max"),
             cgroup_file(v, "cpuset", "cpuset.cpus", "cpuset.cpus")]
    out = sh(engine, busybox, "; ".join(f"cat {f}" for f in files),
             mem_limit="64m", pids_limit=50, nano_cpus=500_000_000, cpuset_cpus="0")
    lines = out.split("\n")
    assert lines[0] == str(64 << 20)
    assert lines[1] == "50"
    assert lines[2].split()[0] == "50000"
    assert lines[3] == "0"


def test_cgroup_namespace_root_is_the_container(engine, busybox):
    assert sh(engine, busybox, "cat /proc/self/cgroup").strip().splitlines()[0].endswith(":/")


def test_oom_is_killed_with_137_and_reported(engine, busybox):
    c = engine.containers.create(
        busybox, ["sh", "-c", "x=$(head -c 200000000 /dev/zero | tr '\\0' a); echo survived"], mem_limit="32m")
    info = engine.manager.run_attached(c.id)
    c.reload()
    assert info.exit_code == 137 and info.oom_killed
    assert c.attrs["State"]["ExitCode"] == 137
    assert c.attrs["State"]["OOMKilled"] is True
    assert b"survived" not in c.logs()
    c.remove()


def test_pids_limit_makes_fork_fail(engine, busybox):
    out = sh(engine, busybox, "(for i in 1 2 3 4 5 6 7 8 9 10; do sleep 5 & done) 2>&1; echo rc=$?", pids_limit=5)
    assert "can't fork" in out or "Resource temporarily unavailable" in out
    assert out.strip().endswith("rc=2")


def test_memory_swap_and_cpu_shares_are_written(engine, busybox):
    c = engine.containers.run(busybox, ["sleep", "30"], detach=True, mem_limit="64m", memswap_limit="128m",
                              cpu_shares=512)
    try:
        limits = detect().open(c.id).read_limits()
        joined = " ".join(f"{k}={v}" for k, v in limits.items())
        assert str(64 << 20) in joined
        assert ("memory.memsw.limit_in_bytes=" + str(128 << 20)) in joined or f"memory.swap.max={64 << 20}" in joined \
            or "memsw" not in joined
        assert "cpu.shares=512" in joined or "cpu.weight=" in joined
    finally:
        c.remove(force=True)
    assert not detect().open(c.id).exists()


def test_invalid_limits_are_refused_before_anything_is_created(engine, busybox):
    with pytest.raises(InvalidArgument, match="Minimum memory limit"):
        engine.containers.create(busybox, ["true"], mem_limit="1m")
    with pytest.raises(InvalidArgument):
        engine.containers.create(busybox, ["true"], mem_limit="lots")
    assert engine.containers.list(all=True) == []


def test_non_zero_exit_raises_container_error(engine, busybox):
    with pytest.raises(ContainerError) as ei:
        engine.containers.run(busybox, ["sh", "-c", "echo oops >&2; exit 7"], remove=True)
    assert ei.value.exit_status == 7 and b"oops" in ei.value.stderr
    assert engine.containers.list(all=True) == []
