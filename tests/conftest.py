"""Shared fixtures: a fresh engine root per test, a busybox image, leak checks.

Every integration test gets its own PYNS_ROOT (a tmp dir) and its own
cgroup parent (PYNS_CGROUP_PARENT=pyns-test-<random>), and after it ends
the fixture asserts that nothing is left on the host: no mount under the
root, no cgroup under the parent, no process started from the root.
"""
from __future__ import annotations

import faulthandler
import os
import secrets
import shutil
import signal
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable, Iterator

import pytest

# .ci/run's watchdog sends SIGUSR1 to a suite that has run too long: every thread's stack goes to the
# file it names (pytest's capture owns stderr's descriptor while a test runs).
if os.environ.get("PYNS_TEST_STACKS"):
    faulthandler.register(signal.SIGUSR1, file=open(os.environ["PYNS_TEST_STACKS"], "a"), all_threads=True)

REPO = Path(__file__).resolve().parent.parent
IS_ROOT = os.geteuid() == 0
BUSYBOX = "/bin/busybox"

needs_root = pytest.mark.skipif(not IS_ROOT, reason="needs root (namespaces, mounts, cgroups)")


@pytest.fixture(scope="session")
def busybox_tar(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A busybox rootfs tarball built once per session from busybox-static."""
    if not os.path.exists(BUSYBOX):
        pytest.skip("busybox-static is not installed (make deps installs it)")
    sys.path.insert(0, str(REPO / "scripts"))
    try:
        import busybox_rootfs
    finally:
        sys.path.pop(0)
    out = tmp_path_factory.mktemp("assets") / "busybox.tar"
    busybox_rootfs.build(str(out), BUSYBOX)
    return out


def _cgroup_dirs(parent: str) -> list[str]:
    found = []
    base = Path("/sys/fs/cgroup")
    for p in [base / parent, *base.glob(f"*/{parent}")]:
        if p.exists():
            found.append(str(p))
    return found


def _processes_mentioning(text: str) -> list[str]:
    out = []
    for d in Path("/proc").iterdir():
        if not d.name.isdigit() or int(d.name) == os.getpid():
            continue
        try:
            cmd = (d / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if text in cmd:
            out.append(f"{d.name}: {cmd.strip()}")
    return out


def _mounts_under(path: str) -> list[str]:
    with open("/proc/self/mountinfo", encoding="utf-8") as f:
        return [ln.split()[4] for ln in f if path in ln.split()[4]]


def links() -> set[str]:
    return set(os.listdir("/sys/class/net"))


def ruleset() -> str:
    """The firewall's rules as text (iptables-save's dated comment lines left out, so it compares)."""
    nft = subprocess.run(["nft", "list", "ruleset"], capture_output=True, text=True).stdout
    ipt = subprocess.run(["iptables-save"], capture_output=True, text=True).stdout
    return nft + "".join(ln + "\n" for ln in ipt.splitlines() if not ln.startswith("#"))


def free_subnet(pool: str = "", prefixlen: int = 24) -> str:
    """A random subnet that no host route (other tests' bridges and links included)
    overlaps: a /prefixlen of pool, or by default a 10.x.y.0/24 with x in 100-250."""
    import ipaddress
    import random

    from pyns.network.netlink import Netlink

    nl = Netlink()
    try:
        taken = nl.routes()
    finally:
        nl.close()
    for _ in range(10_000):  # a host route over the whole pool must fail the test, not spin forever
        if pool:
            net = random.choice(list(ipaddress.IPv4Network(pool).subnets(new_prefix=prefixlen)))
        else:
            net = ipaddress.IPv4Network(f"10.{random.randint(100, 250)}.{random.randint(0, 255)}.0/24")
        if not any(net.overlaps(t) for t in taken):
            return str(net)
    raise RuntimeError(f"no free /{prefixlen} in {pool or '10.100-250.x'}: host routes cover it all")


def free_port(kind: int = socket.SOCK_STREAM) -> int:
    """A host port nothing listens on now (tcp or udp)."""
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("0.0.0.0", 0))
        return s.getsockname()[1]


def settled(probe, timeout: float = 5.0):
    """probe() once it is empty/false, or its last value after timeout: the
    kernel destroys a dropped network namespace (and its veths) in a worker."""
    deadline = time.monotonic() + timeout
    value = probe()
    while value and time.monotonic() < deadline:
        time.sleep(0.05)
        value = probe()
    return value


def links_of(bridges: set[str]) -> set[str]:
    """The bridges that exist and every link enslaved to one of them."""
    out = set()
    for name in links():
        try:
            master = os.path.basename(os.readlink(f"/sys/class/net/{name}/master"))
        except OSError:
            master = ""
        if name in bridges or master in bridges:
            out.add(name)
    return out


def assert_sees_host_links(listing: Callable[[], set[str]]) -> None:
    """What listing() (a --network host container's /sys/class/net) shows is the
    host's links, allowing for veths of earlier tests that the kernel's
    worker is still deleting: it lies between a host read before and after."""
    before = set(os.listdir("/sys/class/net"))
    seen = listing()
    after = set(os.listdir("/sys/class/net"))
    assert before & after <= seen <= before | after, (seen, before, after)


def network_teardown(root: Path, run_root: Path) -> list[str]:
    """Remove the test root's networks (bridges, firewall table) and report
    what the test left: veths on its bridges, pyns rules of this root,
    netns files. Only this root's links count: other work on the machine
    may create and delete links of its own meanwhile."""
    if not (root / "network").exists():
        return []
    from pyns.network import bridge as bridge_mod
    from pyns.network.manager import NetworkManager

    mgr = NetworkManager(str(root), str(run_root))
    leaks = []
    try:
        bridges = {n.bridge for n in mgr.list() if n.is_bridge}
        leaks += [f"link {n}" for n in sorted(settled(lambda: links_of(bridges) - bridges))]
        held = {a.cid for a in mgr.store.attachments()}
        leaks += [f"network attachment of {c[:12]}" for c in held]
        mgr.cleanup(keep=())
        for n in [n for n in mgr.list() if n.is_bridge]:
            bridge_mod.bring_down(n, mgr.netlink, mgr.firewall)
        mgr.firewall.destroy()
    finally:
        mgr.close()
    leaks += [f"link {n}" for n in sorted(settled(lambda: links_of(bridges)))]
    if mgr.firewall.ident in ruleset():
        leaks.append(f"rules of {mgr.firewall.ident}")
    netns_dir = run_root / "netns"
    leaks += [f"netns {n}" for n in (os.listdir(netns_dir) if netns_dir.exists() else [])]
    return leaks


@pytest.fixture
def root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A fresh PYNS_ROOT, cgroup parent and default bridge; checks for leaks afterwards."""
    r = tmp_path / "pyns-root"
    r.mkdir()
    parent = f"pyns-test-{secrets.token_hex(4)}"
    monkeypatch.setenv("PYNS_ROOT", str(r))
    monkeypatch.setenv("PYNS_CGROUP_PARENT", parent)
    if IS_ROOT:
        monkeypatch.setenv("PYNS_BRIDGE", "pt" + secrets.token_hex(4))
        monkeypatch.setenv("PYNS_BRIDGE_SUBNET", free_subnet())
    yield r
    leaks: list[str] = []
    # Give monitors a moment to finish their own cleanup after a test's last rm.
    deadline = time.monotonic() + 5
    while True:
        procs = _processes_mentioning(str(r))
        if not procs or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    leaks += [f"process {p}" for p in procs]
    if IS_ROOT:
        leaks += network_teardown(r, r / "run")
    leaks += [f"mount {m}" for m in _mounts_under(str(r))]
    if not stat.S_ISCHR(os.stat("/dev/null").st_mode):  # a host node replaced by a file
        leaks.append("the host's /dev/null is no longer a device")
    cgs = _cgroup_dirs(parent)
    leaks += [f"cgroup {c}" for c in cgs]
    # Clean up whatever leaked so one failure does not cascade, then fail.
    for p in procs:
        try:
            os.kill(int(p.split(":")[0]), 9)
        except (ProcessLookupError, ValueError):
            pass
    for c in sorted(cgs, key=len, reverse=True):
        for sub in sorted(Path(c).glob("**/"), key=lambda p: len(str(p)), reverse=True):
            try:
                os.rmdir(sub)
            except OSError:
                pass
    shutil.rmtree(r, ignore_errors=True)
    assert not leaks, "left behind: " + "; ".join(leaks)


@pytest.fixture(params=["nftables", "iptables"])
def firewall_backend(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run the test once per packet-filter backend (the CLI inherits PYNS_FIREWALL)."""
    monkeypatch.setenv("PYNS_FIREWALL", request.param)
    return request.param


@pytest.fixture
def engine(root: Path):
    import pyns

    return pyns.Engine(str(root))


@pytest.fixture
def busybox(engine, busybox_tar: Path) -> str:
    """Import the busybox rootfs as image 'busybox:latest' into the test's root."""
    with open(busybox_tar, "rb") as f:
        engine.image_store.import_tarball(f, "busybox:latest")
    return "busybox"


def pyns_cli(*args: str, input: bytes | None = None, timeout: float = 60, check: bool = False,
             env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """Run the pyns CLI (this Python, the package under test) and capture its output."""
    return subprocess.run([sys.executable, "-m", "pyns.cli.main", *args], input=input, capture_output=True,
                          timeout=timeout, check=check, env=env)
