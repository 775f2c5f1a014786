"""The only place the cgroup backends touch the filesystem.

Routing every mkdir/rmdir/read/write through one small object lets unit tests
substitute a fake hierarchy (see :mod:`pyns.runtime.cgroups.testing`) that
emulates what cgroupfs does on its own, such as interface files appearing on
mkdir. Methods raise plain :class:`OSError` so callers can branch on errno
(ENOENT races, EBUSY retries); :func:`cgroup_error` turns one into the
user-facing :class:`~pyns.errors.CgroupError` naming the file and the errno.
"""
from __future__ import annotations

import errno as errno_mod
import os

from pyns.errors import CgroupError


class CgroupFs:
    """Plain syscalls, with the flags cgroupfs wants."""

    def mkdir(self, path: str) -> None:
        """Create one cgroup directory; the kernel populates its interface files."""
        os.mkdir(path, 0o755)

    def rmdir(self, path: str) -> None:
        """Remove one (empty of processes and children) cgroup directory."""
        os.rmdir(path)

    def read(self, path: str) -> str:
        """Read a whole interface file."""
        with open(path, encoding="ascii", errors="replace") as f:
            return f.read()

    def write(self, path: str, value: str) -> None:
        """Write ``value`` in a single write(2).

        No O_CREAT: a missing file means the controller or feature is absent
        (e.g. memory.memsw.* without swap accounting) and must surface as
        ENOENT rather than as a stray regular file. cgroupfs parses each
        write(2) separately, so the value must not be split.
        """
        fd = os.open(path, os.O_WRONLY | os.O_TRUNC | os.O_CLOEXEC)
        try:
            _write_whole(fd, value, path)
        finally:
            os.close(fd)

    def write_each(self, path: str, values: list[str]) -> None:
        """Write each value in a write(2) of its own, through one open.

        For files that take one rule per write (devices.allow): opening the
        file once instead of per rule saves a container start ~0.4 ms.
        """
        fd = os.open(path, os.O_WRONLY | os.O_CLOEXEC)
        try:
            for value in values:
                _write_whole(fd, value, path)
        finally:
            os.close(fd)

    def exists(self, path: str) -> bool:
        """True when ``path`` exists (file or directory)."""
        return os.path.exists(path)

    def online(self, kind: str) -> str | None:
        """The host's online list for ``kind`` "cpu" or "node" (e.g. "0-3"); None when unknown.

        Lives here so validation in create() sees the fake's CPUs in tests
        rather than those of the machine running them.
        """
        try:
            with open(f"/sys/devices/system/{kind}/online", encoding="ascii") as f:
                return f.read().strip()
        except OSError:
            return None

    def subdirs(self, path: str) -> list[str]:
        """Absolute paths of the child cgroups of ``path`` (empty when missing)."""
        try:
            with os.scandir(path) as it:
                return [e.path for e in it if e.is_dir(follow_symlinks=False)]
        except FileNotFoundError:
            return []


def _write_whole(fd: int, value: str, path: str) -> None:
    """One write(2) of value; cgroupfs takes it whole or not at all."""
    data = value.encode()
    written = os.write(fd, data)
    if written != len(data):
        raise OSError(errno_mod.EIO, f"short write ({written} of {len(data)} bytes)", path)


def cgroup_error(action: str, path: str, exc: OSError) -> CgroupError:
    """A CgroupError saying what failed on which file, with errno name and number.

    The original OSError is meant to be chained (``raise ... from exc``) so a
    caller can still inspect ``err.__cause__.errno``.
    """
    code = exc.errno or 0
    name = errno_mod.errorcode.get(code, "E?")
    reason = exc.strerror or str(exc)
    return CgroupError(f"cgroup: cannot {action} {path}: {reason} ({name}, errno {code})")
