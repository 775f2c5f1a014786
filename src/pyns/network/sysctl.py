"""The two kernel switches bridge networking needs.

* ``net.ipv4.ip_forward``: containers reach the outside through the host
  (docker turns it on the same way, and leaves it on).
* ``net.ipv4.conf.<bridge>.route_localnet``: lets a packet to 127.0.0.1
  that was DNATed to a container be routed out of the bridge, so that a
  published port answers on the host's loopback without a proxy process.
  Only this bridge gets it; the raw-table guard rule drops anything that
  comes *from* the bridge towards 127.0.0.0/8.
"""
from __future__ import annotations

from pyns.errors import PynsError


def _write(path: str, value: str) -> None:
    try:
        with open(path, encoding="ascii") as f:
            if f.read().strip() == value:
                return
        with open(path, "w", encoding="ascii") as f:
            f.write(value)
    except OSError as e:
        raise PynsError(f"cannot set {path.removeprefix('/proc/sys/').replace('/', '.')}: {e.strerror}") from e


def enable_forwarding() -> None:
    _write("/proc/sys/net/ipv4/ip_forward", "1")


def enable_route_localnet(bridge: str) -> None:
    _write(f"/proc/sys/net/ipv4/conf/{bridge}/route_localnet", "1")
