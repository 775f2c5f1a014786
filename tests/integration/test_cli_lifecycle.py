"""The docker-style CLI end to end: lifecycle verbs, output, exit codes."""
from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time

import pytest

from tests.conftest import needs_root, pyns_cli

pytestmark = needs_root


def ok(*args: str, **kw) -> str:
    r = pyns_cli(*args, **kw)
    assert r.returncode == 0, (args, r.returncode, r.stderr.decode())
    return r.stdout.decode()


def test_run_detached_ps_stop_start_logs_rm(root, busybox):
    cid = ok("run", "-d", "--name", "ticker", busybox, "sh", "-c",
             "echo start; trap 'echo bye; exit 3' TERM; while true; do sleep 0.1; done").strip()
    assert re.fullmatch(r"[0-9a-f]{64}", cid)
    ps = ok("ps")
    header, row = ps.splitlines()
    assert header.split() == ["CONTAINER", "ID", "IMAGE", "COMMAND", "CREATED", "STATUS", "PORTS", "NAMES"]
    assert row.startswith(cid[:12]) and "busybox" in row and "Up " in row and row.endswith("ticker")
    assert ok("stop", "-t", "5", "ticker").strip() == "ticker"
    assert ok("ps", "-q") == ""
    row = ok("ps", "-a").splitlines()[1]
    assert "Exited (3)" in row and " ago" in row
    assert ok("logs", "ticker").split() == ["start", "bye"]
    ok("start", "ticker")
    assert ok("inspect", "-f", "{{.State.Running}}", "ticker").strip() == "true"
    r = pyns_cli("rm", "ticker")
    assert r.returncode == 1 and b"You cannot remove a running container" in r.stderr
    assert ok("rm", "-f", cid[:8]).strip() == cid[:8]
    assert ok("ps", "-a", "-q") == ""


@pytest.mark.parametrize("cmd,code", [
    (["true"], 0),
    (["sh", "-c", "exit 7"], 7),
    (["/etc/passwd"], 126),
    (["no-such-command"], 127),
    (["sh", "-c", "sh -c 'kill -9 $$'; exit $?"], 137),
])
def test_run_exit_codes(root, busybox, cmd, code):
    r = pyns_cli("run", "--rm", busybox, *cmd)
    assert r.returncode == code, r.stderr
    if code == 127:
        assert r.stderr.decode().strip() == 'Error: exec: "no-such-command": executable file not found in $PATH'
    if code == 126:
        assert "permission denied" in r.stderr.decode()
    assert ok("ps", "-a", "-q") == ""


def test_foreground_output_and_stdin(root, busybox):
    r = pyns_cli("run", "--rm", "-i", busybox, "sh", "-c", "cat; echo err >&2", input=b"from stdin\n")
    assert r.returncode == 0
    assert r.stdout == b"from stdin\n" and r.stderr == b"err\n"


def test_logs_tail_timestamps_and_streams(root, busybox):
    ok("run", "--name", "talker", busybox, "sh", "-c", "echo a; sleep 0.1; echo b >&2; sleep 0.1; echo c")
    r = pyns_cli("logs", "talker")
    assert r.stdout == b"a\nc\n" and r.stderr == b"b\n"
    assert ok("logs", "--tail", "1", "talker") == "c\n"
    line = ok("logs", "-t", "--tail", "1", "talker")
    assert re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z c$", line.strip())
    ok("rm", "talker")


def test_logs_follow_ends_when_container_exits(root, busybox):
    ok("run", "-d", "--name", "follow", busybox, "sh", "-c", "for i in 1 2 3; do echo $i; sleep 0.2; done")
    r = pyns_cli("logs", "-f", "follow", timeout=20)
    assert r.stdout.split() == [b"1", b"2", b"3"]
    ok("rm", "follow")


def test_name_conflict_unknown_container_and_image(root, busybox):
    ok("create", "--name", "dup", busybox, "true")
    r = pyns_cli("create", "--name", "dup", busybox, "true")
    assert r.returncode == 125
    assert b'The container name "/dup" is already in use' in r.stderr
    r = pyns_cli("stop", "nope")
    assert r.returncode == 1 and r.stderr.strip() == b"Error: No such container: nope"
    r = pyns_cli("run", "--rm", "--pull", "never", "no-such-image", "true")  # no lookup outside loopback
    assert r.returncode == 125 and r.stderr.strip() == b"Error: No such image: no-such-image:latest"
    r = pyns_cli("run", "--memory", "lots", busybox, "true")
    assert r.returncode == 125 and r.stderr.startswith(b"Error: ")
    r = pyns_cli("run", "--bogus-flag", busybox)
    assert r.returncode == 125 and r.stderr.startswith(b"Error: ")
    ok("rm", "dup")


def test_start_keeps_the_writable_layer(root, busybox):
    ok("run", "--name", "keep", busybox, "sh", "-c", "echo persisted > /state")
    ok("start", "-a", "keep")
    r = pyns_cli("start", "-a", "keep")
    assert r.returncode == 0
    cid = ok("inspect", "-f", "{{.Id}}", "keep").strip()
    out = ok("run", "--rm", busybox, "true")
    assert out == ""
    ok("create", "--name", "reader", busybox, "cat", "/state")
    r = pyns_cli("start", "-a", "reader")
    assert r.returncode == 1  # a different container has its own layer
    c = ok("run", "--name", "again", busybox, "sh", "-c", "test -e /state && echo yes || echo no")
    assert c.strip() == "no"
    ok("rm", "keep", "reader", "again")
    assert cid


def test_start_a_after_writing_then_reading_same_container(root, busybox):
    ok("create", "--name", "rw", busybox, "sh", "-c", "cat /f 2>/dev/null; cat /proc/sys/kernel/random/uuid > /f")
    first = pyns_cli("start", "-a", "rw")
    second = pyns_cli("start", "-a", "rw")
    assert first.stdout == b"" and len(second.stdout.strip()) == 36
    ok("rm", "rw")


def test_inspect_shape(root, busybox):
    cid = ok("create", "--name", "insp", "-e", "A=1", "-m", "64m", "--stop-signal", "SIGINT", busybox, "sleep", "9").strip()
    data = json.loads(ok("inspect", "insp"))
    assert len(data) == 1
    c = data[0]
    assert c["Id"] == cid and c["Name"] == "/insp"
    assert c["State"]["Status"] == "created" and c["State"]["Running"] is False
    for k in ("Pid", "ExitCode", "OOMKilled", "StartedAt", "FinishedAt"):
        assert k in c["State"]
    assert c["Config"]["Cmd"] == ["sleep", "9"] and "A=1" in c["Config"]["Env"]
    assert c["Config"]["StopSignal"] == "SIGINT"
    assert c["HostConfig"]["Memory"] == 64 << 20
    assert c["Path"] == "sleep" and c["Args"] == ["9"]
    ok("rm", "insp")


def test_wait_and_kill(root, busybox):
    ok("run", "-d", "--name", "waiter", busybox, "sleep", "60")
    waiter = subprocess.Popen([sys.executable, "-m", "pyns.cli.main", "wait", "waiter"], stdout=subprocess.PIPE)
    time.sleep(0.3)
    ok("kill", "-s", "TERM", "waiter")  # pid 1 ignores TERM without a handler: nothing happens
    time.sleep(0.3)
    assert waiter.poll() is None
    ok("kill", "waiter")
    out, _ = waiter.communicate(timeout=20)
    assert out.strip() == b"137"
    r = pyns_cli("kill", "waiter")
    assert r.returncode == 1 and b"is not running" in r.stderr
    ok("rm", "waiter")


def test_stop_timeout_then_sigkill_and_init(root, busybox):
    ok("run", "-d", "--name", "stubborn", busybox, "sleep", "60")
    t = time.monotonic()
    ok("stop", "-t", "1", "stubborn")
    assert 0.9 < time.monotonic() - t < 8
    assert ok("inspect", "-f", "{{.State.ExitCode}}", "stubborn").strip() == "137"
    # With --init, SIGTERM reaches sleep through the init and stops it at once.
    ok("run", "-d", "--init", "--name", "polite", busybox, "sleep", "60")
    assert ok("top", "polite").count("\n") >= 3  # title + init + sleep
    t = time.monotonic()
    ok("stop", "-t", "20", "polite")
    assert time.monotonic() - t < 15  # well under the 20 s timeout: SIGTERM did it
    assert ok("inspect", "-f", "{{.State.ExitCode}}", "polite").strip() == "143"
    ok("rm", "stubborn", "polite")


def test_foreground_run_forwards_sigint(root, busybox):
    p = subprocess.Popen([sys.executable, "-m", "pyns.cli.main", "run", "--rm", busybox, "sh", "-c",
                          "trap 'echo got-int; exit 42' INT; echo ready; while true; do sleep 0.1; done"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert p.stdout.readline() == b"ready\n"
    p.send_signal(signal.SIGINT)
    out, err = p.communicate(timeout=20)
    assert p.returncode == 42, err
    assert out == b"got-int\n"


def test_a_reader_that_goes_away_breaks_the_containers_stream(root, busybox):
    """`pyns run IMG yes | head -2` ends, as `yes | head -2` does: the
    container's stdout breaks when our reader closes (SIGPIPE for a child of
    the shell, EPIPE for pid 1, which ignores SIGPIPE), and --rm removes it."""
    for cmd, code in ((["yes"], 1), (["sh", "-c", "yes; echo yes-got-$? >&2"], 0)):
        p = subprocess.Popen([sys.executable, "-m", "pyns.cli.main", "run", "--rm", "--name", "piped", busybox, *cmd],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        assert p.stdout.read(4) == b"y\ny\n"
        p.stdout.close()
        err = p.stderr.read()
        assert p.wait(timeout=20) == code, err
        if cmd[0] == "sh":
            assert b"yes-got-141" in err  # killed by SIGPIPE, like in a shell pipeline
        assert "piped" not in ok("ps", "-a")


def test_killed_cli_leaves_a_removable_container(root, busybox):
    p = subprocess.Popen([sys.executable, "-m", "pyns.cli.main", "run", "--name", "orphan", busybox, "sh", "-c",
                          "echo ready; sleep 60"], stdout=subprocess.PIPE)
    assert p.stdout.readline() == b"ready\n"
    p.kill()
    p.wait()
    deadline = time.monotonic() + 10
    while "Exited" not in ok("ps", "-a") and time.monotonic() < deadline:
        time.sleep(0.1)
    assert "orphan" in ok("ps", "-a") and "Exited" in ok("ps", "-a")
    ok("rm", "-f", "orphan")


def test_killed_monitor_leaves_a_removable_container(root, busybox):
    cid = ok("run", "-d", "--name", "mon", busybox, "sleep", "60").strip()
    state = json.load(open(os.path.join(root, "containers", cid, "state.json")))
    os.kill(state["OwnerPid"], signal.SIGKILL)
    deadline = time.monotonic() + 10
    while "Exited" not in ok("ps", "-a") and time.monotonic() < deadline:
        time.sleep(0.1)
    assert "Exited (137)" in ok("ps", "-a")
    ok("rm", "-f", "mon")


def test_detached_rm_removes_itself(root, busybox):
    ok("run", "-d", "--rm", "--name", "gone", busybox, "sh", "-c", "sleep 0.2")
    deadline = time.monotonic() + 15
    while ok("ps", "-a", "-q") and time.monotonic() < deadline:
        time.sleep(0.1)
    assert ok("ps", "-a", "-q") == ""


def test_concurrent_creates_with_one_name(root, busybox):
    procs = [subprocess.Popen([sys.executable, "-m", "pyns.cli.main", "create", "--name", "race", busybox, "true"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(4)]
    codes = [p.wait(timeout=60) for p in procs]
    assert sorted(codes) == [0, 125, 125, 125]
    assert len(ok("ps", "-a", "-q").split()) == 1
    ok("rm", "race")


def test_env_file_workdir_user_entrypoint(root, busybox, tmp_path):
    envf = tmp_path / "env"
    envf.write_text("# comment\nFOO=bar baz\n\nEMPTY=\n")
    out = ok("run", "--rm", "--env-file", str(envf), "-e", "X=1", "-w", "/srv", "-u", "app",
             "--entrypoint", "sh", busybox, "-c", "echo $FOO/$X/$EMPTY/; pwd; id -un")
    assert out.split("\n")[:3] == ["bar baz/1//", "/srv", "app"]


def test_export_is_the_merged_filesystem(root, busybox, tmp_path):
    import tarfile

    ok("run", "--name", "exp", busybox, "sh", "-c", "echo new > /newfile; rm /etc/group; mkdir -p /d/e")
    out = tmp_path / "exp.tar"
    ok("export", "-o", str(out), "exp")
    with tarfile.open(out) as tar:
        names = {n.lstrip("./") for n in tar.getnames()}
        assert "newfile" in names and "d/e" in names and "etc/passwd" in names and "bin/busybox" in names
        assert "etc/group" not in names and not any(".wh." in n for n in names)
        assert tar.extractfile("./newfile").read() == b"new\n"
    r = pyns_cli("export", "exp")
    assert r.returncode == 0 and len(r.stdout) == out.stat().st_size
    ok("rm", "exp")
