"""Docker-shaped renderings (inspect, network inspect, ps, port) and the hosts file."""
from __future__ import annotations

import os
from pathlib import Path

from pyns.network import hosts, settings
from pyns.network.model import Attachment, Endpoint, Network
from pyns.options import PortBinding, parse_port


def _ep(network: str = "bridge", ip: str = "172.17.0.2", aliases: list[str] | None = None) -> Endpoint:
    return Endpoint(network=network, network_id="n" * 64, endpoint_id="e" * 64, ifname="eth0",
                    host_ifname="pv123", ip=ip, prefixlen=16, gateway="172.17.0.1", mac="02:42:ac:11:00:02",
                    aliases=aliases or [])


def test_network_settings_like_docker() -> None:
    att = Attachment("c" * 64, "web", "cccc", "/run/pyns/netns/c", [_ep()],
                     [PortBinding("0.0.0.0", 8080, 80, "tcp")])
    s = settings.network_settings(att, exposed=["80/tcp", "443/tcp"], configured={"other": "o" * 64})
    assert s["Ports"] == {"80/tcp": [{"HostIp": "0.0.0.0", "HostPort": "8080"}], "443/tcp": None}
    assert (s["IPAddress"], s["Gateway"], s["MacAddress"], s["IPPrefixLen"]) == (
        "172.17.0.2", "172.17.0.1", "02:42:ac:11:00:02", 16)
    assert s["SandboxKey"] == "/run/pyns/netns/c"
    assert s["Networks"]["bridge"]["NetworkID"] == "n" * 64
    assert s["Networks"]["other"]["IPAddress"] == "" and s["Networks"]["other"]["NetworkID"] == "o" * 64
    # only the default bridge fills the legacy top-level fields, as in docker
    user = settings.network_settings(Attachment("c" * 64, "web", "h", "/x", [_ep("mynet", aliases=["a"])]))
    assert user["IPAddress"] == "" and user["Networks"]["mynet"]["Aliases"] == ["a"]
    stopped = settings.network_settings(None)
    assert stopped["Networks"] == {} and stopped["Ports"] == {}


def test_network_inspect_lists_its_containers() -> None:
    net = Network("n" * 64, "mynet", "bridge", "2024-01-01T00:00:00Z", "10.1.0.0/24", "10.1.0.1", "pyns-nnn",
                  labels={"a": "b"})
    att = Attachment("c" * 64, "web", "h", "/x", [_ep("mynet", "10.1.0.2")])
    out = settings.network_inspect(net, [att, Attachment("d" * 64, "x", "h", "/y")])
    assert out["IPAM"]["Config"] == [{"Subnet": "10.1.0.0/24", "Gateway": "10.1.0.1"}]
    assert out["Containers"] == {"c" * 64: {"Name": "web", "EndpointID": "e" * 64, "MacAddress": "02:42:ac:11:00:02",
                                            "IPv4Address": "10.1.0.2/16", "IPv6Address": ""}}
    assert out["Options"] == {"com.docker.network.bridge.name": "pyns-nnn"} and out["Labels"] == {"a": "b"}


def test_ps_ports_and_port_lines() -> None:
    published = [PortBinding("0.0.0.0", 8080, 80, "tcp"), PortBinding("0.0.0.0", 8081, 81, "tcp"),
                 PortBinding("127.0.0.1", 5353, 53, "udp")]
    assert settings.ps_ports(published, exposed=["443/tcp", "80/tcp"]) == (
        "443/tcp, 0.0.0.0:8080-8081->80-81/tcp, 127.0.0.1:5353->53/udp")
    assert settings.port_lines(published) == ["80/tcp -> 0.0.0.0:8080", "81/tcp -> 0.0.0.0:8081",
                                              "53/udp -> 127.0.0.1:5353"]
    assert settings.port_lines(published, "80") == ["0.0.0.0:8080"]
    assert settings.port_lines(published, "53/udp") == ["127.0.0.1:5353"]


def test_attachment_round_trips_through_json() -> None:
    att = Attachment("c" * 64, "web", "h", "/x", [_ep()], parse_port("8080:80"), "/h")
    assert Attachment.from_dict(att.to_dict()) == att


def test_hosts_text_and_in_place_write(tmp_path: Path) -> None:
    text = hosts.render([("10.0.0.2", ["h", "web", "web"])], [("10.0.0.3", ["db", "", "alias"])])
    assert text.startswith(hosts.LOCALHOST)
    assert text.endswith("10.0.0.2\th web\n10.0.0.3\tdb alias\n")
    p = tmp_path / "hosts"
    p.write_text("x" * 1000)
    inode = os.stat(p).st_ino
    hosts.write_in_place(str(p), text)
    assert p.read_text() == text and os.stat(p).st_ino == inode
