"""The client side of attach: connect to a container monitor's attach socket.

The monitor (C) holds the container's pty master or stdin pipe and serves
a unix socket in the container's directory. The client copies our stdin
to it in frames (data, resize, close-stdin; see csrc/pyns_api.h) and the
output it sends back to our stdout, with the terminal in raw mode when it
is a tty, until the container exits or the user types the detach keys
(ctrl-p ctrl-q by default), which leave it running.
"""
from __future__ import annotations

import contextlib
import fcntl
import os
import select
import signal
import socket
import struct
import termios
import tty as tty_mod
from typing import Iterator

from pyns.errors import Conflict
from pyns.runtime.native import ATTACH_CLOSE_STDIN, ATTACH_DATA, ATTACH_RESIZE

DEFAULT_DETACH_KEYS = b"\x10\x11"  # ctrl-p ctrl-q


def parse_detach_keys(spec: str) -> bytes:
    """docker's --detach-keys: "ctrl-p,ctrl-q", "a,ctrl-@"..."""
    out = bytearray()
    for part in spec.split(","):
        p = part.strip().lower()
        if p.startswith("ctrl-") and len(p) == 6:
            c = p[5]
            code = {"@": 0, "[": 27, "\\": 28, "]": 29, "^": 30, "_": 31}.get(c)
            if code is None and "a" <= c <= "z":
                code = ord(c) - ord("a") + 1
            if code is None:
                raise ValueError(f"invalid detach keys: {spec}")
            out.append(code)
        elif len(p) == 1:
            out.append(ord(p))
        else:
            raise ValueError(f"invalid detach keys: {spec}")
    return bytes(out)


def frame(kind: int, payload: bytes = b"") -> bytes:
    return struct.pack(">BH", kind, len(payload)) + payload


def connect(path: str) -> socket.socket:
    """Connect to the socket at path, however long the path (sun_path is 108 bytes)."""
    d = os.open(os.path.dirname(path), os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
        try:
            s.connect(f"/proc/self/fd/{d}/{os.path.basename(path)}")
        except OSError:
            s.close()
            raise
        return s
    finally:
        os.close(d)


def terminal_size(fd: int) -> tuple[int, int] | None:
    try:
        rows, cols, _, _ = struct.unpack("HHHH", fcntl.ioctl(fd, termios.TIOCGWINSZ, b"\0" * 8))
        return (rows, cols) if rows and cols else None
    except OSError:
        return None


@contextlib.contextmanager
def raw_terminal(fd: int) -> Iterator[None]:
    """Raw mode on a terminal for the with-block, restored however it ends."""
    if not os.isatty(fd):
        yield
        return
    saved = termios.tcgetattr(fd)
    try:
        tty_mod.setraw(fd, termios.TCSADRAIN)  # TCSAFLUSH would drop typed-ahead input
        yield
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)


def attach(sock_path: str, stdin_fd: int | None = 0, stdout_fd: int = 1, tty: bool = False,
           detach_keys: bytes = DEFAULT_DETACH_KEYS) -> str:
    """Relay until the container ends ("exited") or the user detaches ("detached")."""
    try:
        sock = connect(sock_path)
    except (FileNotFoundError, ConnectionRefusedError) as e:
        raise Conflict("You cannot attach to a stopped container, start it first") from e
    wake_r, wake_w = os.pipe2(os.O_CLOEXEC | os.O_NONBLOCK)
    resizing = tty and stdin_fd is not None and os.isatty(stdin_fd)
    old_winch = signal.signal(signal.SIGWINCH, lambda *_: os.write(wake_w, b"w")) if resizing else None
    try:
        with raw_terminal(stdin_fd) if (tty and stdin_fd is not None) else contextlib.nullcontext():
            if resizing:
                os.write(wake_w, b"w")  # the initial size goes out like any resize
            return _relay(sock, wake_r, stdin_fd, stdout_fd, detach_keys)
    except (ConnectionResetError, BrokenPipeError):
        return "exited"  # the monitor closed on us: the container is gone
    finally:
        if old_winch is not None:
            signal.signal(signal.SIGWINCH, old_winch)
        os.close(wake_r)
        os.close(wake_w)
        sock.close()


def _relay(sock: socket.socket, wake_r: int, stdin_fd: int | None, stdout_fd: int, detach_keys: bytes) -> str:
    matched = 0
    fds = [sock.fileno(), wake_r] + ([stdin_fd] if stdin_fd is not None else [])
    while True:
        ready, _, _ = select.select(fds, [], [])
        if wake_r in ready:
            os.read(wake_r, 64)
            size = terminal_size(stdin_fd) if stdin_fd is not None else None
            if size:
                sock.sendall(frame(ATTACH_RESIZE, struct.pack(">HH", *size)))
        if sock.fileno() in ready:
            data = sock.recv(65536)
            if not data:
                return "exited"
            os.write(stdout_fd, data)
        if stdin_fd is not None and stdin_fd in ready:
            data = os.read(stdin_fd, 4096)
            if not data:
                sock.sendall(frame(ATTACH_CLOSE_STDIN))
                fds.remove(stdin_fd)
                continue
            out = bytearray()
            detached = False
            for b in data:
                if detach_keys and b == detach_keys[matched]:
                    matched += 1
                    if matched == len(detach_keys):
                        detached = True
                        break
                    continue
                if matched:
                    out += detach_keys[:matched]
                    matched = 0
                out.append(b)
            for i in range(0, len(out), 65535):
                sock.sendall(frame(ATTACH_DATA, bytes(out[i:i + 65535])))
            if detached:  # what was typed before the keys still goes in
                return "detached"
