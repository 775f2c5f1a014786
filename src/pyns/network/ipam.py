"""Address allocation on one network: pure functions over its IPAM record.

The record (``{"last": ip, "addresses": {ip: owner}}``) is read and written
by the manager under the network lock, so these functions need no locking
of their own. Allocation continues after the last address handed out
instead of reusing the lowest free one, as docker does: a freed address is
not given to the next container at once, so a peer with a stale ARP entry
or hosts line does not reach the wrong container.
"""
from __future__ import annotations

import ipaddress
from typing import Any

from pyns.errors import PynsError


def allocate(record: dict[str, Any], subnet: str, gateway: str, owner: str) -> str:
    """Reserve and return a free address of subnet for owner (mutates record)."""
    net = ipaddress.IPv4Network(subnet)
    used = record.setdefault("addresses", {})
    first, last = int(net.network_address) + 1, int(net.broadcast_address) - 1
    size = last - first + 1
    reserved = {gateway}
    try:
        start = int(ipaddress.IPv4Address(record.get("last") or "")) + 1
    except ValueError:
        start = first
    for i in range(size):
        candidate = first + (start - first + i) % size
        ip = str(ipaddress.IPv4Address(candidate))
        if ip not in used and ip not in reserved:
            used[ip] = owner
            record["last"] = ip
            return ip
    raise PynsError(f"no available IPv4 addresses on this network's address pools: {subnet}")


def release(record: dict[str, Any], owner: str) -> list[str]:
    """Free every address held by owner; returns them (mutates record)."""
    used = record.get("addresses", {})
    freed = [ip for ip, who in used.items() if who == owner]
    for ip in freed:
        del used[ip]
    return freed


def owners(record: dict[str, Any]) -> set[str]:
    return set(record.get("addresses", {}).values())


def mac_for(ip: str) -> str:
    """Docker's MAC scheme: 02:42 followed by the four bytes of the address.

    Deterministic per address, so a re-created container with the same
    address keeps peers' ARP caches valid.
    """
    raw = ipaddress.IPv4Address(ip).packed
    return "02:42:" + ":".join(f"{b:02x}" for b in raw)
