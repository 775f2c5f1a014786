"""Version detection from mountinfo, and detect()'s caching rules."""
from __future__ import annotations

from pathlib import Path

import pytest

from pyns.errors import CgroupError
from pyns.runtime.cgroups import V1Driver, V2Driver, clear_detect_cache, detect
from pyns.runtime.cgroups.mountinfo import parse_mountinfo, topology_from_entries
from pyns.runtime.cgroups.testing import FakeHierarchy

HYBRID = """\
23 1 0:21 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
34 31 0:31 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
36 31 0:33 / /sys/fs/cgroup/devices rw,relatime - cgroup cgroup rw,devices
37 31 0:34 / /sys/fs/cgroup/freezer rw,relatime - cgroup cgroup rw,freezer
38 31 0:35 / /sys/fs/cgroup/blkio rw,relatime - cgroup cgroup rw,blkio
39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
"""

PURE_V2 = """\
23 1 0:21 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw
35 23 0:30 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:9 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot
"""

# systemd-based v1 distros co-mount cpu and cpuacct; optional fields and xattr options appear too
COMOUNTED = """\
25 18 0:22 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:9 - tmpfs tmpfs ro,mode=755
28 25 0:25 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid,nodev,noexec,relatime shared:11 - cgroup cgroup rw,cpu,cpuacct
29 25 0:26 / /sys/fs/cgroup/memory rw,nosuid,nodev,noexec,relatime shared:12 - cgroup cgroup rw,memory
26 25 0:23 / /sys/fs/cgroup/systemd rw,nosuid,nodev,noexec,relatime shared:10 - cgroup cgroup rw,xattr,name=systemd
"""


def topo(text: str):
    return topology_from_entries(parse_mountinfo(text))


def test_hybrid_is_v1_and_ignores_unified() -> None:
    t = topo(HYBRID)
    assert t.version == 1
    assert t.v1_mounts == {c: f"/sys/fs/cgroup/{c}" for c in
                           ("memory", "cpu", "cpuacct", "cpuset", "pids", "devices", "freezer", "blkio")}


def test_pure_v2() -> None:
    t = topo(PURE_V2)
    assert t.version == 2 and t.v2_root == "/sys/fs/cgroup"


def test_named_v1_hierarchy_alone_does_not_make_v1() -> None:
    t = topo(PURE_V2 + "40 23 0:37 / /run/systemd-v1 rw - cgroup cgroup rw,name=systemd\n")
    assert t.version == 2


def test_comounted_controllers_share_a_dir() -> None:
    t = topo(COMOUNTED)
    assert t.v1_mounts == {"memory": "/sys/fs/cgroup/memory", "cpu": "/sys/fs/cgroup/cpu,cpuacct",
                           "cpuacct": "/sys/fs/cgroup/cpu,cpuacct"}
    driver = V1Driver(t.v1_mounts, parent="pyns")
    assert driver.hierarchies() == ["/sys/fs/cgroup/memory", "/sys/fs/cgroup/cpu,cpuacct"]
    assert driver.open("x").dirs == ["/sys/fs/cgroup/memory/pyns/x", "/sys/fs/cgroup/cpu,cpuacct/pyns/x"]


def test_octal_escapes_in_mount_points() -> None:
    t = topo("30 1 0:30 / /mnt/my\\040cgroup rw - cgroup2 cgroup2 rw\n")
    assert t.v2_root == "/mnt/my cgroup"


def test_overmounted_mount_point_uses_the_last_mount() -> None:
    t = topo("35 23 0:30 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw\n"
             "36 23 0:31 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n"
             "37 23 0:32 / /sys/fs/cgroup/memory rw - tmpfs tmpfs rw\n")
    assert t.version == 2 and t.v2_root == "/sys/fs/cgroup/unified"


def test_nothing_mounted() -> None:
    with pytest.raises(CgroupError, match="no cgroup filesystem"):
        topo("22 1 8:1 / / rw - ext4 /dev/root rw\ngarbage line\n")


def test_unreadable_mountinfo(tmp_path: Path) -> None:
    with pytest.raises(CgroupError, match="cannot read"):
        detect(str(tmp_path / "missing"))


def test_detect_fake_trees(tmp_path: Path) -> None:
    v1 = FakeHierarchy(str(tmp_path / "a"), 1)
    v2 = FakeHierarchy(str(tmp_path / "b"), 2)
    d1 = detect(v1.mountinfo, fs=v1.fs)
    d2 = detect(v2.mountinfo, fs=v2.fs)
    assert isinstance(d1, V1Driver) and d1.version == 1
    assert isinstance(d2, V2Driver) and d2.version == 2 and d2.root == v2.cgroup_root


def test_detect_caches_layout_but_not_parent(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    h = FakeHierarchy(str(tmp_path), 2)
    monkeypatch.delenv("PYNS_CGROUP_PARENT", raising=False)
    assert detect(h.mountinfo).parent == "pyns"
    monkeypatch.setenv("PYNS_CGROUP_PARENT", "pyns-test-1")
    assert detect(h.mountinfo).parent == "pyns-test-1"
    assert detect(h.mountinfo, parent="other").parent == "other"
    Path(h.mountinfo).write_text(HYBRID)
    assert detect(h.mountinfo).version == 2          # cached layout
    clear_detect_cache()
    assert detect(h.mountinfo).version == 1
    clear_detect_cache()
