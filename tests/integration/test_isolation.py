"""A container is really isolated: proven from inside it."""
from __future__ import annotations

import os
import socket


from tests.conftest import needs_root

pytestmark = needs_root


def run(engine, busybox, script: str, **kw) -> str:
    return engine.containers.run(busybox, ["sh", "-c", script], remove=True, **kw).decode()


def test_pid_1_is_the_command_and_host_processes_are_invisible(engine, busybox):
    out = run(engine, busybox, "echo $$; ps -o pid,comm | tail -n +2 | wc -l; ls /proc | grep -c '^[0-9]'")
    pid, nps, nproc = out.split()
    assert pid == "1"
    # sh and ps (and the pipeline's helpers) only: nowhere near the host's count.
    assert int(nproc) < 8
    assert len([d for d in os.listdir("/proc") if d.isdigit()]) > 20


def test_hostname_is_the_short_id_and_can_be_set(engine, busybox):
    c = engine.containers.create(busybox, ["hostname"])
    engine.manager.run_attached(c.id)
    assert c.logs().decode().strip() == c.id[:12]
    c.remove()
    assert run(engine, busybox, "hostname; cat /etc/hostname", hostname="web1").split() == ["web1", "web1"]
    assert socket.gethostname() != "web1"


def test_host_mounts_are_invisible(engine, busybox):
    mounts = run(engine, busybox, "cat /proc/self/mounts")
    targets = {ln.split()[1] for ln in mounts.splitlines()}
    assert "/" in targets and "/proc" in targets and "/dev/pts" in targets
    assert not any(t.startswith(("/work", "/root", "/home", "/var/lib")) for t in targets)
    root_fs = [ln.split()[2] for ln in mounts.splitlines() if ln.split()[1] == "/"]
    assert root_fs == ["overlay"]


def test_docker_default_capabilities(engine, busybox):
    status = run(engine, busybox, "grep ^Cap /proc/self/status")
    caps = dict(line.split(":\t") for line in status.splitlines())
    assert caps["CapEff"] == "00000000a80425fb"
    assert caps["CapBnd"] == "00000000a80425fb"
    assert caps["CapInh"] == "0000000000000000"


def test_masked_and_readonly_paths(engine, busybox):
    masked = [p for p in ("/proc/kcore", "/proc/keys", "/proc/timer_list", "/proc/sched_debug")
              if os.path.exists(p)]
    assert masked, "the host has none of the masked /proc files"
    script = "".join(f"cat {p} | wc -c; " for p in masked)
    script += ("ls /sys/firmware | wc -l; "
               "echo 1 > /proc/sys/kernel/domainname 2>/dev/null && echo writable || echo readonly; "
               "echo x > /proc/sysrq-trigger 2>/dev/null && echo writable || echo readonly")
    *sizes, firmware, sys_ro, sysrq = run(engine, busybox, script).split()
    assert sizes == ["0"] * len(masked)
    assert firmware == "0"
    assert sys_ro == "readonly" and sysrq == "readonly"


def test_sys_is_readonly_and_dev_has_docker_nodes(engine, busybox):
    out = run(engine, busybox, "touch /sys/x 2>/dev/null && echo rw || echo ro; ls /dev | sort | tr '\\n' ' '")
    ro, devs = out.split(maxsplit=1)
    assert ro == "ro"
    for node in ("null", "zero", "full", "random", "urandom", "tty", "pts", "shm", "mqueue", "ptmx",
                 "fd", "stdin", "stdout", "stderr"):
        assert node in devs.split(), node
    assert run(engine, busybox, "head -c 4 /dev/zero | wc -c").strip() == "4"


def test_writes_land_in_the_upper_dir_only(engine, busybox):
    c = engine.containers.create(busybox, ["sh", "-c", "echo data > /newfile; rm /etc/group"])
    engine.manager.run_attached(c.id)
    c.reload()
    upper = c.attrs["GraphDriver"]["Data"]["UpperDir"]
    assert open(os.path.join(upper, "newfile")).read() == "data\n"
    # The deletion is a whiteout in the upper dir; the image layer still has the file.
    assert os.stat(os.path.join(upper, "etc", "group")).st_rdev == 0
    for lower in c.attrs["GraphDriver"]["Data"]["LowerDir"].split(":"):
        assert not os.path.exists(os.path.join(lower, "newfile"))
    assert any(os.path.exists(os.path.join(lo, "etc", "group")) for lo in c.attrs["GraphDriver"]["Data"]["LowerDir"].split(":"))
    c.remove()


def test_bind_mount_read_only(engine, busybox, tmp_path):
    host = tmp_path / "share"
    host.mkdir()
    (host / "f").write_text("hello\n")
    out = run(engine, busybox, "cat /data/f; echo x > /data/g 2>/dev/null && echo rw || echo ro",
              volumes=[f"{host}:/data:ro"])
    assert out.split() == ["hello", "ro"]
    assert not (host / "g").exists()
    out = run(engine, busybox, "echo x > /data/g && echo rw", volumes=[f"{host}:/data"])
    assert out.strip() == "rw" and (host / "g").read_text() == "x\n"


def test_network_none_has_only_loopback_up(engine, busybox):
    out = run(engine, busybox, "ls /sys/class/net; cat /sys/class/net/lo/operstate; ip addr show lo | grep -c 127.0.0.1",
              network_mode="none")
    lines = out.split()
    assert lines[0] == "lo" and lines[-1] == "1"


def test_user_and_workdir(engine, busybox):
    out = run(engine, busybox, "id -u; id -g; pwd; grep CapEff /proc/self/status", user="app", working_dir="/work/dir")
    uid, gid, cwd, _, capeff = out.split()
    assert (uid, gid, cwd) == ("1000", "1000", "/work/dir")
    assert capeff == "0000000000000000"
    assert run(engine, busybox, "id -u; id -g", user="1234:55").split() == ["1234", "55"]


def test_read_only_rootfs_and_tmpfs(engine, busybox):
    out = run(engine, busybox, "touch /x 2>/dev/null && echo rw || echo ro; touch /scratch/x && echo tmp-ok",
              read_only=True, tmpfs={"/scratch": ""})
    assert out.split() == ["ro", "tmp-ok"]


def test_environment_and_hostname_variables(engine, busybox):
    out = run(engine, busybox, "echo $FOO $PATH $HOME", environment={"FOO": "bar"})
    foo, path, home = out.split()
    assert foo == "bar" and "/bin" in path and home == "/root"
