"""The host platform in OCI terms (``amd64``/``linux``), for imported images.

``docker import`` stamps the image with the daemon's platform; using Go's
architecture names keeps such images pullable and runnable by other tools.
"""
from __future__ import annotations

import platform as _platform

_ARCH = {
    "x86_64": ("amd64", None), "amd64": ("amd64", None),
    "aarch64": ("arm64", "v8"), "arm64": ("arm64", "v8"),
    "armv7l": ("arm", "v7"), "armv6l": ("arm", "v6"),
    "i386": ("386", None), "i686": ("386", None),
    "ppc64le": ("ppc64le", None), "s390x": ("s390x", None), "riscv64": ("riscv64", None),
}


def host_platform() -> dict[str, str]:
    """``{"architecture": ..., "os": "linux"}`` plus ``variant`` where Go reports one."""
    machine = _platform.machine().lower()
    arch, variant = _ARCH.get(machine, (machine, None))
    result = {"architecture": arch, "os": "linux"}
    if variant and arch != "arm64":  # docker omits the default v8 variant for arm64
        result["variant"] = variant
    return result
