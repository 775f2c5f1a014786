"""Compiled programs kept in memory and under ``<root>/seccomp/``.

A container start must not pay for parsing a profile, loading libseccomp
through cffi and compiling (tens of milliseconds together): it reads the
program compiled by an earlier start, or takes it from this process's
memory. The key covers everything the program depends on except the
library: the profile's bytes, the capability set, the architecture and
the kernel's major.minor (includes/excludes). The library is checked
instead: each file records which libseccomp made it (version, path, size,
mtime), and a file made by a library that has since changed on disk is
compiled again, so an upgrade that learns new syscall names takes effect.
Files are written to a temporary name and renamed, so a reader sees a
whole program or none, and concurrent starts at worst compile twice.

The key is the material itself, not a digest of it: a file is named by a
CRC of the material and holds the material, and a hit is a byte-for-byte
match. So a start needs no hash library (hashlib's OpenSSL costs a CLI
~4 ms to load), and two keys that share a name only cost a compile.
"""
from __future__ import annotations

import json
import os
import zlib

from pyns.fsutil import atomic_write
from pyns.runtime.seccomp.context import Host, normalize_cap

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (see pyns/__init__.py)
if TYPE_CHECKING:
    from typing import Any

FORMAT = 2  # bump when what a key means, or the file layout, changes
MAGIC = b"pyns-seccomp-bpf\n"
DIRNAME = "seccomp"

_memory: dict[tuple[str, bytes], bytes] = {}


def key(profile_bytes: bytes, capabilities: frozenset[str], host: Host) -> bytes:
    """Everything a compiled program depends on but the library, as bytes."""
    context = json.dumps({
        "format": FORMAT,
        "caps": sorted({normalize_cap(c) for c in capabilities}),
        "arch": host.arch,
        "kernel": list(host.kernel),
    }, sort_keys=True)
    return context.encode() + b"\n" + profile_bytes


def library_stamp(version: str, path: str) -> dict[str, Any]:
    """What identifies the libseccomp that compiled a program."""
    stamp: dict[str, Any] = {"version": version, "path": path}
    try:
        st = os.stat(path)
        stamp.update(size=st.st_size, mtime_ns=st.st_mtime_ns)
    except OSError:
        pass
    return stamp


def _still_current(stamp: dict[str, Any]) -> bool:
    path = stamp.get("path")
    if not path or "size" not in stamp:
        return True  # nothing to compare with: trust the key
    try:
        st = os.stat(path)
    except OSError:
        return False
    return st.st_size == stamp["size"] and st.st_mtime_ns == stamp.get("mtime_ns")


def path_for(root: str, k: bytes) -> str:
    return os.path.join(root, DIRNAME, f"{zlib.crc32(k):08x}-{len(k):x}.bpf")


def _decode(data: bytes, k: bytes) -> bytes | None:
    """File contents -> program, or None if torn, foreign, another key's, or
    made by a changed library."""
    if not data.startswith(MAGIC):
        return None
    header, sep, rest = data[len(MAGIC):].partition(b"\n")
    if not sep:
        return None
    try:
        meta = json.loads(header)
    except ValueError:
        return None
    if not isinstance(meta, dict) or meta.get("key") != len(k) or rest[:len(k)] != k:
        return None
    program = rest[len(k):]
    if meta.get("length") != len(program) or not program:
        return None
    return program if _still_current(meta.get("library") or {}) else None


def get(root: str, k: bytes) -> bytes | None:
    hit = _memory.get((root, k))
    if hit is not None:
        return hit
    try:
        with open(path_for(root, k), "rb") as f:
            program = _decode(f.read(), k)
    except OSError:
        return None
    if program is not None:
        _memory[(root, k)] = program
    return program


def put(root: str, k: bytes, program: bytes, stamp: dict[str, Any]) -> None:
    """Remember a program; a root we cannot write to only costs the next start a compile."""
    _memory[(root, k)] = program
    header = json.dumps({"key": len(k), "length": len(program), "library": stamp}, sort_keys=True).encode()
    try:
        os.makedirs(os.path.join(root, DIRNAME), mode=0o700, exist_ok=True)
        atomic_write(path_for(root, k), MAGIC + header + b"\n" + k + program, mode=0o600)
    except OSError:
        pass


def clear_memory() -> None:
    """Forget programs held in this process (tests, benchmarks)."""
    _memory.clear()
