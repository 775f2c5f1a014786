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
"""
from __future__ import annotations

import hashlib
import json
import os
import tempfile
from typing import Any

from pyns.runtime.seccomp.context import Host, normalize_cap

FORMAT = 1  # bump when what a key means, or the file layout, changes
MAGIC = b"pyns-seccomp-bpf\n"
DIRNAME = "seccomp"

_memory: dict[tuple[str, str], bytes] = {}


def key(profile_bytes: bytes, capabilities: frozenset[str], host: Host) -> str:
    material = json.dumps({
        "format": FORMAT,
        "profile": hashlib.sha256(profile_bytes).hexdigest(),
        "caps": sorted({normalize_cap(c) for c in capabilities}),
        "arch": host.arch,
        "kernel": list(host.kernel),
    }, sort_keys=True)
    return hashlib.sha256(material.encode()).hexdigest()


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


def path_for(root: str, k: str) -> str:
    return os.path.join(root, DIRNAME, f"{k}.bpf")


def _decode(data: bytes) -> bytes | None:
    """File contents -> program, or None if torn, foreign, or made by a changed library."""
    if not data.startswith(MAGIC):
        return None
    header, sep, program = data[len(MAGIC):].partition(b"\n")
    if not sep:
        return None
    try:
        meta = json.loads(header)
    except ValueError:
        return None
    if not isinstance(meta, dict) or meta.get("length") != len(program) or not program:
        return None
    return program if _still_current(meta.get("library") or {}) else None


def get(root: str, k: str) -> bytes | None:
    hit = _memory.get((root, k))
    if hit is not None:
        return hit
    try:
        with open(path_for(root, k), "rb") as f:
            program = _decode(f.read())
    except OSError:
        return None
    if program is not None:
        _memory[(root, k)] = program
    return program


def put(root: str, k: str, program: bytes, stamp: dict[str, Any]) -> None:
    """Remember a program; a root we cannot write to only costs the next start a compile."""
    _memory[(root, k)] = program
    directory = os.path.join(root, DIRNAME)
    header = json.dumps({"length": len(program), "library": stamp}, sort_keys=True).encode()
    try:
        os.makedirs(directory, mode=0o700, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=".tmp-", suffix=".bpf")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(MAGIC + header + b"\n" + program)
            os.replace(tmp, path_for(root, k))
        except BaseException:
            os.unlink(tmp)
            raise
    except OSError:
        pass


def clear_memory() -> None:
    """Forget programs held in this process (tests, benchmarks)."""
    _memory.clear()
