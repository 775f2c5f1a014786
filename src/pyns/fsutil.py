"""Crash-safe file primitives shared by every store (images, layers, content, containers).

Every piece of state is published with write-to-temp + rename so a reader
(or a crash) only ever sees the old or the new version, and mutations that
read-modify-write shared files are serialised with ``flock`` locks so that
concurrent CLI invocations do not lose updates.
"""
from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import stat
from types import TracebackType

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (see pyns/__init__.py)
if TYPE_CHECKING:
    from typing import Any, Iterator


def atomic_write(path: str, data: bytes, mode: int = 0o644) -> None:
    """Replace ``path`` with ``data`` in one rename (no fsync: crash-consistent, not durable)."""
    # The name sweep_temp recognises; not tempfile.mkstemp, whose import
    # (random, shutil, bz2, lzma) costs a CLI more than the write.
    tmp = os.path.join(os.path.dirname(path), f".tmp-{os.getpid()}-{os.urandom(6).hex()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            os.fchmod(f.fileno(), mode)
        os.rename(tmp, path)
    except BaseException:
        _unlink_quiet(tmp)
        raise


def atomic_write_json(path: str, obj: Any) -> None:
    """Serialise ``obj`` as JSON and publish it atomically."""
    atomic_write(path, json.dumps(obj, indent=1, sort_keys=True).encode() + b"\n")


_MISSING: Any = object()


def read_json(path: str, default: Any = _MISSING) -> Any:
    """Load a JSON file written by :func:`atomic_write_json`; ``default`` if it is absent."""
    try:
        with open(path, "rb") as f:
            return json.load(f)
    except FileNotFoundError:
        if default is _MISSING:
            raise
        return default


def _unlink_quiet(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def remove_tree(path: str) -> None:
    """Delete a directory tree even where unpacked modes forbid it.

    Layer trees may hold read-only directories (0555) that stop a non-root
    ``rmtree``; the error handler makes the parent writable and retries.
    """

    def onerror(func: Any, failed: str, exc_info: Any) -> None:
        err = exc_info[1]
        if isinstance(err, FileNotFoundError):
            return
        if isinstance(err, PermissionError):
            parent = os.path.dirname(failed)
            try:
                os.chmod(parent, stat.S_IRWXU)
                if os.path.isdir(failed) and not os.path.islink(failed):
                    os.chmod(failed, stat.S_IRWXU)
                func(failed)
                return
            except OSError:
                pass
        raise err

    if os.path.lexists(path):
        if os.path.isdir(path) and not os.path.islink(path):
            import shutil

            shutil.rmtree(path, onerror=onerror)
        else:
            os.unlink(path)


def remove_tree_quietly(path: str) -> None:
    """Delete what can be deleted of a tree, ignoring errors, like
    shutil.rmtree(path, ignore_errors=True) and as safely (a walk by
    directory fds, so a symlink is never followed), without importing
    shutil, which (bz2, lzma) costs a container's `run --rm` ~3 ms."""
    try:
        for _, dirs, files, dir_fd in os.fwalk(path, topdown=False):  # dir_fd is open only here
            for name in files:
                with contextlib.suppress(OSError):
                    os.unlink(name, dir_fd=dir_fd)
            for name in dirs:
                try:
                    os.rmdir(name, dir_fd=dir_fd)
                except NotADirectoryError:  # a symlink to a directory
                    with contextlib.suppress(OSError):
                        os.unlink(name, dir_fd=dir_fd)
                except OSError:
                    pass
        os.rmdir(path)
    except OSError:
        pass


def remove_tree_atomically(path: str) -> bool:
    """Hide ``path`` with one rename, then delete it; False if it was absent.

    The rename makes removal all-or-nothing for readers: a crash mid-delete
    leaves a ``.tmp-del-*`` directory that :func:`sweep_temp` removes, never
    a half-deleted entry under its real name.
    """
    parent, name = os.path.split(path)
    doomed = os.path.join(parent, f".tmp-del-{os.getpid()}-{name}-{os.urandom(4).hex()}")
    try:
        os.rename(path, doomed)
    except FileNotFoundError:
        return False
    remove_tree(doomed)
    return True


def make_temp_dir(parent: str, label: str) -> str:
    """A private work directory in ``parent`` named after our pid for crash cleanup."""
    import tempfile

    return tempfile.mkdtemp(prefix=f".tmp-{label}-{os.getpid()}-", dir=parent)


def sweep_temp(parent: str) -> None:
    """Remove ``.tmp-*`` leftovers whose creating process is gone.

    Temp names carry the creator's pid (see :func:`make_temp_dir`); entries
    of live processes are left alone because they may still be in use.
    """
    try:
        names = os.listdir(parent)
    except FileNotFoundError:
        return
    for name in names:
        if not name.startswith(".tmp-"):
            continue
        pid = _pid_in_name(name)
        if pid is not None and (pid == os.getpid() or _alive(pid)):
            continue
        try:
            remove_tree(os.path.join(parent, name))
        except OSError:
            pass


def _pid_in_name(name: str) -> int | None:
    for part in name.split("-"):
        if part.isdigit():
            return int(part)
    return None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class FileLock:
    """An ``flock`` on a lock file, usable as a context manager.

    ``shared=True`` lets many holders in at once (e.g. several imports
    pinning layers) while an exclusive holder (garbage collection) waits for
    all of them. Locks are per open file, so one process must not take a
    shared and an exclusive lock on the same file at the same time.
    """

    def __init__(self, path: str, shared: bool = False) -> None:
        self.path = path
        self.shared = shared
        self._fd: int | None = None

    def __enter__(self) -> "FileLock":
        os.makedirs(os.path.dirname(self.path), exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_SH if self.shared else fcntl.LOCK_EX)
                    break
                except OSError as e:
                    if e.errno != errno.EINTR:
                        raise
        except BaseException:
            os.close(fd)
            raise
        self._fd = fd
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing releases the flock
            self._fd = None


@contextlib.contextmanager
def try_locked(path: str) -> Iterator[bool]:
    """An exclusive flock that never waits: yields False when someone else holds it."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        yield True
    finally:
        os.close(fd)
