"""Thin Python face of the C module: parse a plan, spawn, supervise.

Failures come back from C as (step, errno, message) and leave here as one
:class:`~pyns.errors.RuntimeFailure`, with docker's exit codes for a
command that cannot be run (127 not found, 126 not executable).
"""
from __future__ import annotations

import errno as errno_mod
import os

from pyns._native import ffi, lib
from pyns.errors import RuntimeFailure
from pyns.records import record

PHASES = ("start", "child", "cgroup", "network", "rootfs", "pivot", "exec", "return")
SUPERVISE_FORWARD_SIGNALS = lib.PYNS_SUP_FORWARD_SIGNALS
SUPERVISE_REAP_ALL = lib.PYNS_SUP_REAP_ALL
SUPERVISE_TTY = lib.PYNS_SUP_TTY
ATTACH_DATA, ATTACH_RESIZE, ATTACH_CLOSE_STDIN = lib.PYNS_ATTACH_DATA, lib.PYNS_ATTACH_RESIZE, lib.PYNS_ATTACH_CLOSE_STDIN


@record
class SpawnResult:
    pid: int
    timestamps: dict[str, int]  # phase -> CLOCK_MONOTONIC ns (0: not reached)


@record
class ExitInfo:
    exit_code: int
    signal: int
    oom_killed: bool
    finished_ns: int


def failure_from(step: str, err_no: int, message: str, argv0: str = "") -> RuntimeFailure:
    """docker's wording and exit codes for a failed start."""
    if step == "exec":
        cmd = message or argv0
        if err_no in (errno_mod.ENOENT, errno_mod.ENOTDIR):
            if "/" in cmd:
                return RuntimeFailure(f'exec: "{cmd}": stat {cmd}: no such file or directory', step, err_no, 127)
            return RuntimeFailure(f'exec: "{cmd}": executable file not found in $PATH', step, err_no, 127)
        if err_no in (errno_mod.EACCES, errno_mod.EPERM, errno_mod.EISDIR):
            return RuntimeFailure(f'exec: "{cmd}": permission denied', step, err_no, 126)
        if err_no == errno_mod.ENOEXEC:
            return RuntimeFailure(f'exec: "{cmd}": exec format error', step, err_no, 126)
    detail = f": {os.strerror(err_no)}" if err_no else ""
    return RuntimeFailure(f"{step}: {message}{detail}", step, err_no, 125)


def _error(err: "ffi.CData", argv0: str = "") -> RuntimeFailure:
    return failure_from(
        ffi.string(err.step).decode(), err.errnum, ffi.string(err.msg).decode(errors="replace"), argv0
    )


class Plan:
    """A parsed native plan, freed with the object."""

    def __init__(self, data: bytes, argv0: str = "") -> None:
        self.data = data
        self.argv0 = argv0
        err = ffi.new("struct pyns_error *")
        ptr = lib.pyns_plan_parse(data, len(data), err)
        if ptr == ffi.NULL:
            raise _error(err)
        self._ptr = ffi.gc(ptr, lib.pyns_plan_free)

    def spawn(self, stdin: int = -1, stdout: int = -1, stderr: int = -1, console_sock: int = -1) -> SpawnResult:
        """clone + set-up + execve; returns once the command is running.

        With a tty in the plan, the pty master arrives on console_sock (a
        unix socket; receive it with socket.recv_fds) and stdio is ignored.
        """
        err = ffi.new("struct pyns_error *")
        ts = ffi.new("long long[]", lib.PYNS_TS_COUNT)
        pid = lib.pyns_spawn(self._ptr, stdin, stdout, stderr, console_sock, ts, err)
        if pid < 0:
            raise _error(err, self.argv0)
        return SpawnResult(pid, {name: ts[i] for i, name in enumerate(PHASES)})

    def supervise(self, pid: int, out_fd: int = -1, err_fd: int = -1, tee_out: int = -1,
                  tee_err: int = -1, flags: int = 0, in_src: int = -1, in_dst: int = -1,
                  listen_fd: int = -1) -> ExitInfo:
        """Relay output to the log (and tee fds), input from in_src to in_dst,
        until pid exits; record the exit.

        Takes ownership of out_fd, err_fd and in_dst (closed when done).
        """
        err = ffi.new("struct pyns_error *")
        ex = ffi.new("struct pyns_exit *")
        io = ffi.new("struct pyns_io *", {"out_fd": out_fd, "err_fd": err_fd, "in_src": in_src, "in_dst": in_dst,
                                         "tee_out": tee_out, "tee_err": tee_err, "listen_fd": listen_fd,
                                         "flags": flags})
        rc = lib.pyns_supervise(self._ptr, pid, io, ex, err)
        if rc < 0:
            raise _error(err)
        return ExitInfo(ex.exit_code, ex.signal, bool(ex.oom_killed), ex.finished_ns)


def idmap_supported(path: str, uid_map: str, gid_map: str) -> tuple[bool, str]:
    """Whether path's filesystem takes idmapped mounts through a namespace with
    these maps, and why not when it doesn't (nothing stays mounted)."""
    err = ffi.new("struct pyns_error *")
    fd = lib.pyns_userns_create(uid_map.encode(), gid_map.encode(), err)
    if fd < 0:
        raise _error(err)
    try:
        if lib.pyns_idmap_probe(path.encode(), fd, err) < 0:
            return False, str(_error(err))
        return True, ""
    finally:
        os.close(fd)


def pause_spawn(exe: str) -> tuple[int, int]:
    """Start pyns-pause in a new user namespace: (pid, fd to release it once mapped)."""
    err = ffi.new("struct pyns_error *")
    fd = ffi.new("int *")
    pid = lib.pyns_pause_spawn(exe.encode(), fd, err)
    if pid < 0:
        raise _error(err)
    return pid, fd[0]


def setns(fd: int, nstype: int) -> None:
    err = ffi.new("struct pyns_error *")
    if lib.pyns_setns(fd, nstype, err) < 0:
        raise _error(err)


def monotonic_ns() -> int:
    return int(lib.pyns_monotonic_ns())


def libexec(name: str) -> str:
    """Path of a helper executable shipped in the package (pyns-monitor, pyns-init)."""
    path = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "libexec", name)
    if not os.access(path, os.X_OK):
        raise RuntimeFailure(f"{name} is missing at {path}: reinstall pyns (pip install .)", "install", 0, 125)
    return path
