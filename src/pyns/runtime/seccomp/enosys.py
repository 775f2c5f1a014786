"""ENOSYS, not EPERM, for syscalls newer than the profile (what runc does).

libc tries a new syscall first and falls back to the old one only when the
kernel says ENOSYS (glibc: fchmodat2 -> fchmodat, clone3 -> clone,
faccessat2 -> faccessat...). A syscall numbered above everything the filter
names cannot be on the allowlist; answering EPERM would make libc report a
failure instead of falling back, which is what broke containers when
faccessat2 was new. So a short prefix answers ENOSYS for syscall numbers
above the highest one the filter names, per architecture, and hands every
other call to libseccomp's program unchanged (classic BPF jumps are
relative, so prepending keeps them valid; the prefix uses only the loads
and compares the kernel's seccomp action cache can still evaluate).
"""
from __future__ import annotations

import struct

SECCOMP_DATA_NR, SECCOMP_DATA_ARCH = 0, 4
AUDIT_ARCH_X86_64 = 0xC000003E
SCMP_ARCH_X32 = 0x4000003E  # libseccomp's token; the kernel reports x32 calls as x86_64 + this bit:
X32_SYSCALL_BIT = 0x40000000
RET_ERRNO_ENOSYS = 0x00050000 | 38

_LD_W_ABS, _JEQ_K, _JGT_K, _JSET_K, _JA, _RET_K = 0x20, 0x15, 0x25, 0x45, 0x05, 0x06
_MAX_JUMP = 255


def prefix(limits: dict[int, int]) -> bytes:
    """BPF to prepend: arch token -> highest syscall number the filter names on that arch."""
    x32 = limits.get(SCMP_ARCH_X32)
    arches = sorted((a, n) for a, n in limits.items() if a != SCMP_ARCH_X32)
    ins: list[tuple[int, str | None, str | None, int | str]] = [(_LD_W_ABS, None, None, SECCOMP_DATA_ARCH)]
    labels: dict[str, int] = {}
    for i, (arch, limit) in enumerate(arches):
        labels[f"arch{i}"] = len(ins)
        ins.append((_JEQ_K, "next", f"arch{i + 1}", arch))
        ins.append((_LD_W_ABS, None, None, SECCOMP_DATA_NR))
        if arch == AUDIT_ARCH_X86_64:  # x32 shares the arch value: tell them apart by the bit
            ins.append((_JSET_K, "x32" if x32 is not None else "main", "next", X32_SYSCALL_BIT))
        ins.append((_JGT_K, "enosys", "main", limit))
        if arch == AUDIT_ARCH_X86_64 and x32 is not None:
            labels["x32"] = len(ins)
            ins.append((_JGT_K, "enosys", "main", x32))
    labels[f"arch{len(arches)}"] = len(ins)
    ins.append((_JA, None, None, "main"))
    labels["enosys"] = len(ins)
    ins.append((_RET_K, None, None, RET_ERRNO_ENOSYS))
    labels["main"] = len(ins)

    def offset(i: int, label: str | None) -> int:
        off = 0 if label in (None, "next") else labels[label] - (i + 1)
        if not 0 <= off <= _MAX_JUMP:
            raise ValueError(f"seccomp prefix jump of {off} does not fit in classic BPF")
        return off

    out = bytearray()
    for i, (code, jt, jf, k) in enumerate(ins):
        kval = labels[k] - (i + 1) if isinstance(k, str) else k
        out += struct.pack("=HBBI", code, offset(i, jt), offset(i, jf), kval)
    return bytes(out)
