"""Runtime options end to end: namespace modes, capabilities, ulimits, import sources, monitor size."""
from __future__ import annotations

import http.server
import json
import os
import socket
import threading
import time

import pytest

from pyns.errors import InvalidArgument
from tests.conftest import assert_sees_host_links, needs_root, pyns_cli

pytestmark = needs_root


def sh(engine, busybox, script: str, **kw) -> str:
    return engine.containers.run(busybox, ["sh", "-c", script], remove=True, **kw).decode()


def test_host_namespaces_are_shared_only_when_asked(engine, busybox):
    assert int(sh(engine, busybox, "ls /proc | grep -c '^[0-9]'", pid_mode="host")) > 20
    assert_sees_host_links(lambda: set(sh(engine, busybox, "ls /sys/class/net", network_mode="host").split()))
    before = socket.gethostname()
    assert sh(engine, busybox, "hostname", uts_mode="host").strip() == before
    assert socket.gethostname() == before
    # Sharing the host's cgroup namespace shows the real path: the process was
    # in the container's cgroup before exec (the child joins it itself).
    c = engine.containers.create(busybox, ["sh", "-c", "cat /proc/$$/cgroup"], cgroupns="host")
    engine.manager.run_attached(c.id)
    lines = c.logs().decode().splitlines()
    assert any(ln.endswith("/" + c.id) for ln in lines), lines
    c.remove()
    with pytest.raises(InvalidArgument):
        engine.containers.create(busybox, ["true"], pid_mode="container:x")


def test_cap_add_drop_privileged_and_no_new_privileges(engine, busybox):
    def caps(**kw) -> int:
        line = sh(engine, busybox, "grep CapEff /proc/self/status", **kw)
        return int(line.split()[1], 16)

    net_admin, chown, net_raw = 1 << 12, 1 << 0, 1 << 13
    assert caps(cap_add=["NET_ADMIN"]) & net_admin
    c = caps(cap_drop=["chown", "CAP_NET_RAW"])
    assert not c & chown and not c & net_raw
    assert caps(cap_drop=["ALL"]) == 0
    with open("/proc/self/status") as f:
        ours = int(next(ln for ln in f if ln.startswith("CapBnd:")).split()[1], 16)
    assert caps(privileged=True) == ours
    assert sh(engine, busybox, "grep NoNewPrivs /proc/self/status").split()[1] == "0"
    assert sh(engine, busybox, "grep NoNewPrivs /proc/self/status",
              security_opt=["no-new-privileges"]).split()[1] == "1"
    with pytest.raises(InvalidArgument):
        engine.containers.create(busybox, ["true"], cap_add=["NOT_A_CAP"])


def test_ulimits_and_the_hard_limit(engine, busybox):
    assert sh(engine, busybox, "ulimit -n").strip() == "1024"
    assert sh(engine, busybox, "ulimit -n", ulimits=["nofile=512:1024"]).strip() == "512"
    import resource

    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    if hard != resource.RLIM_INFINITY:
        c = engine.containers.create(busybox, ["true"], ulimits=[f"nofile={hard + 1}:{hard + 1}"])
        with pytest.raises(InvalidArgument, match="hard limit"):
            c.start()
        c.remove()


def test_monitor_stays_under_two_mib(engine, busybox, root):
    c = engine.containers.run(busybox, ["sleep", "30"], detach=True)
    try:
        state = json.load(open(os.path.join(root, "containers", c.id, "state.json")))
        with open(f"/proc/{state['OwnerPid']}/status") as f:
            rss_kib = int(next(ln for ln in f if ln.startswith("VmRSS:")).split()[1])
        with open(f"/proc/{state['OwnerPid']}/cmdline", "rb") as f:
            assert b"pyns-monitor" in f.read()
        assert rss_kib <= 2048, rss_kib
    finally:
        c.remove(force=True)


def test_import_from_stdin_and_url_with_changes(root, busybox_tar):
    data = busybox_tar.read_bytes()
    r = pyns_cli("import", "-c", "ENV GREETING=hi", "-c", 'CMD ["sh", "-c", "echo $GREETING"]', "-", "viastdin:1",
                 input=data)
    assert r.returncode == 0, r.stderr
    assert r.stdout.decode().startswith("sha256:")

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *a) -> None:
            pass

    srv = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    try:
        r = pyns_cli("import", f"http://127.0.0.1:{srv.server_port}/rootfs.tar", "viaurl")
        assert r.returncode == 0, r.stderr
    finally:
        srv.shutdown()
    listing = pyns_cli("images").stdout.decode()
    assert "viastdin" in listing and "viaurl" in listing
    r = pyns_cli("run", "--rm", "viastdin:1")
    assert r.stdout == b"hi\n"
    r = pyns_cli("import", "-c", "BOGUS x", "-", input=data)
    assert r.returncode == 125 and r.stderr.startswith(b"Error: ")


def test_ps_format_json_and_template(root, busybox):
    cid = pyns_cli("create", "--name", "fmt", "-l", "a=b", busybox, "true").stdout.decode().strip()
    line = pyns_cli("ps", "-a", "--format", "json").stdout.decode().strip()
    obj = json.loads(line)
    assert obj["ID"] == cid[:12] and obj["Names"] == "fmt" and obj["State"] == "created"
    assert obj["Labels"] == "a=b" and obj["Status"] == "Created"
    assert pyns_cli("ps", "-a", "--format", "{{.Names}} {{.Image}}").stdout == b"fmt busybox\n"
    pyns_cli("rm", "fmt")


def _logs_become(c, want: bytes, timeout: float = 10) -> bytes:
    """The container's log once it reads ``want`` (or whatever it says at the deadline)."""
    deadline = time.monotonic() + timeout
    while (got := c.logs()) != want and time.monotonic() < deadline:
        time.sleep(0.02)
    return got


def test_library_container_api(engine, busybox):
    c = engine.containers.run(busybox, ["sh", "-c", "echo one; sleep 30"], detach=True, name="lib")
    assert engine.containers.get("lib") == c and c.status == "running"
    assert [x.name for x in engine.containers.list()] == ["lib"]
    assert _logs_become(c, b"one\n") == b"one\n"  # started is not yet echoed: wait before stopping it
    c.restart(timeout=0)
    assert c.status == "running"
    assert _logs_become(c, b"one\none\n") == b"one\none\n"
    c.kill()
    assert c.wait(timeout=10)["StatusCode"] == 137
    assert c.logs() == b"one\none\n"
    chunks = list(c.logs(stream=True))
    assert b"".join(chunks) == b"one\none\n"
    c.remove()
    assert engine.containers.list(all=True) == []


def test_a_failing_child_step_is_a_clear_error(engine, busybox):
    from pyns.errors import RuntimeFailure

    c = engine.containers.create(busybox, ["true"], tmpfs={"/scratch": "size=bogus"})
    with pytest.raises(RuntimeFailure) as ei:
        c.start()
    assert ei.value.step == "mount" and ei.value.exit_code == 125
    assert str(ei.value) == "mount: tmpfs on /scratch: Invalid argument"
    c.reload()
    assert c.status == "created" and "tmpfs on /scratch" in c.attrs["State"]["Error"]
    c.remove()


def test_seccomp_default_unconfined_and_custom_profile(engine, busybox, tmp_path):
    def status(script: str, **kw) -> str:
        return sh(engine, busybox, script + " 2>&1; echo rc=$?", **kw)

    out = status("grep Seccomp: /proc/self/status; unshare -U true")
    assert "Seccomp:\t2" in out and "rc=0" not in out
    out = status("mkdir /m; mount -t tmpfs x /m", cap_add=["SYS_ADMIN"], security_opt=["seccomp=unconfined"])
    assert out.strip().endswith("rc=0")
    c = engine.containers.run(busybox, ["sleep", "30"], detach=True)
    try:
        code, out = c.exec_run(["sh", "-c", "grep Seccomp: /proc/self/status"])
        assert b"Seccomp:\t2" in out  # execs get the container's filter too
    finally:
        c.remove(force=True)
    profile = tmp_path / "deny-mkdir.json"
    profile.write_text('{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["mkdir", "mkdirat"], '
                       '"action": "SCMP_ACT_ERRNO", "errnoRet": 13}]}')
    out = status("mkdir /nope", security_opt=[f"seccomp={profile}"])
    assert "Permission denied" in out and "rc=1" in out
    with pytest.raises(InvalidArgument, match="seccomp"):
        engine.containers.create(busybox, ["true"], security_opt=[f"seccomp={tmp_path / 'missing.json'}"])
    with pytest.raises(InvalidArgument):
        engine.containers.create(busybox, ["true"], security_opt=["apparmor=x"])


def test_sysctls_docker_defaults_and_flags(engine, busybox):
    read = "cat /proc/sys/net/ipv4/ip_unprivileged_port_start /proc/sys/net/ipv4/ping_group_range " \
           "/proc/sys/net/ipv4/ip_forward /proc/sys/kernel/shmmni"
    with open("/proc/sys/kernel/shmmni") as f:
        host_shmmni = f.read().strip()
    out = engine.containers.run(busybox, ["sh", "-c", read], remove=True, network_mode="none",
                                sysctls={"net.ipv4.ip_forward": "1", "kernel.shmmni": "1234"})
    assert out.decode().split() == ["0", "0", "2147483647", "1", "1234"]
    with open("/proc/sys/kernel/shmmni") as f:
        assert f.read().strip() == host_shmmni  # the container's ipc namespace only
    # A non-root user binds a low port, as in docker (20.10+).
    out = engine.containers.run(busybox, ["sh", "-c", "nc -l -p 81 & sleep 0.2; netstat -ltn | grep -c :81"],
                                remove=True, network_mode="none", user="1000")
    assert out.decode().strip() == "1"
    r = pyns_cli("run", "--rm", "--sysctl", "kernel.hostname=x", busybox, "true")
    assert r.returncode == 125 and r.stderr.decode() == "Error: sysctl 'kernel.hostname' is not whitelisted\n"
