"""The build context: a directory the Dockerfile's COPY/ADD may read, minus .dockerignore.

A context is a directory given by the user, or a tar (maybe compressed)
read from a stream and unpacked into a private temporary directory that
:meth:`BuildContext.close` removes. Paths are always relative to the
context root; symlinks are resolved *inside* it (a link to ``/etc/passwd``
means ``<context>/etc/passwd``), and a path that climbs out of it is an
error, as in docker.
"""
from __future__ import annotations

import bz2
import lzma
import os
import posixpath
import stat
import tarfile
import zlib
from collections.abc import Iterator
from typing import IO, Self

from pyns.build.dockerignore import Matcher
from pyns.build.scoped import resolve_in_root
from pyns.errors import BuildError, LayerError
from pyns.fsutil import make_temp_dir, remove_tree
from pyns.images.compression import detect

DOCKERIGNORE = ".dockerignore"
_BLOCK = 512


def looks_like_tar(head: bytes) -> bool:
    """Whether these first bytes start a tar, plain or gzip/bzip2/xz compressed.

    Used for ADD's auto-extraction and for telling a context tar from a
    Dockerfile on stdin; only the first header block is decoded.
    """
    kind = detect(head)
    try:
        if kind == "gzip":
            block = zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(head, _BLOCK)
        elif kind == "bzip2":
            block = bz2.BZ2Decompressor().decompress(head, _BLOCK)
        elif kind == "xz":
            block = lzma.LZMADecompressor().decompress(head, _BLOCK)
        elif kind == "none":
            block = head[:_BLOCK]
        else:
            return False
    except (zlib.error, OSError, lzma.LZMAError, EOFError, ValueError):
        return False
    if len(block) < _BLOCK or not block.strip(b"\0"):
        return False
    try:
        tarfile.TarInfo.frombuf(block[:_BLOCK], "utf-8", "surrogateescape")
    except tarfile.HeaderError:
        return False
    return True


class BuildContext:
    """A context root plus its ignore rules. Use as a context manager."""

    def __init__(self, root: str, ignore: Matcher | None = None, temporary: bool = False) -> None:
        self.root = os.path.abspath(root)
        self.temporary = temporary
        if ignore is None:
            ignore = Matcher.from_text(self._read_ignore_file())
        self.ignore = ignore

    @classmethod
    def from_tar(cls, stream: IO[bytes], work_parent: str) -> BuildContext:
        """Unpack a context tar (plain, gzip, bzip2 or xz) into a temp dir under ``work_parent``."""
        from pyns.images.compression import decompressed
        from pyns.images.unpack import unpack

        os.makedirs(work_parent, exist_ok=True)
        work = make_temp_dir(work_parent, "context")
        try:
            unpack(decompressed(stream), work, same_owner=False)  # type: ignore[arg-type]
        except LayerError as e:
            remove_tree(work)
            raise BuildError(f"invalid build context archive: {e}") from None
        except BaseException:
            remove_tree(work)
            raise
        return cls(work, temporary=True)

    @classmethod
    def empty(cls, work_parent: str) -> BuildContext:
        """No files at all (a Dockerfile given on stdin without a context)."""
        os.makedirs(work_parent, exist_ok=True)
        return cls(make_temp_dir(work_parent, "context"), Matcher([]), temporary=True)

    def close(self) -> None:
        if self.temporary:
            remove_tree(self.root)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _read_ignore_file(self) -> str:
        try:
            with open(os.path.join(self.root, DOCKERIGNORE), encoding="utf-8", errors="replace") as f:
                return f.read()
        except (FileNotFoundError, NotADirectoryError):
            return ""

    # -- paths -----------------------------------------------------------------

    @staticmethod
    def clean(path: str) -> str:
        """A source path relative to the context root: ``/a/./b`` -> ``a/b``, ``.`` -> ``""``.

        Raises BuildError when the path climbs out of the context.
        """
        rel = posixpath.normpath(path.lstrip("/") or ".")
        if rel == "..":
            rel = "../"
        if rel.startswith("../"):
            raise BuildError(f"forbidden path outside the build context: {path}")
        return "" if rel == "." else rel

    def host(self, rel: str) -> str:
        return os.path.join(self.root, rel) if rel else self.root

    def resolve(self, rel: str) -> str:
        """``rel`` with symlinks followed inside the context (the last one too)."""
        return resolve_in_root(rel, self._readlink).lstrip("/")

    def _readlink(self, path: str) -> str | None:
        host = self.host(path.lstrip("/"))
        try:
            if stat.S_ISLNK(os.lstat(host).st_mode):
                return os.readlink(host)
        except (FileNotFoundError, NotADirectoryError):
            pass
        return None

    def lstat(self, rel: str) -> os.stat_result | None:
        """The entry at ``rel``, or None when missing or excluded by .dockerignore."""
        if rel and self.ignore.excluded(rel):
            return None
        try:
            return os.lstat(self.host(rel))
        except (FileNotFoundError, NotADirectoryError):
            return None

    def walk(self, top: str, recursive: bool = True) -> Iterator[tuple[str, os.stat_result]]:
        """(relative path, lstat) of every included entry below ``top``, parents first, sorted."""
        try:
            names = sorted(os.listdir(self.host(top)))
        except (FileNotFoundError, NotADirectoryError):
            return
        for name in names:
            rel = f"{top}/{name}" if top else name
            st = os.lstat(self.host(rel))
            excluded = self.ignore.excluded(rel)
            if not excluded:
                yield rel, st
            if recursive and stat.S_ISDIR(st.st_mode) and (not excluded or self.ignore.has_exceptions):
                yield from self.walk(rel)
