"""exec: a process inside a running container, with its namespaces, cgroup and identity."""
from __future__ import annotations

import time

import pytest

from pyns.errors import Conflict, RuntimeFailure
from pyns.runtime.cgroups import detect
from tests.conftest import needs_root, pyns_cli

pytestmark = needs_root


@pytest.fixture
def running(engine, busybox):
    c = engine.containers.run(busybox, ["sleep", "60"], detach=True, cap_drop=["NET_RAW"], hostname="box",
                              environment={"FROM_CONTAINER": "1"}, user="app")
    yield c
    c.remove(force=True)


def test_exec_joins_the_container(running):
    code, out = running.exec_run(["sh", "-c", "echo $$; hostname; grep CapEff /proc/self/status; id -u; "
                                  "echo $FROM_CONTAINER; ls /proc | grep -c '^[0-9]'"])
    pid, host, _, capeff, uid, env, nprocs = out.decode().split()
    assert code == 0
    assert pid != "1" and host == "box" and uid == "1000" and env == "1"
    assert capeff == "0000000000000000"  # non-root user: no effective caps, as for the init
    assert int(nprocs) < 8  # the container's pid namespace, not the host's
    code, out = running.exec_run("cat /proc/1/cmdline")
    assert out == b"sleep\x0060\x00"


def test_exec_runs_in_the_container_cgroup_and_as_requested_user(running):
    c = running
    code, out = c.exec_run(["sh", "-c", "sleep 5 & echo $!"], user="root")
    assert code == 0
    pids = set(detect().open(c.id).pids())
    assert len(pids) >= 2  # init + the exec'd sleep
    code, out = c.exec_run(["sh", "-c", "id -u; pwd; grep CapEff /proc/self/status"], user="root", workdir="/tmp")
    uid, cwd, _, capeff = out.decode().split()
    assert (uid, cwd) == ("0", "/tmp")
    assert int(capeff, 16) == 0xA80425FB & ~(1 << 13)  # the container's set: NET_RAW dropped


def test_exec_exit_codes_and_output_streams(running):
    assert running.exec_run(["sh", "-c", "exit 9"]).exit_code == 9
    code, (out, err) = running.exec_run(["sh", "-c", "echo o; echo e >&2"], demux=True)
    assert (code, out, err) == (0, b"o\n", b"e\n")
    with pytest.raises(RuntimeFailure) as ei:
        running.exec_run(["no-such-thing"])
    assert ei.value.exit_code == 127


def test_exec_output_is_not_in_the_container_log(running):
    running.exec_run(["echo", "from-exec"])
    assert b"from-exec" not in running.logs()


def test_exec_processes_die_with_the_container(engine, busybox):
    c = engine.containers.run(busybox, ["sleep", "60"], detach=True)
    c.exec_run(["sleep", "300"], detach=True)
    time.sleep(0.2)
    assert len(detect().open(c.id).pids()) == 2
    c.kill()
    c.wait(timeout=10)
    deadline = time.monotonic() + 5
    while detect().open(c.id).exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not detect().open(c.id).exists()  # the monitor could remove it: nothing left in it
    c.remove()


def test_exec_on_a_stopped_container_is_refused(engine, busybox):
    c = engine.containers.create(busybox, ["true"])
    with pytest.raises(Conflict, match="is not running"):
        c.exec_run(["true"])
    c.remove()


def test_exec_cli(root, busybox):
    r = pyns_cli("run", "-d", "--name", "target", busybox, "sleep", "60")
    assert r.returncode == 0
    r = pyns_cli("exec", "-e", "X=42", "-w", "/etc", "target", "sh", "-c", "echo $X; pwd; exit 4")
    assert r.returncode == 4 and r.stdout == b"42\n/etc\n"
    r = pyns_cli("exec", "-i", "target", "cat", input=b"piped\n")
    assert r.stdout == b"piped\n"
    r = pyns_cli("exec", "target", "nope")
    assert r.returncode == 127 and b"executable file not found" in r.stderr
    r = pyns_cli("exec", "-u", "ghost", "target", "true")
    assert r.returncode == 125 and b"unable to find user ghost" in r.stderr
    assert pyns_cli("rm", "-f", "target").returncode == 0
