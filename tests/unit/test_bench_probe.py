"""pyns.bench.probe, floor and memory helpers against fakes and temp trees (no root)."""
from __future__ import annotations

import os
from types import SimpleNamespace

from pyns.bench import memory, mountns
from pyns.bench.floor import floor_argv, resolve_in_image
from pyns.bench.probe import Probe, read_timings
from pyns.containers.launch import write_timings


def test_probe_uses_the_engines_own_hook_when_there_is_one():
    launcher = SimpleNamespace(timings=None)
    probe = Probe()
    probe.attach(launcher)
    assert launcher.timings is probe.marks
    probe.begin()
    assert "begin" in launcher.timings
    probe.detach()
    assert launcher.timings is None


def test_timings_file_round_trip(tmp_path):
    path = str(tmp_path / "t.jsonl")
    assert read_timings(path) == {}
    write_timings(path, {"cli": 1, "exit": 2})
    write_timings(path, {"cli": 3})
    assert read_timings(path) == {"cli": 3}
    assert read_timings(path, pid=os.getpid()) == {"cli": 3}
    assert read_timings(path, pid=-1) == {}


def test_resolve_in_image_follows_links_inside_the_image(tmp_path):
    low, top = tmp_path / "low", tmp_path / "top"
    (low / "bin").mkdir(parents=True)
    (low / "usr" / "bin").mkdir(parents=True)
    box = low / "bin" / "busybox"
    box.write_text("#!/bin/sh\n")
    box.chmod(0o755)
    (low / "bin" / "true").symlink_to("/bin/busybox")
    (top / "usr").mkdir(parents=True)
    (top / "usr" / "bin").symlink_to("../bin")  # /usr/bin -> /bin, relative
    layers = [str(low), str(top)]
    assert resolve_in_image(layers, "/usr/bin/true") == str(box)
    assert resolve_in_image(layers, "/nope") is None
    assert floor_argv(layers, ["/bin/true", "x"]) == [str(box), "true", "x"]
    assert floor_argv(layers, ["busybox", "echo"], "/sbin:/bin") == [str(box), "echo"]
    assert floor_argv(layers, ["missing"]) is None


def test_memory_parsers():
    text = "Rss:        1024 kB\nPss:         512 kB\nVmFlags: rd wr\nHugePages_Total:   3\n"
    assert memory.parse_kb_fields(text) == {"Rss": 1 << 20, "Pss": 512 << 10, "HugePages_Total": 3}
    info = {"MemTotal": 100, "MemAvailable": 60, "Slab": 5, "KernelStack": 1, "PageTables": 2, "Percpu": 1}
    assert memory.used_bytes(info) == 40
    assert memory.kernel_bytes(info) == 9


def test_memory_of_this_process_and_the_host():
    assert memory.process_memory(os.getpid())["Rss"] > 0
    assert memory.process_memory(2**22 + 7) == {}
    assert memory.meminfo()["MemTotal"] > 0


def test_cgroup_memory_reads_v1_and_v2_files(tmp_path):
    (tmp_path / "memory.usage_in_bytes").write_text("4096\n")
    (tmp_path / "memory.kmem.usage_in_bytes").write_text("1024\n")
    assert memory.cgroup_memory([str(tmp_path), "/nonexistent"]) == {"usage": 4096, "kernel": 1024}


def test_hybrid_cgroup2_mount_is_found_only_beside_v1():
    v1 = "32 31 0:29 / /sys/fs/cgroup/cpu rw - cgroup cgroup rw,cpu\n"
    v2 = "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n"
    assert mountns.hybrid_cgroup2_mounts(v1 + v2) == ["/sys/fs/cgroup/unified"]
    assert mountns.hybrid_cgroup2_mounts(v2) == []
    assert mountns.hybrid_cgroup2_mounts(v1) == []
