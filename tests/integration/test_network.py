"""The network layer against the real kernel: bridges, veths, nftables/iptables, namespaces.

No containers: each test makes network namespaces through NetworkManager.setup
and runs real processes in them with nsenter (busybox httpd, python). Every
address a test sends to is an address of a namespace it made, checked to be
inside its own bridge's subnet before any packet leaves. Each test has its
own root, bridge name, subnet and firewall table, and the fixture asserts
that nothing is left: no link, no rule, no namespace file, no allocation.
"""
from __future__ import annotations

import ipaddress
import multiprocessing
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import pytest

from tests.conftest import BUSYBOX, free_port, free_subnet, links, needs_root, ruleset, settled

pytestmark = [needs_root, pytest.mark.root]

PY = sys.executable


@dataclass
class NetEnv:
    """A NetworkManager on a fresh root, with the processes a test started."""

    mgr: object
    root: Path
    bridge: str
    procs: list[subprocess.Popen] = field(default_factory=list)

    def cid(self) -> str:
        return secrets.token_hex(32)

    def safe(self, ip: str) -> str:
        """ip, after checking that it belongs to one of this test's bridges."""
        nets = [ipaddress.IPv4Network(n.subnet) for n in self.mgr.list() if n.subnet]
        assert any(ipaddress.IPv4Address(ip) in n for n in nets), f"{ip} is not on this test's networks"
        return ip

    def spawn(self, netns: str, *argv: str) -> subprocess.Popen:
        p = subprocess.Popen(["nsenter", f"--net={netns}", *argv], stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
        self.procs.append(p)
        return p

    def httpd(self, netns: str, port: int = 80, text: str = "hello") -> None:
        www = self.root / f"www-{secrets.token_hex(3)}"
        www.mkdir()
        (www / "index.html").write_text(text)
        self.spawn(netns, BUSYBOX, "httpd", "-f", "-p", str(port), "-h", str(www))

    def fetch_from(self, netns: str, ip: str, port: int = 80, timeout: float = 3) -> str | None:
        """GET http://ip:port/ from inside netns (retried while the server starts); None if unreachable."""
        deadline = time.monotonic() + timeout
        while True:
            # (busybox 1.35's wget -T crashes: bound it with timeout(1) instead)
            r = subprocess.run(["timeout", "1", "nsenter", f"--net={netns}", BUSYBOX, "wget", "-q", "-O-",
                                f"http://{self.safe(ip)}:{port}/"], capture_output=True, text=True)
            if r.returncode == 0 or time.monotonic() > deadline:
                return r.stdout if r.returncode == 0 else None
            time.sleep(0.1)


def fetch_host(url: str, timeout: float = 3) -> str | None:
    """GET url from the host (loopback or the host's own address), retried while the server starts."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=1) as resp:
                return resp.read().decode()
        except OSError:
            if time.monotonic() > deadline:
                return None
            time.sleep(0.1)


def wait_gone(p: subprocess.Popen) -> None:
    p.kill()
    p.wait(timeout=5)


@pytest.fixture
def net(root: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[NetEnv]:
    from pyns.network import bridge as bridge_mod
    from pyns.network.manager import NetworkManager

    if not os.path.exists(BUSYBOX):
        pytest.skip("busybox-static is not installed")
    name = "pt" + secrets.token_hex(4)
    monkeypatch.setenv("PYNS_BRIDGE", name)
    monkeypatch.setenv("PYNS_BRIDGE_SUBNET", free_subnet())
    links_before = links()
    mgr = NetworkManager(str(root), str(root / "run"))
    env = NetEnv(mgr, root, name)
    try:
        yield env
    finally:
        for p in env.procs:
            if p.poll() is None:
                wait_gone(p)
        mgr.cleanup(keep=())
        nets = [n for n in mgr.list() if n.is_bridge]
        for n in nets:
            bridge_mod.bring_down(n, mgr.netlink, mgr.firewall)
        mgr.firewall.destroy()
        mgr.close()
        leaks = [f"link {name}" for name in links() - links_before]
        if mgr.firewall.ident in ruleset():
            leaks.append(f"rules of {mgr.firewall.ident}")
        netns_dir = root / "run" / "netns"
        leaks += [f"netns {n}" for n in (os.listdir(netns_dir) if netns_dir.exists() else [])]
        assert not leaks, "left behind: " + "; ".join(leaks)


def assert_clean(env: NetEnv, *cids: str) -> None:
    """Nothing of cids remains: record, allocation, namespace file, veth, rule."""
    from pyns.network.manager import host_ifname

    mgr = env.mgr
    alloc = mgr.store.allocations()
    held = set(alloc["ports"].values()) | {c for r in alloc["ipam"].values() for c in r.get("addresses", {}).values()}
    present = settled(lambda: {n for n in links() if any(n == host_ifname(c, net.id) for c in cids
                                                           for net in mgr.list())})
    rules = ruleset()
    for cid in cids:
        assert mgr.attachment(cid) is None
        assert cid not in held
        assert not os.path.lexists(mgr.netns_path(cid))
        assert not any(host_ifname(cid, n.id) in present for n in mgr.list())
        assert cid not in rules


# ------------------------------------------------------------------ tests
def test_two_endpoints_on_default_bridge_talk(net: NetEnv) -> None:
    a, b = net.cid(), net.cid()
    att_a = net.mgr.setup(a, "web", [("bridge", [])], [], a[:12])
    att_b = net.mgr.setup(b, "client", [("bridge", [])], [], b[:12])
    ep_a, ep_b = att_a.primary, att_b.primary
    assert ep_a.ip != ep_b.ip and ep_a.gateway == ep_b.gateway
    assert ep_a.mac == "02:42:" + ":".join(f"{x:02x}" for x in ipaddress.IPv4Address(ep_a.ip).packed)
    assert net.mgr.get("bridge").bridge == net.bridge and net.bridge in links()
    net.httpd(att_a.netns_path, text="from-a")
    assert net.fetch_from(att_b.netns_path, ep_a.ip) == "from-a"
    # eth0 has its address and MAC, lo is up, the default route goes to the gateway
    inside = subprocess.run(["nsenter", f"--net={att_b.netns_path}", "ip", "-o", "addr"],
                            capture_output=True, text=True).stdout
    assert f"{ep_b.ip}/{ep_b.prefixlen}" in inside and "127.0.0.1/8" in inside
    route = subprocess.run(["nsenter", f"--net={att_b.netns_path}", "ip", "route"], capture_output=True,
                           text=True).stdout
    assert f"default via {ep_b.gateway} dev eth0" in route
    for p in net.procs:
        wait_gone(p)
    net.mgr.teardown(a)
    net.mgr.teardown(b)
    net.mgr.teardown(b)  # idempotent
    assert_clean(net, a, b)


def test_user_network_names_resolve_and_networks_are_isolated(net: NetEnv, tmp_path: Path) -> None:
    from pyns.errors import Conflict, NetworkNotFound

    front = net.mgr.create("front-" + secrets.token_hex(3), subnet=free_subnet())
    back = net.mgr.create("back-" + secrets.token_hex(3), subnet=free_subnet())
    web, client, other = net.cid(), net.cid(), net.cid()
    hosts = {c: tmp_path / f"hosts-{c[:6]}" for c in (web, client, other)}
    att_web = net.mgr.setup(web, "web", [(front.name, ["www"])], [], "webhost", hosts_path=str(hosts[web]))
    att_client = net.mgr.setup(client, "client", [(front.name, [])], [], "clienthost",
                               hosts_path=str(hosts[client]))
    att_other = net.mgr.setup(other, "other", [(back.name, [])], [], "otherhost", hosts_path=str(hosts[other]))
    web_ip = att_web.primary.ip
    # the client's hosts file names the web container (and alias), written by setup
    text = hosts[client].read_text()
    assert f"{web_ip}\tweb www {web[:12]}" in text
    assert f"{att_client.primary.ip}\tclienthost client" in text and text.startswith("127.0.0.1\tlocalhost")
    # the web's file was rewritten in place when the client joined
    assert "\tclient" in hosts[web].read_text()
    assert "web" not in hosts[other].read_text().replace("otherhost", "")
    assert net.mgr.hosts_entries(client) == text

    net.httpd(att_web.netns_path, text="by-name")
    # resolve "web" through the hosts file exactly as a container would (own mount namespace)
    empty = tmp_path / "resolv.conf"
    empty.write_text("")
    script = ("import urllib.request;"
              "print(urllib.request.urlopen('http://web/', timeout=2).read().decode())")
    got = None
    for _ in range(30):
        r = subprocess.run(["unshare", "-m", "sh", "-c",
                            f'mount --bind "$0" /etc/hosts && mount --bind "$1" /etc/resolv.conf && '
                            f'exec nsenter --net="$2" {PY} -c "$3"',
                            str(hosts[client]), str(empty), att_client.netns_path, script],
                           capture_output=True, text=True)
        got = r.stdout.strip()
        if got == "by-name":
            break
        time.sleep(0.1)
    assert got == "by-name"
    assert net.fetch_from(att_other.netns_path, web_ip, timeout=1.5) is None  # other network: dropped

    with pytest.raises(Conflict, match="active endpoints"):
        net.mgr.remove(front.name)
    for p in net.procs:
        wait_gone(p)
    net.mgr.teardown(client)
    assert "\tclient" not in hosts[web].read_text()  # peers forget it
    for c in (web, other):
        net.mgr.teardown(c)
    assert_clean(net, web, client, other)
    bridges = {n.bridge for n in (front, back)}
    net.mgr.remove(front.name)
    assert net.mgr.prune() == [back.name]
    assert not bridges & links()
    with pytest.raises(NetworkNotFound):
        net.mgr.get(front.name)


def test_published_ports_reach_the_container(net: NetEnv, firewall_backend: str) -> None:
    cid = net.cid()
    tcp_port, udp_port = free_port(), free_port(socket.SOCK_DGRAM)
    from pyns.options import parse_port

    att = net.mgr.setup(cid, "pub", [("bridge", [])],
                        parse_port(f"{tcp_port}:80") + parse_port("8080") + parse_port(f"{udp_port}:53/udp"), "pub")
    (tcp, rnd, udp) = att.ports
    assert (tcp.host_ip, tcp.host_port, tcp.container_port) == ("0.0.0.0", tcp_port, 80)
    low, high = (int(x) for x in Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split())
    assert low <= rnd.host_port <= high and rnd.container_port == 8080
    net.httpd(att.netns_path, 80, text="published")
    net.httpd(att.netns_path, 8080, text="random")
    assert fetch_host(f"http://127.0.0.1:{tcp_port}/") == "published"
    assert fetch_host(f"http://127.0.0.1:{rnd.host_port}/") == "random"
    host_ip = _host_address()
    if host_ip:
        assert fetch_host(f"http://{host_ip}:{tcp_port}/") == "published"
    # udp: a one-shot echo server inside the namespace
    net.spawn(att.netns_path, PY, "-c",
              "import socket;s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM);s.bind(('0.0.0.0',53));"
              "d,a=s.recvfrom(100);s.sendto(d.upper(),a)")
    reply = None
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(0.2)
        for _ in range(25):
            s.sendto(b"ping", ("127.0.0.1", udp_port))
            try:
                reply = s.recv(100)
                break
            except socket.timeout:
                continue
    assert reply == b"PING"
    settings = net.mgr.inspect_settings(cid, exposed=["443/tcp"])
    assert settings["Ports"]["80/tcp"] == [{"HostIp": "0.0.0.0", "HostPort": str(tcp_port)}]
    assert settings["Ports"]["443/tcp"] is None
    assert settings["IPAddress"] == att.primary.ip and settings["SandboxKey"] == att.netns_path
    assert settings["Networks"]["bridge"]["MacAddress"] == att.primary.mac
    for p in net.procs:
        wait_gone(p)
    net.mgr.teardown(cid)
    assert_clean(net, cid)
    assert fetch_host(f"http://127.0.0.1:{tcp_port}/", timeout=0) is None


def _host_address() -> str | None:
    """The host's own (non-loopback) IPv4 address: traffic to it stays on this machine."""
    out = subprocess.run(["ip", "-o", "-4", "addr", "show", "scope", "global"], capture_output=True,
                         text=True).stdout.split()
    addrs = [out[i + 1].split("/")[0] for i, w in enumerate(out) if w == "inet"]
    return next((a for a in addrs if not a.startswith("10.")), None)


def test_port_conflicts_fail_cleanly(net: NetEnv) -> None:
    from pyns.errors import Conflict
    from pyns.options import parse_port

    port = free_port()
    first = net.cid()
    net.mgr.setup(first, "first", [("bridge", [])], parse_port(f"{port}:80"), "first")
    rules_before = ruleset()
    second = net.cid()
    # pyns's own allocation, also through a specific address
    for spec in (f"{port}:80", f"127.0.0.1:{port}:81"):
        with pytest.raises(Conflict, match="port is already allocated"):
            net.mgr.setup(second, "second", [("bridge", [])], parse_port("9000") + parse_port(spec), "second")
        assert_clean(net, second)
    # a host program listening on the port
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        busy = s.getsockname()[1]
        with pytest.raises(Conflict, match="address already in use"):
            net.mgr.setup(second, "second", [("bridge", [])], parse_port(f"{busy}:80"), "second")
    assert_clean(net, second)
    assert ruleset() == rules_before  # the first container's rules untouched
    # two bindings of one port in one request
    with pytest.raises(Conflict):
        net.mgr.setup(second, "second", [("bridge", [])], parse_port(f"{port + 1}:80") + parse_port(f"{port + 1}:90"),
                      "second")
    assert_clean(net, second)
    net.mgr.teardown(first)
    assert_clean(net, first)


def _setup_in_child(root: str, run_root: str, cid: str, queue: "multiprocessing.Queue[str]") -> None:
    from pyns.network.manager import NetworkManager

    try:
        att = NetworkManager(root, run_root).setup(cid, "c" + cid[:6], [("bridge", [])], [], cid[:12])
        queue.put(att.primary.ip)
    except BaseException as e:  # report, never hang the parent
        queue.put(f"error: {e}")


def test_concurrent_setups_get_distinct_addresses(net: NetEnv) -> None:
    net.mgr.ensure_default()
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    cids = [net.cid() for _ in range(8)]
    procs = [ctx.Process(target=_setup_in_child, args=(str(net.root), str(net.root / "run"), c, queue))
             for c in cids]
    for p in procs:
        p.start()
    ips = [queue.get(timeout=60) for _ in procs]
    for p in procs:
        p.join(timeout=30)
    assert not [i for i in ips if i.startswith("error")], ips
    assert len(set(ips)) == len(cids)
    held = net.mgr.store.allocations()["ipam"][net.mgr.get("bridge").id]["addresses"]
    assert sorted(held) == sorted(ips) and set(held.values()) == set(cids)
    for c in cids:
        net.mgr.teardown(c)
    assert_clean(net, *cids)


def _killed_mid_setup(root: str, run_root: str, cid: str, step: str) -> None:
    from pyns.network import manager as manager_mod
    from pyns.network.manager import NetworkManager
    from pyns.options import parse_port

    def die(*_: object) -> None:
        os.kill(os.getpid(), signal.SIGKILL)

    if step == "namespace":
        manager_mod.netns.create = die  # recorded (address, port, rule), nothing made, then kill -9
    else:
        manager_mod.netlink.configure_inside = die  # veth and namespace exist, then kill -9
    NetworkManager(root, run_root).setup(cid, "victim", [("bridge", [])], parse_port("80"), cid[:12])


@pytest.mark.parametrize("step", ["namespace", "configure"])
def test_teardown_cleans_up_after_kill_9_mid_setup(net: NetEnv, step: str) -> None:
    from pyns.network.manager import host_ifname

    net.mgr.ensure_default()
    cid = net.cid()
    p = multiprocessing.get_context("fork").Process(
        target=_killed_mid_setup, args=(str(net.root), str(net.root / "run"), cid, step))
    p.start()
    p.join(timeout=30)
    assert p.exitcode == -signal.SIGKILL
    assert net.mgr.attachment(cid) is not None and cid in ruleset()
    made = step == "configure"
    assert (host_ifname(cid, net.mgr.get("bridge").id) in links()) == made
    assert os.path.exists(net.mgr.netns_path(cid)) == made
    assert net.mgr.cleanup(keep=()) == [cid]
    assert_clean(net, cid)


def test_teardown_with_wait_deletes_the_veths_before_returning(net: NetEnv) -> None:
    from pyns.network.manager import host_ifname

    a = net.cid()
    net.mgr.setup(a, "a", [("bridge", [])], [], "a")
    veth = host_ifname(a, net.mgr.get("bridge").id)
    assert veth in links()
    net.mgr.teardown(a, wait=True)
    assert veth not in links()  # not left to the kernel's worker
    assert_clean(net, a)


def test_connect_and_disconnect_a_running_endpoint(net: NetEnv, tmp_path: Path) -> None:
    from pyns.errors import Conflict
    from pyns.options import parse_port

    extra = net.mgr.create("extra-" + secrets.token_hex(3), subnet=free_subnet())
    a, b = net.cid(), net.cid()
    hosts_b = tmp_path / "hosts-b"
    att_a = net.mgr.setup(a, "a", [("bridge", [])], parse_port(f"{free_port()}:80"), "a")
    net.mgr.setup(b, "b", [(extra.name, [])], [], "b", hosts_path=str(hosts_b))
    ep = net.mgr.connect(a, extra.name, aliases=["alpha"])
    assert ep.ifname == "eth1" and ep.network_id == extra.id
    inside = subprocess.run(["nsenter", f"--net={att_a.netns_path}", "ip", "-o", "addr"], capture_output=True,
                            text=True).stdout
    assert f"{ep.ip}/24" in inside and "eth1" in inside
    assert f"{ep.ip}\ta alpha {a[:12]}" in hosts_b.read_text()
    with pytest.raises(Conflict):
        net.mgr.connect(a, extra.name)
    assert set(net.mgr.inspect_settings(a)["Networks"]) == {"bridge", extra.name}
    net.mgr.disconnect(a, extra.name)
    assert "alpha" not in hosts_b.read_text()
    assert "eth1" not in subprocess.run(["nsenter", f"--net={att_a.netns_path}", "ip", "-o", "link"],
                                        capture_output=True, text=True).stdout
    with pytest.raises(Conflict):
        net.mgr.disconnect(a, extra.name)
    held = net.mgr.store.allocations()["ipam"].get(extra.id, {}).get("addresses", {})
    assert a not in held.values()
    net.mgr.teardown(a)
    net.mgr.teardown(b)
    assert_clean(net, a, b)
    net.mgr.remove(extra.name)


def test_internal_network_has_no_way_out(net: NetEnv) -> None:
    internal = net.mgr.create("int-" + secrets.token_hex(3), subnet=free_subnet(), internal=True)
    a, b = net.cid(), net.cid()
    att_a = net.mgr.setup(a, "a", [(internal.name, [])], [], "a")
    att_b = net.mgr.setup(b, "b", [(internal.name, [])], [], "b")
    net.httpd(att_a.netns_path, text="inside")
    assert net.fetch_from(att_b.netns_path, att_a.primary.ip) == "inside"
    rules = ruleset()
    assert f"ip saddr {internal.subnet} oifname != \"{internal.bridge}\" masquerade" not in rules
    assert f"iifname \"{internal.bridge}\" oifname != \"{internal.bridge}\" drop" in rules
    for p in net.procs:
        wait_gone(p)
    for c in (a, b):
        net.mgr.teardown(c)
    assert_clean(net, a, b)


def test_setup_heals_a_network_after_its_bridge_and_rules_vanish(net: NetEnv) -> None:
    """What a reboot (or `nft flush ruleset`) does: records stay, kernel objects go."""
    from pyns.options import parse_port

    a = net.cid()
    port = free_port()
    net.mgr.setup(a, "a", [("bridge", [])], [], "a")
    net.mgr.teardown(a)
    subprocess.run(["ip", "link", "del", net.bridge], check=True)
    net.mgr.firewall.destroy()
    att = net.mgr.setup(a, "a", [("bridge", [])], parse_port(f"{port}:80"), "a")
    net.httpd(att.netns_path, text="healed")
    assert fetch_host(f"http://127.0.0.1:{port}/") == "healed"
    for p in net.procs:
        wait_gone(p)
    net.mgr.teardown(a)
    assert_clean(net, a)


def test_teardown_entry_point_for_the_monitor(net: NetEnv) -> None:
    from pyns.options import parse_port

    a = net.cid()
    net.mgr.setup(a, "a", [("bridge", [])], parse_port("80"), "a")
    import pyns  # the same pyns as this test: in place (PYTHONPATH=src) or installed

    pkg_parent = str(Path(pyns.__file__).resolve().parents[1])
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([pkg_parent, os.environ.get("PYTHONPATH", "")]))
    argv = [PY, "-m", "pyns.network", "teardown", "--root", str(net.root), "--run-root", str(net.root / "run"), a]
    for _ in range(2):  # idempotent
        subprocess.run(argv, check=True, env=env, timeout=60)
    assert_clean(net, a)


def test_setup_after_unclean_stop_replaces_the_old_attachment(net: NetEnv) -> None:
    a = net.cid()
    first = net.mgr.setup(a, "a", [("bridge", [])], [], "a")
    second = net.mgr.setup(a, "a", [("bridge", [])], [], "a")  # no teardown in between
    assert second.primary.ip != first.primary.ip or second.primary.endpoint_id != first.primary.endpoint_id
    assert len(net.mgr.store.allocations()["ipam"][net.mgr.get("bridge").id]["addresses"]) == 1
    net.mgr.teardown(a)
    assert_clean(net, a)
