"""The v1 backend against a fake hybrid hierarchy (no root needed)."""
from __future__ import annotations

import errno
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from pyns.errors import CgroupError, InvalidArgument
from pyns.runtime.cgroups import DEFAULT_DEVICE_RULES, Resources, V1Driver, base, detect
from pyns.runtime.cgroups.testing import V1_UNLIMITED, FakeHierarchy

MB = 1024 * 1024
ID = "0123456789abcdef" * 4


@pytest.fixture(autouse=True)
def _no_env_parent(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PYNS_CGROUP_PARENT", raising=False)


@pytest.fixture
def fake(tmp_path: Path) -> FakeHierarchy:
    return FakeHierarchy(str(tmp_path), 1)


@pytest.fixture
def driver(fake: FakeHierarchy) -> V1Driver:
    d = detect(fake.mountinfo, fs=fake.fs)
    assert isinstance(d, V1Driver)
    return d


@pytest.fixture
def child() -> Iterator[subprocess.Popen[bytes]]:
    p = subprocess.Popen(["sleep", "60"])
    yield p
    p.kill()
    p.wait()


def leaf(fake: FakeHierarchy, controller: str, name: str = ID, parent: str = "pyns") -> str:
    return os.path.join(fake.mount_of(controller), parent, name)


def writes_to(fake: FakeHierarchy, filename: str) -> list[str]:
    return [v for p, v in fake.fs.writes if os.path.basename(p) == filename]


def test_create_layout(fake: FakeHierarchy, driver: V1Driver) -> None:
    cg = driver.create(ID, Resources())
    controllers = ["memory", "cpu", "cpuacct", "cpuset", "pids", "devices", "freezer", "blkio"]
    assert cg.name == ID
    assert cg.dirs == [leaf(fake, c) for c in controllers]
    assert cg.procs_files == [os.path.join(leaf(fake, c), "cgroup.procs") for c in controllers]
    assert cg.oom_events_file == os.path.join(leaf(fake, "memory"), "memory.oom_control")
    assert cg.exists() and all(os.path.isdir(d) for d in cg.dirs)
    assert driver.open(ID).dirs == cg.dirs


def test_limits_written(fake: FakeHierarchy, driver: V1Driver) -> None:
    cg = driver.create(ID, Resources(memory=64 * MB, nano_cpus=1_500_000_000, cpu_shares=512,
                                     pids_limit=100, cpuset_cpus="1", cpuset_mems="0"))
    limits = cg.read_limits()
    assert limits["memory.limit_in_bytes"] == str(64 * MB)
    assert limits["memory.memsw.limit_in_bytes"] == str(128 * MB)   # docker default: 2 x memory
    assert limits["cpu.cfs_period_us"] == "100000"
    assert limits["cpu.cfs_quota_us"] == "150000"
    assert limits["cpu.shares"] == "512"
    assert limits["pids.max"] == "100"
    assert limits["cpuset.cpus"] == "1"
    assert limits["cpuset.mems"] == "0"


def test_defaults_leave_limits_alone(fake: FakeHierarchy, driver: V1Driver) -> None:
    cg = driver.create(ID, Resources(pids_limit=-1, cpu_shares=0, memory=0))
    limits = cg.read_limits()
    assert limits["memory.limit_in_bytes"] == V1_UNLIMITED
    assert limits["cpu.cfs_quota_us"] == "-1"
    assert limits["pids.max"] == "max"
    assert not writes_to(fake, "memory.limit_in_bytes") and not writes_to(fake, "pids.max")


def test_memsw_after_limit(fake: FakeHierarchy, driver: V1Driver) -> None:
    """The fake, like the kernel, refuses memsw < limit, so the order is checked by success too."""
    driver.create(ID, Resources(memory=64 * MB, memory_swap=96 * MB))
    names = [os.path.basename(p) for p, _ in fake.fs.writes if "memory." in os.path.basename(p)]
    assert names == ["memory.limit_in_bytes", "memory.memsw.limit_in_bytes"]
    assert writes_to(fake, "memory.memsw.limit_in_bytes") == [str(96 * MB)]


def test_unlimited_swap(driver: V1Driver) -> None:
    cg = driver.create(ID, Resources(memory=64 * MB, memory_swap=-1))
    assert cg.read_limits()["memory.memsw.limit_in_bytes"] == V1_UNLIMITED


def test_no_swap_accounting_skips_memsw(tmp_path: Path) -> None:
    fake = FakeHierarchy(str(tmp_path), 1, swap_accounting=False)
    cg = detect(fake.mountinfo, fs=fake.fs).create(ID, Resources(memory=64 * MB, memory_swap=128 * MB))
    limits = cg.read_limits()
    assert limits["memory.limit_in_bytes"] == str(64 * MB)
    assert "memory.memsw.limit_in_bytes" not in limits


def test_cpuset_copied_down_so_tasks_can_join(fake: FakeHierarchy, driver: V1Driver,
                                              child: subprocess.Popen[bytes]) -> None:
    cg = driver.create(ID)
    parent = os.path.dirname(leaf(fake, "cpuset"))
    assert Path(parent, "cpuset.cpus").read_text().strip() == "0-1"
    assert Path(parent, "cpuset.mems").read_text().strip() == "0"
    assert cg.read_limits()["cpuset.cpus"] == "0-1"
    for procs in cg.procs_files:    # the fake says ENOSPC on an empty cpuset, like the kernel
        fake.fs.write(procs, str(child.pid))
    assert cg.pids() == [child.pid]


def test_cpuset_requested(driver: V1Driver) -> None:
    cg = driver.create(ID, Resources(cpuset_cpus="0"))
    assert cg.read_limits()["cpuset.cpus"] == "0"


def test_create_validates_against_the_hierarchy_cpus(tmp_path: Path) -> None:
    """create() checks cpusets against the CPUs its fs reports, not the test machine's."""
    fake = FakeHierarchy(str(tmp_path), 1, cpus="0-7")
    driver = detect(fake.mountinfo, fs=fake.fs)
    assert driver.create("a", Resources(cpuset_cpus="6-7")).read_limits()["cpuset.cpus"] == "6-7"
    with pytest.raises(InvalidArgument, match="requested 8, available: 0-7"):
        driver.create("b", Resources(cpuset_cpus="8"))


def test_devices_default_list(fake: FakeHierarchy, driver: V1Driver) -> None:
    cg = driver.create(ID)
    devices = [(os.path.basename(p), v) for p, v in fake.fs.writes if os.path.basename(p).startswith("devices.")]
    assert devices == [("devices.deny", "a")] + [("devices.allow", r) for r in DEFAULT_DEVICE_RULES]
    assert cg.read_limits()["devices.list"].splitlines() == list(DEFAULT_DEVICE_RULES)


def test_devices_privileged(fake: FakeHierarchy, driver: V1Driver) -> None:
    cg = driver.create(ID, Resources(devices_default=False))
    assert not [p for p, _ in fake.fs.writes if "devices." in p]
    assert cg.read_limits()["devices.list"] == "a *:* rwm"


def test_comounted_cpu_cpuacct(tmp_path: Path) -> None:
    fake = FakeHierarchy(str(tmp_path), 1, comount_cpu=True)
    cg = detect(fake.mountinfo, fs=fake.fs).create(ID, Resources(nano_cpus=500_000_000))
    cpu_dirs = [d for d in cg.dirs if "cpu,cpuacct" in d]
    assert len(cpu_dirs) == 1 and len(cg.dirs) == 7
    assert cg.read_limits()["cpu.cfs_quota_us"] == "50000"
    cg.remove()
    assert fake.leftovers() == []


def test_failure_rolls_back_and_names_file(fake: FakeHierarchy, driver: V1Driver) -> None:
    fake.fs.fail["cpu.shares"] = errno.EINVAL
    with pytest.raises(CgroupError) as exc:
        driver.create(ID, Resources(memory=64 * MB, cpu_shares=512))
    message = str(exc.value)
    assert os.path.join(leaf(fake, "cpu"), "cpu.shares") in message
    assert "EINVAL" in message and "errno 22" in message
    assert exc.value.__cause__ is not None and exc.value.__cause__.errno == errno.EINVAL
    assert fake.leftovers() == []


def test_mkdir_failure_rolls_back(fake: FakeHierarchy, driver: V1Driver) -> None:
    os.chmod(fake.mount_of("pids"), 0o500)
    if os.access(fake.mount_of("pids"), os.W_OK):   # root ignores modes: fail the mkdir another way
        os.chmod(fake.mount_of("pids"), 0o755)
        Path(fake.mount_of("pids"), "pyns").write_text("not a dir")
    try:
        with pytest.raises(CgroupError, match=r"cannot create .*pids/pyns"):
            driver.create(ID)
    finally:
        os.chmod(fake.mount_of("pids"), 0o755)
        Path(fake.mount_of("pids"), "pyns").unlink(missing_ok=True)
    assert fake.leftovers() == []


def test_existing_leaf_is_refused_and_kept(fake: FakeHierarchy, driver: V1Driver) -> None:
    os.makedirs(leaf(fake, "cpuset"))
    with pytest.raises(CgroupError, match="already exists"):
        driver.create(ID)
    assert fake.leftovers() == [os.path.dirname(leaf(fake, "cpuset")), leaf(fake, "cpuset")]


def test_invalid_resources_create_nothing(fake: FakeHierarchy, driver: V1Driver) -> None:
    with pytest.raises(InvalidArgument, match="Minimum memory limit allowed is 6MB"):
        driver.create(ID, Resources(memory=MB))
    assert fake.leftovers() == []


@pytest.mark.parametrize("name", ["", ".", "..", "a/b", "x\0y"])
def test_invalid_names(driver: V1Driver, name: str) -> None:
    with pytest.raises(InvalidArgument):
        driver.open(name)
    with pytest.raises(InvalidArgument):
        driver.create(name)


@pytest.mark.parametrize("parent", ["", "/", "../x", "a/../b", "a//b"])
def test_invalid_parents(fake: FakeHierarchy, parent: str) -> None:
    with pytest.raises(InvalidArgument):
        detect(fake.mountinfo, fs=fake.fs, parent=parent)


def test_missing_controller_fails_early(tmp_path: Path) -> None:
    fake = FakeHierarchy(str(tmp_path), 1, controllers=("cpu", "cpuset", "pids"))
    driver = detect(fake.mountinfo, fs=fake.fs)
    with pytest.raises(CgroupError, match="not mounted: memory"):
        driver.create(ID, Resources(memory=64 * MB))
    assert fake.leftovers() == []
    cg = driver.create(ID, Resources(pids_limit=5))
    assert cg.oom_events_file == "" and cg.oom_kill_count() == 0


def test_parent_from_env_and_nested(fake: FakeHierarchy, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYNS_CGROUP_PARENT", "/outer/inner/")
    driver = detect(fake.mountinfo, fs=fake.fs)
    assert driver.parent == "/outer/inner/"
    cg = driver.create(ID, Resources(cpuset_cpus="1"))
    assert cg.dirs[0] == os.path.join(fake.mount_of("memory"), "outer", "inner", ID)
    assert Path(fake.mount_of("cpuset"), "outer", "cpuset.cpus").read_text().strip() == "0-1"
    cg.remove()
    assert fake.leftovers() == []


def test_remove_is_idempotent_and_keeps_parent_for_siblings(fake: FakeHierarchy, driver: V1Driver) -> None:
    a = driver.create("a")
    b = driver.create("b")
    a.remove()
    a.remove()
    assert not a.exists() and b.exists()
    assert os.path.isdir(os.path.join(fake.mount_of("memory"), "pyns"))
    b.remove()
    assert fake.leftovers() == []
    driver.open("never-created").remove()


def test_remove_takes_sub_cgroups(fake: FakeHierarchy, driver: V1Driver) -> None:
    cg = driver.create(ID)
    fake.fs.mkdir(os.path.join(cg.dirs[0], "nested"))
    cg.remove()
    assert fake.leftovers() == []


def test_remove_busy_retries_then_fails(fake: FakeHierarchy, driver: V1Driver,
                                        child: subprocess.Popen[bytes], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(base, "RMDIR_BUSY_SECONDS", 0.05)
    cg = driver.create(ID)
    fake.fs.write(cg.procs_files[0], str(child.pid))
    with pytest.raises(CgroupError, match=r"cannot remove .*memory/pyns/.*EBUSY"):
        cg.remove()
    assert os.path.isdir(cg.dirs[0]) and not os.path.exists(cg.dirs[1])
    cg.kill_all()
    child.wait()
    cg.remove()
    assert fake.leftovers() == []


def test_leaf_mkdir_retries_when_parent_vanishes(fake: FakeHierarchy, driver: V1Driver) -> None:
    """A concurrent remove() of the last sibling rmdirs the parent between our two mkdirs."""
    real_mkdir = fake.fs.mkdir
    raced: list[str] = []

    def racing_mkdir(path: str) -> None:
        if os.path.basename(path) == ID and len(raced) < 3:
            raced.append(path)
            fake.fs.rmdir(os.path.dirname(path))
        real_mkdir(path)

    fake.fs.mkdir = racing_mkdir  # type: ignore[method-assign]
    cg = driver.create(ID)
    assert len(raced) == 3 and cg.exists()
    assert Path(cg.dirs[3], "cpuset.cpus").read_text().strip() == "0-1"


def test_kill_all_freezes_and_kills(fake: FakeHierarchy, driver: V1Driver,
                                    child: subprocess.Popen[bytes]) -> None:
    cg = driver.create(ID)
    for procs in cg.procs_files:
        fake.fs.write(procs, str(child.pid))
    assert cg.pids() == [child.pid]
    cg.kill_all(timeout=5)
    assert child.wait(timeout=5) == -9
    assert cg.pids() == []
    assert writes_to(fake, "freezer.state") == ["FROZEN", "THAWED"]
    cg.remove()
    assert fake.leftovers() == []


def test_kill_all_times_out(fake: FakeHierarchy, driver: V1Driver, child: subprocess.Popen[bytes],
                            monkeypatch: pytest.MonkeyPatch) -> None:
    cg = driver.create(ID)
    fake.fs.write(cg.procs_files[4], str(child.pid))
    with monkeypatch.context() as m, pytest.raises(CgroupError, match=f"still running after 0.1s: {child.pid}"):
        m.setattr(os, "kill", lambda pid, sig: None)
        cg.kill_all(timeout=0.1)


def test_kill_all_on_missing_cgroup(driver: V1Driver) -> None:
    cg = driver.open(ID)
    assert not cg.exists() and cg.pids() == [] and cg.oom_kill_count() == 0 and cg.read_limits() == {}
    cg.kill_all()


def test_oom_kill_count(fake: FakeHierarchy, driver: V1Driver) -> None:
    cg = driver.create(ID, Resources(memory=64 * MB))
    assert cg.oom_kill_count() == 0
    Path(cg.oom_events_file).write_text("oom_kill_disable 0\nunder_oom 0\noom_kill 3\n")
    assert cg.oom_kill_count() == 3
    cg.remove()
    assert cg.oom_kill_count() == 0
