"""Symlink resolution confined to a root, shared by the build context and image views.

A symlink in a build context or an image means what it would mean inside
that tree: ``/etc`` is the tree's own ``/etc``, and ``..`` stops at its
root. Resolving it on the host instead would let ``COPY`` read, or a
destination write, outside the tree. Missing components are kept as they
are (a COPY destination may not exist yet).
"""
from __future__ import annotations

import posixpath
from collections.abc import Callable

from pyns.errors import BuildError

MAX_SYMLINKS = 255

# absolute path inside the tree -> the link's target if it is a symlink, else None
ReadLink = Callable[[str], "str | None"]


def resolve_in_root(path: str, readlink: ReadLink, follow_last: bool = True) -> str:
    """``path`` (absolute or relative to the root) with its symlinks resolved; always absolute."""
    todo = [p for p in path.split("/") if p]
    last = todo.pop() if not follow_last and todo else None
    current = "/"
    hops = 0
    while todo:
        part = todo.pop(0)
        if part == ".":
            continue
        if part == "..":
            current = posixpath.dirname(current)
            continue
        candidate = posixpath.join(current, part)
        target = readlink(candidate)
        if target is None:
            current = candidate
            continue
        hops += 1
        if hops > MAX_SYMLINKS:
            raise BuildError(f"{path}: too many levels of symbolic links")
        if target.startswith("/"):
            current = "/"
        todo = [p for p in target.split("/") if p] + todo
    return posixpath.join(current, last) if last is not None else current
