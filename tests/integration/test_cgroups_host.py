"""The cgroup library against the host's real hierarchy (v1 or v2, whichever is mounted).

Every test works under a unique parent ("pyns-test-<random>") and asserts that
nothing named after it is left anywhere under /sys/fs/cgroup afterwards.
"""
from __future__ import annotations

import glob
import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator

import pytest

from pyns.errors import CgroupError
from pyns.runtime.cgroups import DEFAULT_DEVICE_RULES, Cgroup, CgroupDriver, Resources, V2Driver, detect
from pyns.runtime.cgroups.mountinfo import parse_mountinfo

pytestmark = [
    pytest.mark.root,
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root to create cgroups in the host hierarchy"),
]

MB = 1024 * 1024
OOM_SCRIPT = "b=bytearray(200*1024*1024); b[::4096]=b'x'*len(b[::4096])"


def leftovers(parent: str) -> list[str]:
    top = parent.strip("/").split("/")[0]
    return glob.glob(f"/sys/fs/cgroup/{top}") + glob.glob(f"/sys/fs/cgroup/*/{top}")


def force_clean(paths: list[str]) -> None:
    """Best effort, so a failing test does not leave the host dirty."""
    for top in paths:
        for dirpath, _dirs, _files in sorted(os.walk(top), key=lambda w: -len(w[0])):
            try:
                with open(os.path.join(dirpath, "cgroup.procs")) as f:
                    for pid in f.read().split():
                        os.kill(int(pid), 9)
                time.sleep(0.05)
                os.rmdir(dirpath)
            except OSError:
                pass


@pytest.fixture
def parent(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    name = f"pyns-test-{uuid.uuid4().hex[:12]}"
    monkeypatch.setenv("PYNS_CGROUP_PARENT", name)
    yield name
    left = leftovers(name)
    force_clean(left)
    assert left == [], f"cgroup directories left behind: {left}"


@pytest.fixture
def driver(parent: str) -> CgroupDriver:
    d = detect()
    assert d.parent == parent
    return d


def joiner(cg: Cgroup) -> Callable[[], None]:
    """A preexec_fn doing what the C core does: write "0" into every cgroup.procs."""
    files = list(cg.procs_files)

    def join() -> None:
        for path in files:
            with open(path, "w") as f:
                f.write("0")
    return join


def container_id() -> str:
    return uuid.uuid4().hex + uuid.uuid4().hex


def in_cgroup(pid: int, cg: Cgroup) -> bool:
    """/proc/<pid>/cgroup names our leaf (by its unique id) in every hierarchy line we use."""
    with open(f"/proc/{pid}/cgroup") as f:
        lines = [line for line in f.read().splitlines() if cg.name in line]
    return len(lines) >= 1


def test_limits_reach_the_kernel(driver: CgroupDriver) -> None:
    r = Resources(memory=64 * MB, memory_swap=96 * MB, nano_cpus=500_000_000, cpu_shares=512,
                  pids_limit=50, cpuset_cpus="0", cpuset_mems="0")
    cg = driver.create(container_id(), r)
    try:
        limits = cg.read_limits()
        if driver.version == 1:
            assert limits["memory.limit_in_bytes"] == str(64 * MB)
            if os.path.exists(os.path.join(cg.dirs[0], "memory.memsw.limit_in_bytes")):
                assert limits["memory.memsw.limit_in_bytes"] == str(96 * MB)
            assert limits["cpu.cfs_period_us"] == "100000"
            assert limits["cpu.cfs_quota_us"] == "50000"
            assert limits["cpu.shares"] == "512"
            assert limits["devices.list"].splitlines() == list(DEFAULT_DEVICE_RULES)
        else:
            assert limits["memory.max"] == str(64 * MB)
            if "memory.swap.max" in limits:
                assert limits["memory.swap.max"] == str(32 * MB)
            assert limits["cpu.max"] == "50000 100000"
            assert limits["cpu.weight"] == "20"
        assert limits["pids.max"] == "50"
        assert limits["cpuset.cpus"] == "0"
        assert limits["cpuset.mems"] == "0"
    finally:
        cg.remove()
    assert not cg.exists()


def test_join_kill_remove(driver: CgroupDriver) -> None:
    cg = driver.create(container_id(), Resources(memory=64 * MB, pids_limit=20))
    joined = subprocess.Popen(["sleep", "600"], preexec_fn=joiner(cg))
    moved = subprocess.Popen(["sleep", "600"])
    try:
        for path in cg.procs_files:          # moving an existing process in, from outside
            with open(path, "w") as f:
                f.write(str(moved.pid))
        assert cg.pids() == sorted([joined.pid, moved.pid])
        assert in_cgroup(joined.pid, cg) and in_cgroup(moved.pid, cg)
        cg.kill_all(timeout=5)
        assert cg.pids() == []
        cg.remove()                           # before reaping: zombies do not keep a cgroup busy
        assert joined.wait(timeout=5) == -9 and moved.wait(timeout=5) == -9
        assert not cg.exists()
        cg.remove()                           # idempotent
    finally:
        for p in (joined, moved):
            p.kill()
            p.wait()
        cg.kill_all()
        cg.remove()


def test_kill_all_beats_a_forking_process(driver: CgroupDriver) -> None:
    cg = driver.create(container_id(), Resources(pids_limit=64))
    forker = subprocess.Popen(["sh", "-c", "while :; do sleep 30 & done"], preexec_fn=joiner(cg),
                              stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 5
        while len(cg.pids()) < 20 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert len(cg.pids()) >= 20
        cg.kill_all(timeout=10)
        assert cg.pids() == []
        # Killed, or (on a loaded machine) it hit the pids limit first and
        # exited on its failed fork (dash: 2): either way nothing is left.
        assert forker.wait(timeout=5) in (-9, 2)
    finally:
        forker.kill()
        forker.wait()
        cg.kill_all()
        cg.remove()


FORK_SCRIPT = """
import os, time
started = 0
for _ in range(8):
    try:
        pid = os.fork()
    except BlockingIOError:
        continue
    if pid == 0:
        os.close(1)
        os.close(2)
        time.sleep(3)
        os._exit(0)
    started += 1
print(started)
"""


def test_pids_limit_enforced(driver: CgroupDriver) -> None:
    cg = driver.create(container_id(), Resources(pids_limit=4))
    try:
        out = subprocess.run([sys.executable, "-c", FORK_SCRIPT], preexec_fn=joiner(cg),
                             capture_output=True, text=True, timeout=20)
        assert out.stdout.strip() == "3", out.stderr   # the parent itself is the 4th
    finally:
        cg.kill_all()
        cg.remove()


def test_oom_kill(driver: CgroupDriver) -> None:
    cg = driver.create(container_id(), Resources(memory=20 * MB))
    try:
        proc = subprocess.run([sys.executable, "-c", OOM_SCRIPT], preexec_fn=joiner(cg),
                              capture_output=True, timeout=60)
        assert proc.returncode == -9, proc.stderr
        assert cg.oom_kill_count() >= 1
    finally:
        cg.kill_all()
        cg.remove()


@pytest.mark.skipif(not os.path.isdir("/sys/fs/cgroup/devices"), reason="v1 devices controller not mounted")
def test_v1_device_allow_list_enforced(driver: CgroupDriver) -> None:
    cg = driver.create(container_id())
    try:
        script = ("import errno\n"
                  "open('/dev/null','wb').write(b'x')\n"
                  "try:\n open('/dev/kmsg','rb')\nexcept PermissionError:\n raise SystemExit(42)\n")
        proc = subprocess.run([sys.executable, "-c", script], preexec_fn=joiner(cg), capture_output=True)
        assert proc.returncode == 42, proc.stderr
    finally:
        cg.kill_all()
        cg.remove()


def test_concurrent_create_and_remove(driver: CgroupDriver, parent: str) -> None:
    """Creators must survive a sibling's remove() taking the shared parent away."""
    errors: list[BaseException] = []

    def churn() -> None:
        try:
            d = detect()
            for _ in range(40):
                cg = d.create(container_id(), Resources(cpuset_cpus="0", memory=32 * MB))
                if driver.version == 1:
                    assert open(os.path.join(cg.dirs[3], "cpuset.cpus")).read().strip() == "0"
                cg.remove()
        except BaseException as exc:  # noqa: BLE001 - re-raised in the main thread
            errors.append(exc)

    threads = [threading.Thread(target=churn) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert leftovers(parent) == []


def test_nested_parent_leaves_nothing(parent: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYNS_CGROUP_PARENT", f"{parent}/inner")
    d = detect()
    cg = d.create(container_id(), Resources(memory=32 * MB, cpuset_cpus="0"))
    assert all(f"/{parent}/inner/" in x for x in cg.dirs)
    cg.remove()


def _empty_unified_v2() -> str | None:
    """On hybrid hosts, the controller-less cgroup2 mount, usable to test v2 mechanics for real."""
    with open("/proc/self/mountinfo") as f:
        entries = parse_mountinfo(f.read())
    if not any(e.fstype == "cgroup" for e in entries):
        return None
    for e in entries:
        if e.fstype == "cgroup2":
            return e.mount_point
    return None


@pytest.mark.skipif(_empty_unified_v2() is None, reason="not a hybrid host (no separate cgroup2 mount)")
def test_v2_mechanics_on_the_hybrid_unified_mount(parent: str) -> None:
    """Controller-less, but real: mkdir, cgroup.procs, cgroup.kill, rmdir of the v2 backend."""
    root = _empty_unified_v2()
    assert root is not None
    driver = V2Driver(root)
    cg = driver.create(container_id())
    proc = subprocess.Popen(["sleep", "600"], preexec_fn=joiner(cg))
    try:
        assert cg.pids() == [proc.pid]
        assert os.path.exists(os.path.join(cg.dirs[0], "cgroup.kill"))
        cg.kill_all(timeout=5)
        assert proc.wait(timeout=5) == -9
        cg.remove()
        assert not os.path.exists(os.path.join(root, parent))
        with pytest.raises(CgroupError, match="memory not available"):
            driver.create(container_id(), Resources(memory=64 * MB))
        assert not os.path.exists(os.path.join(root, parent))
    finally:
        proc.kill()
        proc.wait()
        cg.kill_all()
        cg.remove()
