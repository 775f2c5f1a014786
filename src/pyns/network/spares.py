"""State files replaced and deleted without allocating inodes.

Measured on this host's ext4: creating a file (``open(O_CREAT)``, mkstemp,
``O_TMPFILE`` alike) costs 0.25-0.35 ms, while a rename, a
``renameat2(RENAME_EXCHANGE)`` or an in-place write costs ~0.01 ms. A bridge
container's start used to create three files (temp + rename for its record
and for the allocation file, and its namespace's mount point) and its stop
one more: ~1.5 ms of a few-millisecond budget.

So a directory keeps a few spare inodes, ``.spare-N`` (dot names: never
read as records). A write fills a spare in place and renames it onto the
record, exchanging it with the record's previous inode when there is one,
which becomes the next spare; a delete hard-links the record into a free
spare slot before unlinking it. A record changes only by a rename, so a
reader sees the old record or the new one, never a mix, and a crash at
any point leaves at worst a spare with stale content.

Writers must hold the lock that guards the directory (the network lock).
A reader without it may, in a window of microseconds, have opened an inode
that two later writes recycle and refill: :func:`read_json` retries what
does not parse, and callers check that a record is the one they asked for.
"""
from __future__ import annotations

import ctypes
import errno
import json
import os
from typing import Any, Callable

SLOTS = 8  # spares kept per directory; more deletes than that unlink
MODE = 0o644
_AT_FDCWD = -100
_RENAME_NOREPLACE, _RENAME_EXCHANGE = 1, 2
_libc = ctypes.CDLL(None, use_errno=True)
_MISSING: Any = object()


def _renameat2(src: str, dst: str, flags: int) -> None:
    if _libc.renameat2(_AT_FDCWD, os.fsencode(src), _AT_FDCWD, os.fsencode(dst), flags) != 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err), src, None, dst)


def _slot(directory: str, i: int) -> str:
    return os.path.join(directory, f".spare-{i}")


def take(directory: str) -> str:
    """The path of a spare inode in directory (an empty one is made if there is none)."""
    for i in range(SLOTS):
        path = _slot(directory, i)
        if os.path.lexists(path):
            return path
    path = _slot(directory, 0)
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC, MODE))
    return path


def claim(path: str, directory: str) -> None:
    """A file at path made from a spare of directory, content as the spare had
    it (for a caller that needs only an inode: a mount point); a new empty
    file when there is no spare. FileExistsError if path exists."""
    for i in range(SLOTS):
        try:
            _renameat2(_slot(directory, i), path, _RENAME_NOREPLACE)
            return
        except FileNotFoundError:  # an empty slot (or no directory: then the open below says so)
            continue
        except OSError as e:
            if e.errno != errno.EINVAL:
                raise
            break
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, MODE))


def write(path: str, data: bytes) -> None:
    """Replace path's content with data in one rename, reusing a spare inode."""
    spare = take(os.path.dirname(path))
    fd = os.open(spare, os.O_WRONLY | os.O_CLOEXEC)
    try:
        view = memoryview(data)
        offset = 0
        while offset < len(view):
            offset += os.pwrite(fd, view[offset:], offset)
        os.ftruncate(fd, len(data))
    finally:
        os.close(fd)
    try:
        _renameat2(spare, path, _RENAME_EXCHANGE)  # the old record becomes the spare
    except OSError as e:
        if e.errno not in (errno.ENOENT, errno.EINVAL):  # EINVAL: a filesystem without exchange
            raise
        os.rename(spare, path)  # a new record (or the old inode freed)


def write_json(path: str, obj: Any) -> None:
    write(path, json.dumps(obj, indent=1, sort_keys=True).encode() + b"\n")


def retire(path: str, directory: str | None = None) -> bool:
    """Delete path, keeping its inode as a spare of directory (default: its
    own): a hard link in a free slot, then unlink. Unlinking (rather than
    renaming) also detaches whatever another mount namespace still has
    mounted on a namespace file. Plainly unlinked when every slot is taken.
    False if there was no path."""
    directory = directory or os.path.dirname(path)
    kept = _keep(path, directory)
    if kept is False:
        return False
    try:
        os.unlink(path)
    except FileNotFoundError:
        return False
    except OSError:
        if kept:  # a spare must never share its inode with a live file
            os.unlink(kept)
        raise
    return True


def _keep(path: str, directory: str) -> str | None | bool:
    """Hard-link path into a free slot: the slot, None if it cannot be kept,
    False if path does not exist."""
    for i in range(SLOTS):
        slot = _slot(directory, i)
        try:
            os.link(path, slot)
            return slot
        except FileExistsError:
            continue
        except FileNotFoundError:
            if not os.path.lexists(path):
                return False
            os.makedirs(directory, mode=0o700, exist_ok=True)  # the first spare of this directory
            try:
                os.link(path, slot)
                return slot
            except OSError:
                return None
        except OSError as e:
            if e.errno not in (errno.EPERM, errno.EXDEV, errno.EMLINK):  # no hard links here: just unlink
                raise
            return None
    return None


def read_json(path: str, default: Any = _MISSING, valid: Callable[[Any], bool] = lambda _: True,
              attempts: int = 5) -> Any:
    """path's JSON, read again when it does not parse or valid() rejects it
    (an inode recycled under a reader without the lock, see above);
    default if path does not exist. The last attempt's data is returned
    as it is: the path itself always holds a whole record."""
    for attempt in range(attempts):
        try:
            with open(path, "rb") as f:
                data = json.loads(f.read())
        except FileNotFoundError:
            if default is _MISSING:
                raise
            return default
        except ValueError:
            if attempt == attempts - 1:
                raise
            continue
        if valid(data) or attempt == attempts - 1:
            return data
    raise AssertionError("unreachable")
