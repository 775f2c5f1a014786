"""Container networking end to end: bridge, user networks, published ports, cleanup."""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from tests.conftest import assert_sees_host_links, links, needs_root, pyns_cli, ruleset, settled

pytestmark = needs_root


def veths() -> set[str]:
    """Host ends of container veths (the test's bridge itself stays until the test ends)."""
    return {name for name in links() if name.startswith("pv")}


def ok(*args: str, **kw) -> str:
    r = pyns_cli(*args, **kw)
    assert r.returncode == 0, (args, r.returncode, r.stderr.decode())
    return r.stdout.decode()


def ip_of(name: str) -> str:
    return ok("inspect", "-f", "{{.NetworkSettings.IPAddress}}", name).strip() or \
        json.loads(ok("inspect", "-f", "{{json .NetworkSettings.Networks}}", name)).popitem()[1]["IPAddress"]


def serve(name: str, image: str, *extra: str, port: int = 80, text: str = "hello") -> None:
    ok("run", "-d", "--name", name, *extra, image, "sh", "-c",
       f"mkdir -p /www && echo {text} > /www/index.html && httpd -f -p {port} -h /www")


def fetch(url: str, timeout: float = 5) -> str | None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=1) as r:
                return r.read().decode()
        except OSError:
            time.sleep(0.05)
    return None


def in_container(image: str, script: str, *extra: str) -> subprocess.CompletedProcess:
    return pyns_cli("run", "--rm", *extra, image, "sh", "-c", script, timeout=30)


def test_default_bridge_two_containers_talk(root, busybox):
    serve("srv", busybox, text="from-srv")
    ip = ip_of("srv")
    assert ip.count(".") == 3
    r = in_container(busybox, f"for i in 1 2 3 4 5; do echo 'GET / HTTP/1.0\r\n\r' | nc {ip} 80 && break; sleep 0.2; done")
    assert b"from-srv" in r.stdout
    # eth0 with an address and a default route; the hosts file names the container
    r = in_container(busybox, "ip -o -4 addr show eth0; ip route | grep default; cat /etc/hosts", "--name", "me")
    out = r.stdout.decode()
    assert "eth0" in out and "default via" in out and " me" in out
    ok("rm", "-f", "srv")


def test_user_network_by_name_and_isolation(root, busybox):
    ok("network", "create", "front")
    ok("network", "create", "back")
    serve("api", busybox, "--network", "front", "--network-alias", "service", text="api-here")
    probe = "for i in 1 2 3 4 5; do echo 'GET / HTTP/1.0\r\n\r' | nc -w 2 {} 80 && break; sleep 0.2; done"
    r = in_container(busybox, probe.format("api"), "--network", "front")
    assert b"api-here" in r.stdout
    r = in_container(busybox, probe.format("service"), "--network", "front")
    assert b"api-here" in r.stdout
    ip = ip_of("api")
    r = in_container(busybox, f"echo 'GET / HTTP/1.0\r\n\r' | nc -w 2 {ip} 80", "--network", "back")
    assert b"api-here" not in r.stdout
    r = pyns_cli("network", "rm", "front")
    assert r.returncode == 1 and b"in use" in r.stderr.lower() or b"active endpoints" in r.stderr
    ok("rm", "-f", "api")
    ok("network", "rm", "front", "back")


def test_published_ports_tcp_random_and_all(root, busybox, busybox_tar):
    serve("web", busybox, "-p", "18080:80", text="published")
    assert fetch("http://127.0.0.1:18080/") == "published\n"
    row = ok("ps").splitlines()[1]
    assert "0.0.0.0:18080->80/tcp" in row
    assert ok("port", "web").strip() == "80/tcp -> 0.0.0.0:18080"
    ok("rm", "-f", "web")
    assert fetch("http://127.0.0.1:18080/", timeout=0.5) is None  # the rule went with the container

    serve("rnd", busybox, "-p", "80", text="random")
    host_port = ok("port", "rnd", "80").strip().rsplit(":", 1)[1]
    assert fetch(f"http://127.0.0.1:{host_port}/") == "random\n"
    ok("rm", "-f", "rnd")

    ok("import", "-c", "EXPOSE 80", "-c", "EXPOSE 81/udp", "-", "exposing", input=busybox_tar.read_bytes())
    serve("all", "exposing", "-P", text="all")
    ports = ok("port", "all")
    assert "80/tcp -> 0.0.0.0:" in ports and "81/udp -> 0.0.0.0:" in ports
    tcp_port = [ln for ln in ports.splitlines() if ln.startswith("80/tcp")][0].rsplit(":", 1)[1]
    assert fetch(f"http://127.0.0.1:{tcp_port}/") == "all\n"
    ok("rm", "-f", "all")


UDP_RECEIVER = r"""
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>
int main(int argc, char **argv) {
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_port = htons(atoi(argv[1]));
    if (bind(s, (struct sockaddr *)&a, sizeof a) < 0) { perror("bind"); return 1; }
    char buf[512];
    for (;;) {
        ssize_t n = recv(s, buf, sizeof buf, 0);
        if (n > 0) { fwrite(buf, 1, (size_t)n, stdout); fflush(stdout); }
    }
}
"""


def test_udp_port(root, busybox, tmp_path):
    # busybox-static has no UDP server applet: a tiny static one, bind-mounted in.
    src = tmp_path / "udprecv.c"
    src.write_text(UDP_RECEIVER)
    exe = tmp_path / "bin" / "udprecv"
    exe.parent.mkdir()
    subprocess.run(["gcc", "-static", "-O1", "-o", str(exe), str(src)], check=True)
    ok("run", "-d", "--name", "udp", "-p", "18081:9999/udp", "-v", f"{exe.parent}:/opt:ro", busybox,
       "/opt/udprecv", "9999")
    assert ok("port", "udp").strip() == "9999/udp -> 0.0.0.0:18081"
    deadline = time.monotonic() + 10
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        while b"datagram" not in pyns_cli("logs", "udp").stdout and time.monotonic() < deadline:
            s.sendto(b"datagram\n", ("127.0.0.1", 18081))
            time.sleep(0.2)
    assert b"datagram" in pyns_cli("logs", "udp").stdout
    ok("rm", "-f", "udp")


def test_port_conflict_is_clear_and_leaves_nothing(root, busybox):
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("0.0.0.0", 0))
        s.listen()
        taken = s.getsockname()[1]
        before = veths()
        r = pyns_cli("run", "-d", "--name", "clash", "-p", f"{taken}:80", busybox, "sleep", "30")
        assert r.returncode == 125 and r.stderr.startswith(b"Error: ") and str(taken).encode() in r.stderr
        assert not settled(lambda: veths() - before)
    assert "Up" not in ok("ps", "-a")
    ok("rm", "-f", "clash")


@pytest.mark.parametrize("how", ["stop", "rm", "kill-monitor", "kill-cli"])
def test_nothing_left_after(root, busybox, how):
    before = veths()
    if how == "kill-cli":
        p = subprocess.Popen([sys.executable, "-m", "pyns.cli.main", "run", "--name", "victim", "-p", "18082:80",
                              busybox, "sh", "-c", "echo ready; sleep 60"], stdout=subprocess.PIPE)
        assert p.stdout.readline() == b"ready\n"
        p.kill()
        p.wait()
    else:
        ok("run", "-d", "--name", "victim", "-p", "18082:80", busybox, "sleep", "60")
    cid = ok("inspect", "-f", "{{.Id}}", "victim").strip()
    assert len(veths() - before) >= 1 or how == "kill-cli"
    if how == "stop":
        ok("stop", "-t", "0", "victim")
        assert not settled(lambda: veths() - before, 10)  # the monitor's on-exit teardown
        assert cid not in ruleset()
    elif how == "kill-monitor":
        state = json.load(open(os.path.join(root, "containers", cid, "state.json")))
        os.kill(state["OwnerPid"], signal.SIGKILL)
    ok("rm", "-f", "victim")
    assert not settled(lambda: veths() - before)
    assert cid not in ruleset()
    alloc = json.load(open(os.path.join(root, "network", "allocations.json")))
    assert cid not in json.dumps(alloc)
    assert not os.listdir(os.path.join(root, "run", "netns"))


def test_network_none_host_and_container_modes(root, busybox):
    r = in_container(busybox, "ls /sys/class/net", "--network", "none")
    assert r.stdout.split() == [b"lo"]
    assert_sees_host_links(
        lambda: set(in_container(busybox, "ls /sys/class/net", "--network", "host").stdout.decode().split()))
    serve("base", busybox, text="shared")
    r = in_container(busybox, "echo 'GET / HTTP/1.0\r\n\r' | nc 127.0.0.1 80", "--network", "container:base")
    assert b"shared" in r.stdout
    r = pyns_cli("run", "--rm", "-p", "80", "--network", "none", busybox, "true")
    assert r.returncode == 125
    ok("rm", "-f", "base")
