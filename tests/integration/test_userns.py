"""--userns-remap: container root is an unprivileged host uid, checked from the host.

Both ways of giving a remapped container its image are exercised: idmapped
mounts of the shared layers (this machine's ext4 supports them) and the
chowned per-mapping copies used where a filesystem does not.
"""
from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

import pyns
from pyns.errors import InvalidArgument
from pyns.runtime import idmap
from tests.conftest import free_port, needs_root, pyns_cli
from tests.integration.test_container_network import fetch, ok
from tests.integration.test_escape import run_battery

pytestmark = needs_root


@pytest.fixture(params=["idmap", "copy"])
def layers_mode(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run the test once with idmapped layers, once with chowned copies (the CLI inherits it)."""
    monkeypatch.setenv("PYNS_USERNS_LAYERS", request.param)
    return request.param


@pytest.fixture
def remap(root: Path) -> idmap.IdMap:
    return idmap.resolve("default")


@pytest.fixture
def reng(root: Path, busybox: str) -> pyns.Engine:
    """An engine on the test's root whose new containers are remapped."""
    return pyns.Engine(str(root), userns_remap="default")


def status_ids(pid: int) -> tuple[int, int]:
    fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines())
    return int(fields["Uid"].split()[0]), int(fields["Gid"].split()[0])


def wait_running(c) -> int:
    for _ in range(100):
        c.reload()
        if c.attrs["State"]["Pid"]:
            return int(c.attrs["State"]["Pid"])
        time.sleep(0.02)
    raise AssertionError("container did not start")


def test_root_inside_is_an_unprivileged_uid_on_the_host(reng, busybox, remap, layers_mode):
    c = reng.containers.run(busybox, ["sh", "-c", "echo made > /made; chown 33:33 /made; sleep 60"], detach=True)
    try:
        pid = wait_running(c)
        host_root = remap.host_uid(0)
        assert host_root != 0
        # From the host: the container's process runs as the mapped uid.
        assert status_ids(pid) == (host_root, remap.host_gid(0))
        assert Path(f"/proc/{pid}/uid_map").read_text().split() == ["0", str(host_root), str(remap.uids[0][2])]
        # Inside: root, owning its image's files; a write lands with host ids in the upper dir.
        code, out = c.exec_run(["sh", "-c", "id -u; stat -c '%u %g' /bin/busybox /etc/passwd /dev/null /; "
                                "ls -n /made | cut -c1-30"])
        assert code == 0, out
        lines = out.decode().split("\n")
        assert lines[0] == "0"
        assert lines[1:5] == ["0 0"] * 4
        for _ in range(50):
            made = Path(c.attrs["GraphDriver"]["Data"]["UpperDir"]) / "made"
            if made.exists():
                break
            time.sleep(0.02)
        st = made.stat()
        assert (st.st_uid, st.st_gid) == (remap.host_uid(33), remap.host_gid(33))
        # An exec joins the user namespace too (seen from the host).
        c.exec_run(["sleep", "30"], detach=True)
        for _ in range(100):
            sleepers = [p for p in os.listdir("/proc") if p.isdigit() and p != str(pid)
                        and Path(f"/proc/{p}/cmdline").exists()
                        and _cmdline(p) == ["sleep", "30"]]
            if sleepers:
                break
            time.sleep(0.02)
        assert sleepers and status_ids(int(sleepers[0]))[0] == host_root
    finally:
        c.remove(force=True)
    assert not (Path(reng.root) / "containers" / c.id).exists()


def _cmdline(pid: str) -> list[str]:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")[:-1]
    except OSError:
        return []


def test_a_remapped_tty_belongs_to_the_container_root(reng, busybox):
    c = reng.containers.run(busybox, ["sleep", "60"], detach=True, tty=True)
    try:
        wait_running(c)
        code, out = c.exec_run(["stat", "-c", "%u %n", "/dev/console", "/dev/pts/0", "/dev/ptmx"])
        assert code == 0 and out.decode().split("\n")[:2] == ["0 /dev/console", "0 /dev/pts/0"], out
    finally:
        c.remove(force=True)


def test_export_holds_the_ids_the_container_sees(reng, busybox, remap, tmp_path, layers_mode):
    import tarfile

    c = reng.containers.create(busybox, ["sh", "-c", "mkdir -p /srv/w && chown 33:44 /srv/w"])
    try:
        c.start()
        assert c.wait()["StatusCode"] == 0
        out = tmp_path / "fs.tar"
        with open(out, "wb") as f:
            reng.manager.export(c.id, f.fileno())
        with tarfile.open(out) as t:
            members = {m.name.lstrip("./"): m for m in t.getmembers()}
        assert (members["srv/w"].uid, members["srv/w"].gid) == (33, 44)
        assert (members["bin/busybox"].uid, members["bin/busybox"].gid) == (0, 0)
    finally:
        c.remove(force=True)


def test_copies_are_made_once_per_mapping_and_go_with_their_layer(reng, busybox, remap, monkeypatch):
    monkeypatch.setenv("PYNS_USERNS_LAYERS", "copy")
    out = reng.containers.run(busybox, ["stat", "-c", "%u", "/bin/busybox"], remove=True)
    assert out.decode().strip() == "0"
    base = Path(reng.root) / "remap" / remap.key
    copies = [p for p in base.iterdir() if p.name != "l"]
    assert len(copies) == 1
    busybox_copy = copies[0] / "diff" / "bin" / "busybox"
    assert busybox_copy.stat().st_uid == remap.host_uid(0)
    inode = busybox_copy.stat().st_ino
    reng.containers.run(busybox, ["true"], remove=True)
    assert busybox_copy.stat().st_ino == inode  # reused, not copied again
    # The shared layer itself keeps the image's ids.
    layer = Path(reng.root) / "layers" / copies[0].name / "diff" / "bin" / "busybox"
    assert layer.stat().st_uid == 0
    reng.images.remove(busybox)
    assert [p.name for p in base.iterdir() if p.name != "l"] == []
    assert list((base / "l").iterdir()) == []


def test_escape_battery_with_a_user_namespace(reng, busybox, tmp_path):
    run_battery(reng, busybox, tmp_path / "host-file")


def test_unmapped_container_opts_out_and_refusals(reng, busybox):
    out = reng.containers.run(busybox, ["cat", "/proc/self/uid_map"], remove=True, userns_mode="host")
    assert out.split() == [b"0", b"0", b"4294967295"]
    for kw, msg in (({"privileged": True}, "privileged mode is incompatible with user namespaces"),
                    ({"network_mode": "host"}, "cannot share the host's network namespace"),
                    ({"pid_mode": "host"}, "cannot share the host PID namespace")):
        with pytest.raises(InvalidArgument, match=msg):
            reng.containers.create(busybox, ["true"], **kw)
    with pytest.raises(InvalidArgument, match="invalid --userns value"):
        reng.containers.create(busybox, ["true"], userns_mode="private")
    assert reng.containers.list(all=True) == []


def test_cli_remap_serves_a_low_port_through_the_bridge(root, busybox, remap):
    """A remapped root binds port 80 (docker's unprivileged-port sysctl) and is published."""
    port = free_port()
    name = f"u{os.getpid()}"
    ok("--userns-remap", "default", "run", "-d", "--name", name, "-p", f"127.0.0.1:{port}:80", busybox,
       "sh", "-c", "mkdir -p /www && echo remapped > /www/index.html && httpd -f -p 80 -h /www")
    try:
        assert fetch(f"http://127.0.0.1:{port}/") == "remapped\n"
        pid = int(ok("inspect", "-f", "{{.State.Pid}}", name))
        assert status_ids(pid)[0] == remap.host_uid(0)
        record = json.loads(ok("inspect", name))[0]
        assert record["HostConfig"]["UsernsMode"] == ""
        assert record["UsernsRemap"]["UidMap"] == [list(r) for r in remap.uids]
    finally:
        ok("rm", "-f", name)


def test_cli_errors(root, busybox):
    r = pyns_cli("--userns-remap", "no-such-user-here", "run", "--rm", busybox, "true")
    assert r.returncode == 125
    assert r.stderr.decode().startswith("Error: can't create ID mappings: no subuid ranges found")
    r = pyns_cli("--userns-remap", "default", "run", "--rm", "--privileged", busybox, "true")
    assert r.returncode == 125 and b"privileged mode is incompatible" in r.stderr
    r = pyns_cli("run", "--rm", "--userns", "bogus", busybox, "true")
    assert r.returncode == 125 and b"invalid --userns value" in r.stderr
