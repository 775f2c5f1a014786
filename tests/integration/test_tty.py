"""Terminals: run -it, exec -it, run -d -t + attach, driven through a real pty."""
from __future__ import annotations

import fcntl
import os
import select
import struct
import subprocess
import sys
import termios
import time


from tests.conftest import needs_root, pyns_cli

pytestmark = needs_root


class Terminal:
    """A pyns CLI process whose controlling terminal is a pty we drive."""

    def __init__(self, *args: str, rows: int = 24, cols: int = 80) -> None:
        self.master, slave = os.openpty()
        self.set_size(rows, cols, fd=slave)
        self.slave_path = os.ttyname(slave)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "pyns.cli.main", *args], stdin=slave, stdout=slave, stderr=slave,
            start_new_session=True, preexec_fn=lambda: fcntl.ioctl(0, termios.TIOCSCTTY, 0))
        os.close(slave)
        self.seen = b""

    def set_size(self, rows: int, cols: int, fd: int | None = None) -> None:
        fcntl.ioctl(self.master if fd is None else fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))

    def send(self, data: bytes) -> None:
        os.write(self.master, data)

    def expect(self, needle: bytes, timeout: float = 15) -> bytes:
        deadline = time.monotonic() + timeout
        while needle not in self.seen:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"{needle!r} not seen; got {self.seen[-400:]!r}")
            r, _, _ = select.select([self.master], [], [], left)
            if r:
                try:
                    chunk = os.read(self.master, 4096)
                except OSError:
                    chunk = b""
                if not chunk:
                    raise AssertionError(f"{needle!r} not seen before EOF; got {self.seen[-400:]!r}")
                if b"\x1b[6n" in chunk:  # busybox's line editor asks where the cursor is: answer like a terminal
                    self.send(b"\x1b[1;1R")
                    chunk = chunk.replace(b"\x1b[6n", b"")
                self.seen += chunk
        head, _, self.seen = self.seen.partition(needle)
        return head

    def wait(self, timeout: float = 20) -> int:
        try:
            return self.proc.wait(timeout=timeout)
        finally:
            os.close(self.master)


def test_run_it_shell_echo_resize_ctrl_c_exit(root, busybox):
    t = Terminal("run", "-it", "--rm", busybox, "sh", rows=30, cols=90)
    t.expect(b"# ")
    t.send(b"echo hel''lo; tty\r")
    t.expect(b"hello")
    t.expect(b"/dev/pts/0")
    t.send(b"stty size\r")
    t.expect(b"30 90")
    t.set_size(40, 100)  # SIGWINCH to the CLI, which passes it on
    time.sleep(0.3)
    t.send(b"stty size\r")
    t.expect(b"40 100")
    t.send(b"sleep 100\r")
    time.sleep(0.3)
    t.send(b"\x03")  # ctrl-c reaches the container's foreground process, not pyns
    t.send(b"echo after-$?\r")
    t.expect(b"after-130")
    t.send(b"exit 3\r")
    assert t.wait() == 3
    assert pyns_cli("ps", "-a", "-q").stdout == b""


def test_terminal_is_restored(root, busybox):
    m, s = os.openpty()
    before = termios.tcgetattr(s)
    p = subprocess.Popen([sys.executable, "-m", "pyns.cli.main", "run", "-it", "--rm", busybox, "sh", "-c", "exit 0"],
                         stdin=s, stdout=s, stderr=s, start_new_session=True)
    assert p.wait(timeout=20) == 0
    assert termios.tcgetattr(s) == before
    os.close(m)
    os.close(s)


def test_detach_and_attach_again(root, busybox):
    t = Terminal("run", "-it", "--name", "detachable", busybox, "sh")
    t.expect(b"# ")
    t.send(b"export MARK=kept\r")
    t.expect(b"# ")
    t.send(b"\x10\x11")  # ctrl-p ctrl-q
    assert t.wait() == 0
    assert b"Up " in pyns_cli("ps").stdout
    t = Terminal("attach", "detachable")
    t.send(b"echo $MARK\r")  # no new prompt on attach, as with docker: just type
    t.expect(b"kept")
    t.send(b"exit 5\r")
    assert t.wait() == 5
    assert b"Exited (5)" in pyns_cli("ps", "-a").stdout
    assert pyns_cli("rm", "detachable").returncode == 0


def test_exec_it(root, busybox):
    assert pyns_cli("run", "-d", "--name", "host1", busybox, "sleep", "60").returncode == 0
    t = Terminal("exec", "-it", "host1", "sh", rows=33, cols=77)
    t.expect(b"# ")
    t.send(b"tty; stty size; echo pid=$$\r")
    t.expect(b"/dev/pts/")
    t.expect(b"33 77")
    t.expect(b"pid=")
    t.send(b"exit 4\r")
    assert t.wait() == 4
    assert pyns_cli("rm", "-f", "host1").returncode == 0


def test_run_d_t_keeps_the_pty_with_the_monitor(root, busybox):
    cid = pyns_cli("run", "-d", "-t", busybox, "sh", "-c", "tty; sleep 60").stdout.decode().strip()
    deadline = time.monotonic() + 10
    while b"/dev/pts/0" not in pyns_cli("logs", cid).stdout and time.monotonic() < deadline:
        time.sleep(0.1)
    assert b"/dev/pts/0" in pyns_cli("logs", cid).stdout
    assert pyns_cli("rm", "-f", cid).returncode == 0


def test_attach_to_stopped_container_fails(root, busybox):
    pyns_cli("create", "--name", "idle", busybox, "true")
    r = pyns_cli("attach", "idle")
    assert r.returncode == 125 and b"start it first" in r.stderr
    pyns_cli("rm", "idle")
