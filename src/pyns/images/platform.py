"""Platforms in OCI terms (``linux/amd64``, ``linux/arm/v7``).

``docker import`` stamps the image with the host's platform and ``pull``
picks the manifest for a platform out of a multi-platform index. Both use
Go's architecture names, normalised the way containerd does, so that
``aarch64``, ``arm64`` and ``arm64/v8`` all mean the same thing.
"""
from __future__ import annotations

import platform as _platform
from typing import Any

from pyns.errors import InvalidArgument
from pyns.records import record

_ARCH = {
    "x86_64": ("amd64", None), "amd64": ("amd64", None), "x86-64": ("amd64", None),
    "aarch64": ("arm64", "v8"), "arm64": ("arm64", "v8"),
    "armv7l": ("arm", "v7"), "armv6l": ("arm", "v6"), "armhf": ("arm", "v7"), "armel": ("arm", "v6"),
    "arm": ("arm", "v7"),
    "i386": ("386", None), "i686": ("386", None), "386": ("386", None),
    "ppc64le": ("ppc64le", None), "s390x": ("s390x", None), "riscv64": ("riscv64", None),
}


@record(frozen=True)
class Platform:
    """An os/architecture/variant triple; ``variant`` is "" when not relevant."""

    os: str
    architecture: str
    variant: str = ""

    def __str__(self) -> str:
        return "/".join(p for p in (self.os, self.architecture, self.variant) if p)

    def normalized(self) -> "Platform":
        """containerd's normalisation: Go arch names, default variants dropped (arm64/v8)."""
        arch, default_variant = _ARCH.get(self.architecture.lower(), (self.architecture.lower(), None))
        variant = self.variant.lower() or (default_variant or "")
        if arch == "arm64" and variant == "v8":
            variant = ""
        return Platform(self.os.lower(), arch, variant)

    def matches(self, other: "Platform") -> bool:
        """True if ``other`` (an index entry) runs where ``self`` (the wanted platform) asks.

        Variants are compared after normalisation (``linux/arm`` means arm/v7,
        ``arm64`` means v8); an older arm variant runs on a newer one.
        """
        want, have = self.normalized(), other.normalized()
        if (want.os, want.architecture) != (have.os, have.architecture):
            return False
        if not want.variant or want.variant == have.variant:
            return True
        # like containerd: an armv7 machine also runs v6 and v5 images
        return want.architecture == "arm" and _arm_level(have.variant) <= _arm_level(want.variant)

    @classmethod
    def from_dict(cls, data: Any) -> "Platform":
        """From an OCI descriptor's ``platform`` object or an image config."""
        if not isinstance(data, dict):
            return cls("", "")
        return cls(str(data.get("os", "")), str(data.get("architecture", "")), str(data.get("variant", "") or ""))


def _arm_level(variant: str) -> int:
    return int(variant[1:]) if variant[:1] == "v" and variant[1:].isdigit() else 99


def parse_platform(text: str) -> Platform:
    """Parse ``os/arch[/variant]`` as given to ``--platform``."""
    parts = text.strip().split("/")
    if not 2 <= len(parts) <= 3 or not all(parts):
        raise InvalidArgument(f"invalid platform {text!r}: expected os/arch[/variant]")
    return Platform(*parts).normalized()


def host_platform() -> dict[str, str]:
    """``{"architecture": ..., "os": "linux"}`` plus ``variant`` where Go reports one."""
    machine = _platform.machine().lower()
    arch, variant = _ARCH.get(machine, (machine, None))
    result = {"architecture": arch, "os": "linux"}
    if variant and arch != "arm64":  # docker omits the default v8 variant for arm64
        result["variant"] = variant
    return result


def default_platform() -> Platform:
    """The platform ``pull`` selects when none is given: the host's."""
    return Platform.from_dict(host_platform()).normalized()
