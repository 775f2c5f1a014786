"""IPAM and subnet choice: pure functions, no kernel."""
from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pyns.errors import Conflict, InvalidArgument, PynsError
from pyns.network import ipam, subnets


def test_allocation_skips_gateway_and_continues_after_the_last_one() -> None:
    rec: dict = {}
    ips = [ipam.allocate(rec, "10.1.0.0/29", "10.1.0.1", f"c{i}") for i in range(3)]
    assert ips == ["10.1.0.2", "10.1.0.3", "10.1.0.4"]
    assert ipam.release(rec, "c0") == ["10.1.0.2"]
    # a freed address is not handed out again at once
    assert ipam.allocate(rec, "10.1.0.0/29", "10.1.0.1", "c3") == "10.1.0.5"
    assert ipam.allocate(rec, "10.1.0.0/29", "10.1.0.1", "c4") == "10.1.0.6"
    assert ipam.allocate(rec, "10.1.0.0/29", "10.1.0.1", "c5") == "10.1.0.2"  # wraps around
    with pytest.raises(PynsError, match="no available IPv4 addresses"):
        ipam.allocate(rec, "10.1.0.0/29", "10.1.0.1", "c6")
    assert ipam.owners(rec) == {"c1", "c2", "c3", "c4", "c5"}
    assert ipam.release(rec, "nobody") == []


def test_gateway_in_the_middle_is_skipped() -> None:
    rec: dict = {}
    got = {ipam.allocate(rec, "10.2.0.0/30", "10.2.0.2", str(i)) for i in range(1)}
    assert got == {"10.2.0.1"}
    with pytest.raises(PynsError):
        ipam.allocate(rec, "10.2.0.0/30", "10.2.0.2", "x")


@given(st.integers(0, 2**32 - 1))
def test_mac_encodes_the_address(value: int) -> None:
    ip = str(ipaddress.IPv4Address(value))
    mac = ipam.mac_for(ip)
    assert mac.startswith("02:42:")
    assert bytes(int(x, 16) for x in mac.split(":")[2:]) == ipaddress.IPv4Address(ip).packed


def test_default_subnet_avoids_host_routes_and_other_networks() -> None:
    taken = [ipaddress.IPv4Network("172.17.5.0/24"), ipaddress.IPv4Network("172.18.0.0/16")]
    assert str(subnets.choose(taken)) == "172.19.0.0/16"
    assert str(subnets.choose([])) == "172.17.0.0/16"
    everything = [ipaddress.IPv4Network("172.16.0.0/12"), ipaddress.IPv4Network("192.168.0.0/16")]
    with pytest.raises(PynsError):
        subnets.choose(everything)


@given(st.integers(0, 2**32 - 1), st.integers(8, 30))
def test_parse_subnet_accepts_any_network_and_its_first_host_is_the_gateway(value: int, plen: int) -> None:
    net = ipaddress.IPv4Network((value, plen), strict=False)
    assert subnets.parse_subnet(str(net)) == net
    assert subnets.parse_gateway(None, net) == str(net.network_address + 1)


@pytest.mark.parametrize("text, message", [
    ("10.0.0.1/24", "it should be 10.0.0.0/24"),
    ("nonsense", "invalid CIDR"),
    ("fd00::/64", "IPv6"),
    ("10.0.0.0/31", "too small"),
])
def test_bad_subnets(text: str, message: str) -> None:
    with pytest.raises(InvalidArgument, match=message):
        subnets.parse_subnet(text)


def test_gateway_must_be_a_host_of_the_subnet() -> None:
    net = ipaddress.IPv4Network("10.5.0.0/24")
    assert subnets.parse_gateway("10.5.0.254", net) == "10.5.0.254"
    for bad in ("10.6.0.1", "10.5.0.0", "10.5.0.255", "x"):
        with pytest.raises(InvalidArgument):
            subnets.parse_gateway(bad, net)


def test_overlapping_networks_conflict() -> None:
    with pytest.raises(Conflict, match="overlaps"):
        subnets.check_free(ipaddress.IPv4Network("10.0.0.0/16"), [("a", ipaddress.IPv4Network("10.0.5.0/24"))])
    subnets.check_free(ipaddress.IPv4Network("10.1.0.0/16"), [("a", ipaddress.IPv4Network("10.0.5.0/24"))])
