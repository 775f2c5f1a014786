"""The v2 backend against a fake unified hierarchy (no root needed)."""
from __future__ import annotations

import errno
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from pyns.errors import CgroupError
from pyns.runtime.cgroups import Resources, V2Driver, detect
from pyns.runtime.cgroups.testing import FakeHierarchy

MB = 1024 * 1024
ID = "fedcba9876543210" * 4


@pytest.fixture(autouse=True)
def _no_env_parent(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PYNS_CGROUP_PARENT", raising=False)


@pytest.fixture
def fake(tmp_path: Path) -> FakeHierarchy:
    return FakeHierarchy(str(tmp_path), 2)


@pytest.fixture
def driver(fake: FakeHierarchy) -> V2Driver:
    d = detect(fake.mountinfo, fs=fake.fs)
    assert isinstance(d, V2Driver)
    return d


@pytest.fixture
def child() -> Iterator[subprocess.Popen[bytes]]:
    p = subprocess.Popen(["sleep", "60"])
    yield p
    p.kill()
    p.wait()


def read(*parts: str) -> str:
    return Path(*parts).read_text().strip()


def test_create_layout(fake: FakeHierarchy, driver: V2Driver) -> None:
    cg = driver.create(ID)
    d = os.path.join(fake.cgroup_root, "pyns", ID)
    assert driver.version == 2 and driver.parent == "pyns"
    assert cg.dirs == [d]
    assert cg.procs_files == [os.path.join(d, "cgroup.procs")]
    assert cg.oom_events_file == os.path.join(d, "memory.events")
    assert cg.exists() and driver.open(ID).dirs == cg.dirs


def test_controllers_enabled_top_down(fake: FakeHierarchy, driver: V2Driver) -> None:
    cg = driver.create(ID)
    wanted = {"cpuset", "cpu", "io", "memory", "pids"}
    assert set(read(fake.cgroup_root, "cgroup.subtree_control").split()) == wanted
    assert set(read(fake.cgroup_root, "pyns", "cgroup.subtree_control").split()) == wanted
    assert set(read(cg.dirs[0], "cgroup.controllers").split()) == wanted
    assert "hugetlb" not in read(fake.cgroup_root, "cgroup.subtree_control")
    assert os.path.exists(os.path.join(cg.dirs[0], "memory.max"))


def test_already_enabled_controllers_are_not_rewritten(fake: FakeHierarchy, driver: V2Driver) -> None:
    driver.create("a")
    fake.fs.writes.clear()
    driver.create("b")
    assert not [p for p, _ in fake.fs.writes if p.endswith("cgroup.subtree_control")]


def test_limits_written(driver: V2Driver) -> None:
    cg = driver.create(ID, Resources(memory=64 * MB, nano_cpus=1_500_000_000, cpu_shares=1024,
                                     pids_limit=100, cpuset_cpus="0-1", cpuset_mems="0"))
    assert cg.read_limits() == {
        "memory.max": str(64 * MB),
        "memory.swap.max": str(64 * MB),        # docker default total 2 x memory -> swap = memory
        "cpu.max": "150000 100000",
        "cpu.weight": "39",
        "pids.max": "100",
        "cpuset.cpus": "0-1",
        "cpuset.mems": "0",
    }


@pytest.mark.parametrize("swap, expected", [(-1, "max"), (64 * MB, "0"), (100 * MB, str(36 * MB))])
def test_swap_max(driver: V2Driver, swap: int, expected: str) -> None:
    cg = driver.create(ID, Resources(memory=64 * MB, memory_swap=swap))
    assert cg.read_limits()["memory.swap.max"] == expected


def test_defaults_leave_limits_alone(fake: FakeHierarchy, driver: V2Driver) -> None:
    cg = driver.create(ID, Resources(pids_limit=0, cpu_shares=0))
    assert cg.read_limits()["memory.max"] == "max"
    assert cg.read_limits()["pids.max"] == "max"
    assert [os.path.basename(p) for p, _ in fake.fs.writes if p.startswith(cg.dirs[0])] == []


def test_no_swap_accounting(tmp_path: Path) -> None:
    fake = FakeHierarchy(str(tmp_path), 2, swap_accounting=False)
    cg = detect(fake.mountinfo, fs=fake.fs).create(ID, Resources(memory=64 * MB, memory_swap=-1))
    assert cg.read_limits()["memory.max"] == str(64 * MB)
    assert "memory.swap.max" not in cg.read_limits()


def test_missing_controller_only_matters_when_needed(tmp_path: Path) -> None:
    fake = FakeHierarchy(str(tmp_path), 2, controllers=("cpu", "pids"))
    driver = detect(fake.mountinfo, fs=fake.fs)
    with pytest.raises(CgroupError, match=r"controller\(s\) memory not available"):
        driver.create(ID, Resources(memory=64 * MB))
    assert fake.leftovers() == []
    cg = driver.create(ID, Resources(pids_limit=10))
    assert cg.read_limits()["pids.max"] == "10"


def test_enable_failure_ignored_unless_needed(fake: FakeHierarchy, driver: V2Driver) -> None:
    fake.fs.fail["cgroup.subtree_control"] = errno.EBUSY
    cg = driver.create("a")
    assert cg.exists()
    with pytest.raises(CgroupError, match=r"enable controller memory in .*cgroup.subtree_control.*EBUSY"):
        driver.create("b", Resources(memory=64 * MB))
    assert not driver.open("b").exists()


def test_failure_rolls_back_and_names_file(fake: FakeHierarchy, driver: V2Driver) -> None:
    fake.fs.fail["cpu.max"] = errno.EINVAL
    with pytest.raises(CgroupError) as exc:
        driver.create(ID, Resources(nano_cpus=500_000_000))
    assert f"{fake.cgroup_root}/pyns/{ID}/cpu.max" in str(exc.value)
    assert "EINVAL" in str(exc.value)
    assert fake.leftovers() == []


def test_existing_leaf_is_refused(fake: FakeHierarchy, driver: V2Driver) -> None:
    driver.create(ID)
    with pytest.raises(CgroupError, match="already exists"):
        driver.create(ID)
    assert driver.open(ID).exists()


def test_leaf_mkdir_retries_when_parent_vanishes(fake: FakeHierarchy, driver: V2Driver) -> None:
    real_mkdir = fake.fs.mkdir
    raced: list[str] = []

    def racing_mkdir(path: str) -> None:
        if os.path.basename(path) == ID and not raced:
            raced.append(path)
            fake.fs.rmdir(os.path.dirname(path))
        real_mkdir(path)

    fake.fs.mkdir = racing_mkdir  # type: ignore[method-assign]
    cg = driver.create(ID, Resources(memory=64 * MB))
    assert raced and cg.read_limits()["memory.max"] == str(64 * MB)


def test_parent_from_env(fake: FakeHierarchy, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYNS_CGROUP_PARENT", "pyns-test-x")
    cg = detect(fake.mountinfo, fs=fake.fs).create(ID, Resources(memory=64 * MB))
    assert cg.dirs == [os.path.join(fake.cgroup_root, "pyns-test-x", ID)]
    cg.remove()
    assert fake.leftovers() == []


def test_remove_siblings_and_idempotence(fake: FakeHierarchy, driver: V2Driver) -> None:
    a, b = driver.create("a"), driver.create("b")
    a.remove()
    a.remove()
    assert b.exists() and os.path.isdir(os.path.join(fake.cgroup_root, "pyns"))
    fake.fs.mkdir(os.path.join(b.dirs[0], "nested"))
    b.remove()
    assert fake.leftovers() == []


def test_kill_all_uses_cgroup_kill(fake: FakeHierarchy, driver: V2Driver, child: subprocess.Popen[bytes]) -> None:
    cg = driver.create(ID)
    nested = os.path.join(cg.dirs[0], "nested")
    fake.fs.mkdir(nested)
    fake.fs.write(os.path.join(nested, "cgroup.procs"), str(child.pid))
    assert cg.pids() == [child.pid]
    cg.kill_all()
    assert child.wait(timeout=5) == -9
    assert [v for p, v in fake.fs.writes if p.endswith("cgroup.kill")] == ["1"]
    cg.remove()
    assert fake.leftovers() == []


def test_kill_all_without_cgroup_kill(tmp_path: Path, child: subprocess.Popen[bytes]) -> None:
    fake = FakeHierarchy(str(tmp_path), 2, has_kill=False)
    cg = detect(fake.mountinfo, fs=fake.fs).create(ID)
    fake.fs.write(cg.procs_files[0], str(child.pid))
    cg.kill_all()
    assert child.wait(timeout=5) == -9
    assert cg.pids() == []


def test_oom_kill_count(driver: V2Driver) -> None:
    cg = driver.create(ID, Resources(memory=64 * MB))
    assert cg.oom_kill_count() == 0
    Path(cg.oom_events_file).write_text("low 0\nhigh 0\nmax 9\noom 2\noom_kill 2\noom_group_kill 0\n")
    assert cg.oom_kill_count() == 2
    assert driver.open("gone").oom_kill_count() == 0
