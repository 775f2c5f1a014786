"""Another host on a link to this one, for tests that must not leave the machine.

A "remote host" is a network namespace of the test's own, joined to the
host's init namespace by a veth pair carrying a /30 from 198.18.0.0/15
(RFC 2544's benchmarking range, never routed on real networks), picked
at random and checked against every host route so parallel tests and
runs never collide. Packets from it enter the host through a
non-loopback, non-bridge interface, exactly like packets from a
neighbour on a LAN; the only addresses it can reach are the host's ones
and what the host routes for it.

Sockets are opened inside the namespace from a short-lived thread that
setns(2)s into it (a socket stays in the namespace it was created in), so
the test drives the remote side in-process, without a helper process and
its interpreter start-up.
"""
from __future__ import annotations

import contextlib
import ctypes
import ipaddress
import os
import secrets
import socket
import subprocess
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from tests.conftest import free_subnet, links

CLONE_NEWNET = 0x40000000
BENCHMARK_RANGE = "198.18.0.0/15"


def socket_in(netns: str, kind: int = socket.SOCK_STREAM) -> socket.socket:
    """An IPv4 socket created inside the network namespace file netns."""
    made: list[socket.socket | BaseException] = []

    def enter() -> None:  # this thread only; it ends in netns, which is harmless
        try:
            fd = os.open(netns, os.O_RDONLY | os.O_CLOEXEC)
            try:
                if ctypes.CDLL(None, use_errno=True).setns(fd, CLONE_NEWNET) != 0:
                    raise OSError(ctypes.get_errno(), f"setns {netns}")
            finally:
                os.close(fd)
            made.append(socket.socket(socket.AF_INET, kind))
        except BaseException as e:  # re-raised in the caller
            made.append(e)

    t = threading.Thread(target=enter)
    t.start()
    t.join()
    if isinstance(made[0], BaseException):
        raise made[0]
    return made[0]


def _run(*argv: str) -> None:
    r = subprocess.run(argv, capture_output=True, text=True)
    assert r.returncode == 0, f"{' '.join(argv)}: {r.stderr.strip()}"


@dataclass(frozen=True)
class RemoteHost:
    netns: str    # the namespace file (an nsfs bind mount)
    host_if: str  # the host's end of the link, in the init namespace
    host_ip: str  # the host's address on the link
    ip: str       # the remote host's address

    def sh(self, script: str) -> None:
        """Run a shell script (ip, sysctl) inside the remote host."""
        _run("nsenter", f"--net={self.netns}", "sh", "-ec", script)

    def socket(self, kind: int = socket.SOCK_STREAM) -> socket.socket:
        return socket_in(self.netns, kind)


@contextlib.contextmanager
def remote_host(workdir: Path) -> Iterator[RemoteHost]:
    """A remote host, removed on exit (even when the body fails): link, address, namespace.

    Its lo stays down, so it has no 127.0.0.0/8 of its own and a test may
    route that range to the host, as a hostile neighbour would.
    """
    link = ipaddress.IPv4Network(free_subnet(BENCHMARK_RANGE, 30))
    host_ip, ip = (str(a) for a in link.hosts())
    name = "rh" + secrets.token_hex(4)
    netns = workdir / f"{name}.netns"
    netns.touch()
    try:
        _run("unshare", f"--net={netns}", "true")
        _run("ip", "link", "add", name, "type", "veth", "peer", "name", "eth0", "netns", str(netns))
        _run("ip", "addr", "add", f"{host_ip}/30", "dev", name)
        _run("ip", "link", "set", name, "up")
        remote = RemoteHost(str(netns), name, host_ip, ip)
        remote.sh(f"ip addr add {ip}/30 dev eth0; ip link set eth0 up")
        yield remote
    finally:
        # Deleting the host end takes the peer with it, synchronously; the
        # namespace then goes with its last reference, the bind mount.
        subprocess.run(["ip", "link", "del", name], capture_output=True)
        subprocess.run(["umount", str(netns)], capture_output=True)
        netns.unlink(missing_ok=True)
    assert name not in links(), f"link {name} left behind"
    with open("/proc/self/mountinfo", encoding="utf-8") as f:
        assert str(netns) not in f.read(), f"namespace mount {netns} left behind"
