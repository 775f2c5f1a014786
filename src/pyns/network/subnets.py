"""Subnets of bridge networks: checking the user's, choosing a default one.

A default subnet is taken from docker's pools (172.17-31.0.0/16, then
192.168.0.0/16 cut into /20s) and must not overlap any route the host
already has: a bridge on a subnet the host reaches through another
interface would hijack that traffic. The caller passes the host's routes
so that this module stays pure (and testable without root).
"""
from __future__ import annotations

import ipaddress
from typing import Iterable

from pyns.errors import Conflict, InvalidArgument, PynsError

IPv4Network = ipaddress.IPv4Network


def default_pools() -> list[IPv4Network]:
    pools = [IPv4Network(f"172.{n}.0.0/16") for n in range(17, 32)]
    pools += list(IPv4Network("192.168.0.0/16").subnets(new_prefix=20))
    return pools


def choose(taken: Iterable[IPv4Network]) -> IPv4Network:
    """The first pool that overlaps nothing in taken."""
    taken = list(taken)
    for pool in default_pools():
        if not any(pool.overlaps(t) for t in taken):
            return pool
    raise PynsError("could not find an available, non-overlapping IPv4 address pool among the defaults "
                    "to assign to the network")


def parse_subnet(text: str) -> IPv4Network:
    """A user's --subnet: IPv4 CIDR, host bits clear, room for a gateway and one container."""
    try:
        net = ipaddress.ip_network(text, strict=False)
    except ValueError:
        raise InvalidArgument(f"invalid CIDR address: {text}") from None
    if not isinstance(net, IPv4Network):
        raise InvalidArgument(f"IPv6 subnets are not supported: {text}")
    if ipaddress.ip_interface(text).ip != net.network_address:
        raise InvalidArgument(f"invalid subnet {text}: it should be {net}")
    if net.prefixlen > 30:
        raise InvalidArgument(f"subnet {net} is too small: a bridge network needs at least a /30")
    return net


def parse_gateway(text: str | None, net: IPv4Network) -> str:
    """The gateway (the bridge's own address): given, or the subnet's first host."""
    if not text:
        return str(net.network_address + 1)
    try:
        gw = ipaddress.IPv4Address(text)
    except ValueError:
        raise InvalidArgument(f"invalid gateway address: {text}") from None
    if gw not in net or gw in (net.network_address, net.broadcast_address):
        raise InvalidArgument(f"no matching subnet for gateway {text}")
    return str(gw)


def check_free(net: IPv4Network, others: Iterable[tuple[str, IPv4Network]]) -> None:
    """Conflict if net overlaps another pyns network (name, subnet)."""
    for name, other in others:
        if net.overlaps(other):
            raise Conflict(f"Pool overlaps with other one on this address space: {net} overlaps {other} "
                           f"of network {name}")
