"""Resource limits in docker's terms, and their translation to kernel values.

Users think in docker flags (``--memory``, ``--memory-swap``, ``--cpus``,
``--cpu-shares``, ``--pids-limit``, ``--cpuset-*``); the kernel wants
different numbers in different files for v1 and v2. Keeping the translation
here, as pure functions, lets both backends share it and lets property tests
pin it down without a cgroup filesystem.
"""
from __future__ import annotations

import os
import re

from pyns.errors import InvalidArgument
from pyns.records import record

#: docker's floor for --memory (linuxMinMemory): below it a container cannot start.
MIN_MEMORY = 6 * 1024 * 1024
#: CFS period pyns always uses, in microseconds (docker's default).
CFS_PERIOD_US = 100_000
#: Smallest quota the kernel accepts, in microseconds.
MIN_CFS_QUOTA_US = 1_000
#: --cpus 0.01: the smallest value whose quota the kernel accepts.
MIN_NANO_CPUS = MIN_CFS_QUOTA_US * 1_000_000_000 // CFS_PERIOD_US
#: Range the kernel accepts for v1 cpu.shares; docker clamps into it.
MIN_CPU_SHARES = 2
MAX_CPU_SHARES = 262_144

ONLINE_CPUS_FILE = "/sys/devices/system/cpu/online"
ONLINE_MEMS_FILE = "/sys/devices/system/node/online"

_CPUSET_ITEM = re.compile(r"^(\d+)(?:-(\d+))?$")


@record(frozen=True)
class Resources:
    """Limits for one container, with docker's meaning for every field.

    ``memory_swap`` is docker's total of memory plus swap: None (or 0) means
    "twice ``memory``" when memory is set, -1 means unlimited swap.
    ``pids_limit`` <= 0 means unlimited. ``devices_default`` applies docker's
    default device allow-list (v1 only; v2 needs eBPF and is not restricted);
    set it False for ``--privileged``.
    """

    memory: int | None = None
    memory_swap: int | None = None
    nano_cpus: int | None = None
    cpu_shares: int | None = None
    pids_limit: int | None = None
    cpuset_cpus: str | None = None
    cpuset_mems: str | None = None
    devices_default: bool = True

    def validate(self, *, online_cpus: str | None = None, online_mems: str | None = None) -> None:
        """Reject values docker would reject, with docker's messages.

        ``online_cpus``/``online_mems`` default to the host's online lists
        (read from sysfs); tests pass them explicitly.
        """
        if self.memory is not None:
            if self.memory < 0:
                raise InvalidArgument(f"invalid memory limit {self.memory}: must be a positive number of bytes")
            if 0 < self.memory < MIN_MEMORY:
                raise InvalidArgument("Minimum memory limit allowed is 6MB")
        swap = self.memory_swap
        if swap is not None and swap < -1:
            raise InvalidArgument(f"invalid memory swap limit {swap}: must be -1 (unlimited) or a number of bytes")
        if swap is not None and swap > 0:
            if not self.memory:
                raise InvalidArgument("You should always set the Memory limit when using Memoryswap limit, see usage")
            if swap < self.memory:
                raise InvalidArgument("Minimum memoryswap limit should be larger than memory limit, see usage")
        if self.cpu_shares is not None and self.cpu_shares < 0:
            raise InvalidArgument(f"invalid CPU shares {self.cpu_shares}: must not be negative")
        cpus_text = online_cpus if online_cpus is not None else _read_online(ONLINE_CPUS_FILE, "")
        if self.nano_cpus:
            ncpu = len(parse_cpuset(cpus_text)) if cpus_text else (os.cpu_count() or 1)
            if not MIN_NANO_CPUS <= self.nano_cpus <= ncpu * 1_000_000_000:
                raise InvalidArgument(
                    f"Range of CPUs is from 0.01 to {ncpu}.00, as there are only {ncpu} CPUs available")
        if self.cpuset_cpus:
            _check_available(self.cpuset_cpus, cpus_text, "cpus", "CPUs")
        if self.cpuset_mems:
            mems_text = online_mems if online_mems is not None else _read_online(ONLINE_MEMS_FILE, "0")
            _check_available(self.cpuset_mems, mems_text, "mems", "memory nodes")


def _read_online(path: str, default: str) -> str:
    """The kernel's online list (e.g. "0-3"); ``default`` when the file is absent."""
    try:
        with open(path, encoding="ascii") as f:
            return f.read().strip()
    except OSError:
        return default


def _check_available(requested: str, available: str, kind: str, noun: str) -> None:
    """Raise docker's messages for a malformed or unavailable cpuset list.

    An empty ``available`` means the host did not say; the kernel will then
    judge the value when it is written.
    """
    try:
        wanted = parse_cpuset_ranges(requested)
    except ValueError as exc:
        raise InvalidArgument(f"Invalid value {requested} for cpuset {kind}: {exc}") from exc
    if not available:
        return
    have = parse_cpuset(available)
    for lo, hi in wanted:
        for i in range(lo, hi + 1):
            if i not in have:
                raise InvalidArgument(
                    f"Requested {noun} are not available - requested {requested}, available: {available}")


def parse_cpuset_ranges(text: str) -> list[tuple[int, int]]:
    """Parse a kernel list ("0-2,4") into inclusive ranges, without expanding them.

    Not expanding keeps a hostile "0-4000000000" cheap to reject.
    """
    ranges: list[tuple[int, int]] = []
    if not text.strip():
        return ranges
    for item in text.strip().split(","):
        m = _CPUSET_ITEM.match(item.strip())
        if not m:
            raise ValueError(f"invalid format: {text}")
        lo = int(m.group(1))
        hi = int(m.group(2)) if m.group(2) is not None else lo
        if hi < lo:
            raise ValueError(f"invalid range: {item}")
        ranges.append((lo, hi))
    return ranges


def parse_cpuset(text: str) -> set[int]:
    """Expand a kernel list ("0-2,4") into a set of ids (for small, trusted lists)."""
    return {i for lo, hi in parse_cpuset_ranges(text) for i in range(lo, hi + 1)}


def format_cpuset(ids: set[int] | list[int]) -> str:
    """The kernel list form of ``ids`` with runs collapsed ("0-2,4")."""
    out: list[str] = []
    run: list[int] = []
    for i in sorted(set(ids)):
        if run and i == run[-1] + 1:
            run.append(i)
            continue
        if run:
            out.append(_format_run(run))
        run = [i]
    if run:
        out.append(_format_run(run))
    return ",".join(out)


def _format_run(run: list[int]) -> str:
    return str(run[0]) if len(run) == 1 else f"{run[0]}-{run[-1]}"


def memory_limit(r: Resources) -> int | None:
    """Bytes for memory.limit_in_bytes / memory.max, None when unlimited (0 is docker's "unset")."""
    return r.memory if r.memory else None


def memsw_limit(r: Resources) -> int | None:
    """v1 memory.memsw.limit_in_bytes: memory+swap, -1 for unlimited swap, None to leave alone."""
    if not r.memory:
        return None
    if r.memory_swap == -1:
        return -1
    if not r.memory_swap:
        return 2 * r.memory
    return r.memory_swap


def swap_max(r: Resources) -> str | None:
    """v2 memory.swap.max: swap alone (docker's total minus memory), "max" for unlimited."""
    total = memsw_limit(r)
    if total is None or r.memory is None:
        return None
    if total == -1:
        return "max"
    return str(total - r.memory)


def cfs_quota(r: Resources) -> int | None:
    """CFS quota in microseconds per :data:`CFS_PERIOD_US` for ``nano_cpus`` (None when unset)."""
    if not r.nano_cpus:
        return None
    return r.nano_cpus * CFS_PERIOD_US // 1_000_000_000


def clamp_shares(shares: int) -> int:
    """docker clamps out-of-range shares into what the kernel accepts instead of failing."""
    return max(MIN_CPU_SHARES, min(MAX_CPU_SHARES, shares))


def cpu_shares(r: Resources) -> int | None:
    """v1 cpu.shares (clamped), None when unset or 0 (docker's "default")."""
    return clamp_shares(r.cpu_shares) if r.cpu_shares else None


def shares_to_weight(shares: int) -> int:
    """Map v1 shares [2, 262144] linearly onto v2 weight [1, 10000] (the OCI/runc convention)."""
    return 1 + ((clamp_shares(shares) - 2) * 9999) // 262142


def pids_max(r: Resources) -> int | None:
    """pids.max value, None for unlimited (docker treats 0 and -1 as unlimited)."""
    return r.pids_limit if r.pids_limit and r.pids_limit > 0 else None
