"""Published ports as another host sees them (issue #4: "reachable from the
host's own loopback and from other hosts, as with Docker").

The other host is a network namespace of the test's own on a veth link to
this host (tests/remote_host.py). Docker's semantics, checked from there:

* ``-p HOSTPORT:80`` and ``-p HOSTPORT:9999/udp`` answer on the host's
  address on the link, and the container sees the remote's own address as
  the source (DNAT, no masquerade);
* ``-p 127.0.0.1:HOSTPORT:80`` answers on the host's loopback only: not on
  the link address, and not when the remote routes 127.0.0.0/8 to this host
  and sends to 127.0.0.1 itself (moby/moby#41872: a DNAT rule for
  127.0.0.1 in prerouting forwards such crafted packets to the container);
* the container's own address is not reachable by routing it through the
  host: only what is published is.

Each silent drop is checked against a capture on the host's end of the
link, so "no answer" means the packet arrived and was dropped, not that it
never left. Traffic goes only to the test's link, the host's loopback and the
test's container.
"""
from __future__ import annotations

import socket
import struct
import time
from pathlib import Path
from typing import Callable, Iterator

import pytest

from tests.conftest import free_port, needs_root, pyns_cli
from tests.integration.test_container_network import fetch, ok, serve
from tests.remote_host import RemoteHost, remote_host, socket_in

pytestmark = [needs_root, pytest.mark.root]

PAGE = "from-the-container"
UDP_PORT = 9999  # the container's; served by a socket the test opens in the container's namespace
NO_ANSWER_WAIT = 0.5  # s; an answer on a veth takes well under a millisecond


@pytest.fixture
def remote(tmp_path: Path) -> Iterator[RemoteHost]:
    with remote_host(tmp_path) as r:
        yield r


def get(new_socket: Callable[[], socket.socket], addr: tuple[str, int], timeout: float = 5) -> str:
    """The body of GET / from addr over sockets from new_socket, retried while httpd starts."""
    deadline = time.monotonic() + timeout
    while True:
        with new_socket() as s:
            s.settimeout(1)
            try:
                s.connect(addr)
                s.sendall(b"GET / HTTP/1.0\r\n\r\n")
                reply = b"".join(iter(lambda: s.recv(4096), b"")).decode()
                return reply.split("\r\n\r\n", 1)[1].strip()
            except OSError:
                if time.monotonic() > deadline:
                    raise
        time.sleep(0.05)


def connect_outcome(s: socket.socket, addr: tuple[str, int]) -> str:
    """"connected", "refused" or "no answer" (within NO_ANSWER_WAIT)."""
    s.settimeout(NO_ANSWER_WAIT)
    try:
        s.connect(addr)
        return "connected"
    except ConnectionRefusedError:
        return "refused"
    except TimeoutError:
        return "no answer"


class Capture:
    """TCP segments crossing the host's end of the link, both ways (AF_PACKET on the test's own veth)."""

    def __init__(self, ifname: str) -> None:
        self.sock = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, socket.htons(0x0800))
        self.sock.bind((ifname, 0))
        self.sock.setblocking(False)

    def segments(self) -> list[tuple[str, str, int, str, int]]:
        """(in|out, source, source port, destination, destination port) seen since the last call."""
        out = []
        while True:
            try:
                ip, addr = self.sock.recvfrom(65535)
            except BlockingIOError:
                return out
            if ip[9] != socket.IPPROTO_TCP:
                continue
            sport, dport = struct.unpack_from("!HH", ip, (ip[0] & 0xF) * 4)
            way = "out" if addr[2] == socket.PACKET_OUTGOING else "in"
            out.append((way, socket.inet_ntoa(ip[12:16]), sport, socket.inet_ntoa(ip[16:20]), dport))

    def close(self) -> None:
        self.sock.close()


def assert_dropped(remote: RemoteHost, capture: Capture, addr: tuple[str, int]) -> None:
    """A connection from remote to addr reaches the host and gets no answer at all."""
    capture.segments()
    with remote.socket() as s:
        assert connect_outcome(s, addr) == "no answer", f"{addr} is reachable from another host"
    seen = capture.segments()
    assert [p for p in seen if p[0] == "in" and p[3:] == addr], f"no SYN for {addr} reached the host: {seen}"
    assert not [p for p in seen if p[0] == "out"], f"the host answered: {seen}"


def udp_round_trip(remote: RemoteHost, sandbox: str, host_port: int) -> tuple[str, bytes, tuple[str, int]]:
    """Remote sends to the host's host_port; a socket in the container's namespace echoes it
    upper-cased. (the source the container saw, the reply, where the reply came from)."""
    with socket_in(sandbox, socket.SOCK_DGRAM) as server, remote.socket(socket.SOCK_DGRAM) as client:
        server.bind(("0.0.0.0", UDP_PORT))
        server.settimeout(0.5)
        client.settimeout(0.5)
        for _ in range(5):
            client.sendto(b"ping", (remote.host_ip, host_port))
            try:
                data, peer = server.recvfrom(100)
            except TimeoutError:
                continue
            server.sendto(data.upper(), peer)
            reply, sender = client.recvfrom(100)
            return peer[0], reply, sender
    raise AssertionError(f"udp to {remote.host_ip}:{host_port} never reached the container")


def test_published_ports_from_another_host(root, busybox, remote: RemoteHost, firewall_backend: str) -> None:
    public, local_only, udp = free_port(), free_port(), free_port(socket.SOCK_DGRAM)
    capture = Capture(remote.host_if)
    try:
        serve("web", busybox, "-p", f"{public}:80", "-p", f"127.0.0.1:{local_only}:80",
              "-p", f"{udp}:{UDP_PORT}/udp", text=PAGE)
        sandbox, ip = ok("inspect", "-f", "{{.NetworkSettings.SandboxKey}} {{.NetworkSettings.IPAddress}}",
                         "web").split()
        # published on every address: the remote host gets the page, tcp and udp
        assert get(remote.socket, (remote.host_ip, public)) == PAGE
        source, reply, sender = udp_round_trip(remote, sandbox, udp)
        assert (source, reply, sender) == (remote.ip, b"PING", (remote.host_ip, udp))

        # published on 127.0.0.1: the host's loopback gets the page, the remote host does not
        assert fetch(f"http://127.0.0.1:{local_only}/") == PAGE + "\n"
        with remote.socket() as s:
            assert connect_outcome(s, (remote.host_ip, local_only)) == "refused"
        remote.sh(f"echo 1 > /proc/sys/net/ipv4/conf/eth0/route_localnet;"
                  f"ip route add 127.0.0.0/8 via {remote.host_ip}")
        assert_dropped(remote, capture, ("127.0.0.1", local_only))

        # not published: the container itself, even with a route to it through the host
        remote.sh(f"ip route add {ip}/32 via {remote.host_ip}")
        assert_dropped(remote, capture, (ip, 80))
    finally:
        capture.close()
        pyns_cli("rm", "-f", "web")
