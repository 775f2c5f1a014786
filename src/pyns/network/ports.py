"""Host ports for published container ports: choosing them and checking they are free.

Published ports are DNAT rules, not listening sockets, so the kernel does
not stop two containers from claiming one port: pyns keeps its own table
(``ports.json``, ``{"tcp/0.0.0.0/8080": cid}``, changed under the network
lock) and, for ports nobody in pyns holds, binds the port briefly to find
out whether a host program already listens there. A random host port
(``-p 80``) comes from the kernel's ephemeral range, like docker's.
"""
from __future__ import annotations

import errno
import ipaddress
import itertools
import random
import socket
from typing import Iterable

from pyns.errors import Conflict, InvalidArgument
from pyns.options.ports import PortBinding
from pyns.records import replace

ANY = "0.0.0.0"


def key(proto: str, host_ip: str, port: int) -> str:
    return f"{proto}/{host_ip or ANY}/{port}"


def _holder(reserved: dict[str, str], proto: str, host_ip: str, port: int) -> str | None:
    """Who in pyns already publishes this port on an overlapping address."""
    host_ip = host_ip or ANY
    for k, owner in reserved.items():
        p, ip, num = k.split("/")
        if p == proto and int(num) == port and (ip == host_ip or ANY in (ip, host_ip)):
            return owner
    return None


def _bind_error(proto: str, host_ip: str, port: int) -> OSError | None:
    """Try to bind the port as a host program would; the error if that fails."""
    kind = {"tcp": socket.SOCK_STREAM, "udp": socket.SOCK_DGRAM}.get(proto)
    if kind is None:
        return None  # sctp: nothing portable to probe with; pyns's own table still applies
    with socket.socket(socket.AF_INET, kind) as s:
        if kind == socket.SOCK_STREAM:
            # Only a listener is a conflict, not a connection lingering in TIME_WAIT.
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host_ip or ANY, port))
        except OSError as e:
            return e
    return None


def _ephemeral_range() -> tuple[int, int]:
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range", encoding="ascii") as f:
            low, high = (int(x) for x in f.read().split())
            return low, high
    except (OSError, ValueError):
        return 32768, 60999


def _check_host_ip(host_ip: str) -> str:
    if not host_ip:
        return ANY
    if ipaddress.ip_address(host_ip).version != 4:
        raise InvalidArgument(f"publishing on an IPv6 address is not supported: {host_ip}")
    return host_ip


def _claim(reserved: dict[str, str], b: PortBinding, host_ip: str, port: int, owner: str) -> str | None:
    """Reserve port if free; None on success, else why not."""
    if _holder(reserved, b.proto, host_ip, port) is not None:
        return f"Bind for {host_ip}:{port} failed: port is already allocated"
    err = _bind_error(b.proto, host_ip, port)
    if err is not None:
        reason = "address already in use" if err.errno == errno.EADDRINUSE else (err.strerror or str(err)).lower()
        return (f"failed to bind port {host_ip}:{port}/{b.proto}: listen {b.proto}4 {host_ip}:{port}: "
                f"bind: {reason}")
    reserved[key(b.proto, host_ip, port)] = owner
    return None


def publish(bindings: list[PortBinding], reserved: dict[str, str], owner: str) -> list[PortBinding]:
    """Concrete bindings (host port chosen, host_ip filled) reserved for owner.

    Mutates reserved; raises Conflict on the first port that is taken, in
    which case the caller must not save reserved (nothing was published).
    """
    out = []
    for b in bindings:
        host_ip = _check_host_ip(b.host_ip)
        candidates: Iterable[int]
        if b.host_port and b.host_port_end is None:
            candidates = [b.host_port]
        else:
            low, high = (b.host_port, b.host_port_end) if b.host_port and b.host_port_end else _ephemeral_range()
            start = random.randint(low, high)
            candidates = itertools.chain(range(start, high + 1), range(low, start))
        why = "no free host port"
        for port in candidates:
            problem = _claim(reserved, b, host_ip, port, owner)
            if problem is None:
                out.append(replace(b, host_ip=host_ip, host_port=port, host_port_end=None))
                break
            why = problem
        else:
            raise Conflict(why)
    return out


def release(reserved: dict[str, str], owner: str) -> bool:
    """Free owner's ports; True if it held any."""
    mine = [k for k, who in reserved.items() if who == owner]
    for k in mine:
        del reserved[k]
    return bool(mine)

