"""-p specs against go-connections nat.ParsePortSpec behaviour."""
import ipaddress

import pytest
from hypothesis import assume, given, strategies as st

from pyns.errors import InvalidArgument
from pyns.options import PortBinding, parse_port, parse_ports


@pytest.mark.parametrize("spec,expected", [
    ("80", [PortBinding("", None, 80)]),
    ("8080:80", [PortBinding("", 8080, 80)]),
    ("127.0.0.1:8080:80/udp", [PortBinding("127.0.0.1", 8080, 80, "udp")]),
    ("127.0.0.1::80", [PortBinding("127.0.0.1", None, 80)]),
    ("[::1]:80:80", [PortBinding("::1", 80, 80)]),
    ("::1:80:80", [PortBinding("::1", 80, 80)]),
    ("[]:80:80", [PortBinding("", 80, 80)]),
    ("80/SCTP", [PortBinding("", None, 80, "sctp")]),
    ("80/", [PortBinding("", None, 80)]),
    ("0:0", [PortBinding("", 0, 0)]),
    ("8000-8002:80-82", [PortBinding("", 8000 + i, 80 + i) for i in range(3)]),
    ("80-81", [PortBinding("", None, 80), PortBinding("", None, 81)]),
    ("8000-8010:80", [PortBinding("", 8000, 80, "tcp", 8010)]),
    ("80-80:90", [PortBinding("", 80, 90)]),
    ("published=8080,target=80,protocol=udp", [PortBinding("", 8080, 80, "udp")]),
    ("target=80", [PortBinding("", None, 80)]),
])
def test_examples(spec, expected):
    assert parse_port(spec) == expected


def test_binding_helpers():
    dynamic = parse_port("8000-8010:80")[0]
    assert (dynamic.port_key, dynamic.host_port_text) == ("80/tcp", "8000-8010")
    assert parse_port("80/udp")[0].host_port_text == ""
    assert [b.container_port for b in parse_ports(["80", "90:91"])] == [80, 91]


@pytest.mark.parametrize("spec,message", [
    ("", "no port specified: <empty>"),
    ("8080:", "no port specified: 8080:<empty>"),
    ("80/tcp/x", "invalid proto: tcp/x"),
    ("80/icmp", "invalid proto: icmp"),
    ("x", "invalid containerPort: x"),
    ("65536", "invalid containerPort: 65536"),
    ("-1", "invalid containerPort: -1"),
    ("90-80", "invalid containerPort: 90-80"),
    ("1-2-3", "invalid containerPort: 1-2-3"),
    ("x:80", "invalid hostPort: x"),
    ("70000:80", "invalid hostPort: 70000"),
    ("8000-8001:80-82", "invalid ranges specified for container and host Ports: 80-82 and 8000-8001"),
    ("80:80-81", "invalid ranges specified for container and host Ports: 80-81 and 80"),
    ("1.2.3:80:80", "invalid IP address: 1.2.3"),
    ("01.2.3.4:80:80", "invalid IP address: 01.2.3.4"),
    ("fe80::1%eth0:80:80", "invalid IP address: fe80::1%eth0"),
    ("[::1:80:80", "invalid IP address [::1: address [::1:: missing ']' in address"),
    ("[::1]x:80:80", "invalid IP address [::1]x: address [::1]x:: missing port in address"),
    ("published=80,target", "invalid publish opts format (should be name=value but got 'target')"),
])
def test_errors(spec, message):
    with pytest.raises(InvalidArgument) as err:
        parse_port(spec)
    assert str(err.value) == message


ports = st.integers(0, 65535)
ips = st.one_of(st.just(""), st.ip_addresses(v=4).map(str), st.ip_addresses(v=6).map(str))


@given(ips, st.one_of(st.none(), ports), ports, st.sampled_from(["tcp", "udp", "sctp", "TCP", ""]))
def test_round_trip(ip, host, container, proto):
    host_text = "" if host is None else str(host)
    ip_text = f"[{ip}]" if ":" in ip else ip
    spec = (f"{ip_text}:" if ip else "") + (f"{host_text}:" if ip or host is not None else "") + str(container)
    spec += f"/{proto}" if proto else ""
    [binding] = parse_port(spec)
    assert binding == PortBinding(ip, host, container, proto.lower() or "tcp")


@given(ports, ports, st.integers(0, 20))
def test_range_expansion(host, container, extra):
    assume(host + extra <= 65535 and container + extra <= 65535)
    spec = f"{host}-{host + extra}:{container}-{container + extra}"
    bindings = parse_port(spec)
    assert [(b.host_port, b.container_port) for b in bindings] == [(host + i, container + i) for i in range(extra + 1)]


@given(st.text(max_size=30))
def test_garbage_only_invalid_argument(spec):
    try:
        bindings = parse_port(spec)
    except InvalidArgument:
        return
    for b in bindings:
        assert 0 <= b.container_port <= 65535 and b.proto in ("tcp", "udp", "sctp")
        if b.host_ip:
            ipaddress.ip_address(b.host_ip)


@given(st.from_regex(r"[\[\]0-9.:a-f/\-=,]{0,20}", fullmatch=True))
def test_near_miss_only_invalid_argument(spec):
    try:
        parse_port(spec)
    except InvalidArgument:
        pass
