"""Host port allocation for published ports (binds briefly on loopback; no root needed)."""
from __future__ import annotations

import socket

import pytest

from pyns.errors import Conflict, InvalidArgument
from pyns.network import ports
from pyns.options import PortBinding, parse_port


def _free() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _free_pair() -> int:
    """A port whose successor is free too (publish() probes the host's sockets)."""
    for _ in range(100):
        port = _free()
        try:
            with socket.socket() as s:
                s.bind(("0.0.0.0", port + 1))
            return port
        except OSError:
            continue
    raise AssertionError("no two free ports in a row")


def test_fixed_port_is_reserved_and_released() -> None:
    reserved: dict[str, str] = {}
    port = _free()
    (b,) = ports.publish(parse_port(f"{port}:80"), reserved, "c1")
    assert (b.host_ip, b.host_port, b.container_port, b.proto) == ("0.0.0.0", port, 80, "tcp")
    assert reserved == {f"tcp/0.0.0.0/{port}": "c1"}
    assert ports.release(reserved, "c1") and reserved == {}
    assert not ports.release(reserved, "c1")


def test_pyns_allocations_conflict_across_addresses_but_not_protocols() -> None:
    port = _free()
    reserved = {f"tcp/127.0.0.1/{port}": "c1"}
    for spec in (f"{port}:80", f"127.0.0.1:{port}:80"):
        with pytest.raises(Conflict, match=f"Bind for .*:{port} failed: port is already allocated"):
            ports.publish(parse_port(spec), dict(reserved), "c2")
    ports.publish(parse_port(f"{port}:80/udp"), reserved, "c2")
    assert reserved[f"udp/0.0.0.0/{port}"] == "c2"


def test_a_host_listener_is_a_conflict() -> None:
    with socket.socket() as s:
        s.bind(("0.0.0.0", 0))
        s.listen()
        port = s.getsockname()[1]
        with pytest.raises(Conflict, match="address already in use"):
            ports.publish(parse_port(f"{port}:80"), {}, "c")


def test_random_and_ranged_host_ports() -> None:
    reserved: dict[str, str] = {}
    (rnd,) = ports.publish(parse_port("80"), reserved, "c")
    low, high = ports._ephemeral_range()
    assert low <= rnd.host_port <= high and rnd.host_port_end is None
    start = _free_pair()
    taken = {f"tcp/0.0.0.0/{start}": "other"}
    (ranged,) = ports.publish([PortBinding("", start, 81, "tcp", start + 1)], taken, "c")
    assert ranged.host_port == start + 1
    with pytest.raises(Conflict):
        ports.publish([PortBinding("", start, 82, "tcp", start + 1)], taken, "c")


def test_same_port_twice_in_one_request_conflicts() -> None:
    port = _free()
    with pytest.raises(Conflict):
        ports.publish(parse_port(f"{port}:80") + parse_port(f"{port}:81"), {}, "c")


def test_ipv6_host_address_is_refused() -> None:
    with pytest.raises(InvalidArgument, match="IPv6"):
        ports.publish(parse_port("[::1]:8080:80"), {}, "c")
