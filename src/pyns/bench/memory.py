"""Reading memory: per process (smaps_rollup), per cgroup, and the kernel's totals.

RSS counts a shared page in every process that maps it; PSS divides it
among them, so N monitors running one static binary sum to what they
really cost. Kernel-side memory (slab for namespaces, mounts, cgroups,
sockets; kernel stacks; page tables; per-CPU data) has no owner to ask,
so it is measured as the change in /proc/meminfo across the whole start
of N containers: a system-wide figure, noisy on a busy machine.
"""
from __future__ import annotations

import os

KERNEL_FIELDS = ("Slab", "KernelStack", "PageTables", "SecPageTables", "Percpu")


def parse_kb_fields(text: str) -> dict[str, int]:
    """Lines like ``Rss:   1234 kB`` -> {"Rss": 1234 * 1024} (bytes); other lines ignored."""
    out: dict[str, int] = {}
    for line in text.splitlines():
        key, sep, rest = line.partition(":")
        parts = rest.split()
        if sep and parts and parts[0].isdigit():
            out[key.strip()] = int(parts[0]) * (1024 if parts[1:2] == ["kB"] else 1)
    return out


def process_memory(pid: int) -> dict[str, int]:
    """Rss, Pss, ... of a process in bytes ({} once it is gone)."""
    try:
        with open(f"/proc/{pid}/smaps_rollup", encoding="utf-8") as f:
            return parse_kb_fields(f.read())
    except OSError:
        return {}


def meminfo(path: str = "/proc/meminfo") -> dict[str, int]:
    with open(path, encoding="utf-8") as f:
        return parse_kb_fields(f.read())


def kernel_bytes(info: dict[str, int]) -> int:
    """Memory the kernel holds for itself: slab, kernel stacks, page tables, per-CPU."""
    return sum(info.get(k, 0) for k in KERNEL_FIELDS)


def used_bytes(info: dict[str, int]) -> int:
    return info["MemTotal"] - info["MemAvailable"]


def cgroup_memory(dirs: list[str]) -> dict[str, int]:
    """A cgroup's charged memory: usage and, on v1, its kernel part (bytes; {} when unknown)."""
    files = {"usage": ("memory.usage_in_bytes", "memory.current"), "kernel": ("memory.kmem.usage_in_bytes",)}
    out: dict[str, int] = {}
    for d in dirs:
        for key, names in files.items():
            for name in names:
                try:
                    with open(os.path.join(d, name), encoding="ascii") as f:
                        out[key] = int(f.read().strip())
                except (OSError, ValueError):
                    continue
    return out
