"""What a profile's includes/excludes are evaluated against: arch, kernel, capability names.

Kept apart from the profile model because the cache key is built from it
on every container start, and a start that hits the cache should import
nothing heavier than this.
"""
from __future__ import annotations

import os
import re

from pyns.records import record

# uname -m -> the arch names docker's includes/excludes use (moby's "native" names).
_MACHINE_ARCH = {
    "x86_64": "amd64", "i386": "x86", "i486": "x86", "i586": "x86", "i686": "x86",
    "aarch64": "arm64", "arm64": "arm64", "ppc64le": "ppc64le", "ppc64": "ppc64", "ppc": "ppc",
    "s390x": "s390x", "s390": "s390", "riscv64": "riscv64", "mips64": "mips64", "mips": "mipsle",
    "loongarch64": "loong64",
}
# docker arch name -> the SCMP_ARCH_* an archMap entry is matched against.
_SCMP_ARCH = {
    "amd64": "SCMP_ARCH_X86_64", "x86": "SCMP_ARCH_X86", "arm64": "SCMP_ARCH_AARCH64", "arm": "SCMP_ARCH_ARM",
    "ppc64le": "SCMP_ARCH_PPC64LE", "ppc64": "SCMP_ARCH_PPC64", "ppc": "SCMP_ARCH_PPC",
    "s390x": "SCMP_ARCH_S390X", "s390": "SCMP_ARCH_S390", "riscv64": "SCMP_ARCH_RISCV64",
    "mips64": "SCMP_ARCH_MIPS64", "mipsle": "SCMP_ARCH_MIPSEL", "loong64": "SCMP_ARCH_LOONGARCH64",
}


@record(frozen=True)
class Host:
    """The machine side of includes/excludes."""

    arch: str  # docker's name: amd64, arm64, x86, ...
    kernel: tuple[int, int]

    @classmethod
    def current(cls) -> Host:
        u = os.uname()
        machine = u.machine
        arch = _MACHINE_ARCH.get(machine, "arm" if machine.startswith("arm") else machine)
        return cls(arch, kernel_version(u.release))

    @property
    def scmp_arch(self) -> str | None:
        return _SCMP_ARCH.get(self.arch)


def kernel_version(release: str) -> tuple[int, int]:
    """'6.18.44-fc-v657' -> (6, 18)."""
    m = re.match(r"(\d+)(?:\.(\d+))?", release)
    return (int(m.group(1)), int(m.group(2) or 0)) if m else (0, 0)


def normalize_cap(name: str) -> str:
    """'CAP_SYS_ADMIN' and 'sys_admin' both mean SYS_ADMIN, pyns's spelling."""
    n = name.strip().upper()
    return n.removeprefix("CAP_")
