"""An escape battery: from inside a default container, every way out must fail."""
from __future__ import annotations

import os

from tests.conftest import needs_root

pytestmark = needs_root


def attempt(engine, busybox, script: str, **kw) -> str:
    """Run script; its stdout+stderr and exit status as text."""
    return engine.containers.run(busybox, ["sh", "-c", f"({script}) 2>&1; echo rc=$?"], remove=True,
                                 stderr=True, **kw).decode()


def failed(out: str) -> bool:
    return "rc=0" not in out


def escape_checks(marker) -> dict[str, str]:
    """name -> a script that succeeds only if that way out is open."""
    return {
        "write /proc/sys": "echo 1 > /proc/sys/kernel/panic",
        "write /sys": "echo 1 > /sys/kernel/profiling",
        "read /proc/kcore": "test -s /proc/kcore && head -c 1 /proc/kcore",
        "read /proc/keys": "test -s /proc/keys",
        "mknod + open a host disk": "mknod /tmp/disk b 8 0 && head -c 1 /tmp/disk",
        "open /dev/kmsg": "mknod /tmp/kmsg c 1 11 && head -c 1 /tmp/kmsg",
        "load a kernel module": "insmod /nonexistent.ko || modprobe loop",
        "mount the host root": "mkdir -p /h && mount /dev/vda /h",
        "mount a fresh proc": "mkdir -p /p && mount -t proc proc /p",
        "remount / rw + host view": "mount -o remount,rw /proc/sys",
        "new user namespace": "unshare -U -r true",
        "new mount namespace": "unshare -m true",
        "chroot out via /proc/1/root": f"cat /proc/1/root{marker}",
        "host file by path": f"cat {marker}",
        "see the host's interfaces": "ls /sys/class/net | grep -v -e '^lo$' -e '^eth0$'",
        "set the clock": "date -s 2001-01-01 >/dev/null 2>&1; test $(date +%Y) = 2001",
        "reboot": "reboot -f",
        "change hostname of host": "hostname hacked && cat /proc/sys/kernel/hostname | grep -v hacked",
    }


def run_battery(engine, busybox, marker) -> None:
    marker.write_text("host secret\n")
    for name, script in escape_checks(marker).items():
        out = attempt(engine, busybox, script)
        assert failed(out), f"{name}: succeeded: {out}"
    assert marker.read_text() == "host secret\n"


def test_escape_battery(engine, busybox, tmp_path):
    run_battery(engine, busybox, tmp_path / "host-file")


def test_ptrace_cannot_reach_host_processes(engine, busybox):
    out = attempt(engine, busybox, f"ls /proc/{os.getpid()}/ && kill -0 {os.getpid()}")
    assert failed(out)
    # Our own namespace has only the container's processes.
    out = attempt(engine, busybox, "ls /proc | grep -c '^[0-9]'")
    assert int(out.split()[0]) < 6


def test_hostname_change_stays_inside(engine, busybox):
    import socket

    before = socket.gethostname()
    engine.containers.run(busybox, ["hostname", "inside"], remove=True, cap_add=["SYS_ADMIN"])
    assert socket.gethostname() == before
