"""Writing OCI layer tarballs for build steps.

A step's layer is a tar of what it changed, in the OCI form (``.wh.NAME``
for a deletion, ``.wh..wh..opq`` for a directory whose lower contents are
hidden). COPY/ADD/WORKDIR layers are written straight from their sources;
RUN layers from the container's overlay upper directory (see
:mod:`pyns.build.diff`). In both cases every parent directory of a changed
path is in the tar with the metadata the image already gives it, like the
copy-up docker's overlay diff contains; otherwise unpacking would create it
with default modes and shadow, say, ``/tmp``'s 1777 with 0755.
"""
from __future__ import annotations

import copy as _copy
import os
import posixpath
import stat
import tarfile
from collections.abc import Callable
from typing import IO, BinaryIO

from pyns.records import record

PAX_XATTR = "SCHILY.xattr."
WHITEOUT = ".wh."
OPAQUE = ".wh..wh..opq"


@record(frozen=True)
class Meta:
    """Ownership, permission bits and mtime (seconds) of one entry."""

    mode: int
    uid: int = 0
    gid: int = 0
    mtime: int = 0

    @classmethod
    def of(cls, st: os.stat_result) -> Meta:
        return cls(stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid, int(st.st_mtime))


# a directory that already exists in the image -> its metadata, else None
ParentLookup = Callable[[str], "Meta | None"]


def _rel(path: str) -> str:
    return posixpath.normpath(path).lstrip("/")


class LayerWriter:
    """A tar stream being written, that knows which directories it already holds."""

    def __init__(self, out: IO[bytes], existing: ParentLookup, default_dir: Meta) -> None:
        self.tar = tarfile.open(fileobj=out, mode="w|", format=tarfile.PAX_FORMAT,  # noqa: SIM115 - closed by close()
                                encoding="utf-8", errors="surrogateescape")
        self.existing = existing
        self.default_dir = default_dir
        self.dirs: set[str] = set()
        self.entries = 0

    def close(self) -> None:
        self.tar.close()

    def _add(self, info: tarfile.TarInfo, data: IO[bytes] | None = None) -> None:
        self.tar.addfile(info, data)
        self.entries += 1

    def _info(self, path: str, kind: bytes, meta: Meta) -> tarfile.TarInfo:
        info = tarfile.TarInfo(_rel(path))
        info.type = kind
        info.mode, info.uid, info.gid, info.mtime = meta.mode, meta.uid, meta.gid, meta.mtime
        info.uname = info.gname = ""
        return info

    def parents(self, path: str) -> None:
        """Put every missing ancestor directory of ``path`` into the tar first."""
        rel = _rel(path)
        parts = rel.split("/")[:-1]
        for i in range(1, len(parts) + 1):
            parent = "/" + "/".join(parts[:i])
            if parent[1:] in self.dirs:
                continue
            meta = self.existing(parent) or self.default_dir
            self.directory(parent, meta, with_parents=False)

    def directory(self, path: str, meta: Meta, with_parents: bool = True, xattrs: dict[str, str] | None = None,
                  opaque: bool = False) -> None:
        if with_parents:
            self.parents(path)
        info = self._info(path, tarfile.DIRTYPE, meta)
        if xattrs:
            info.pax_headers = {PAX_XATTR + k: v for k, v in xattrs.items()}
        self._add(info)
        self.dirs.add(_rel(path))
        if opaque:
            self.marker(posixpath.join(path, OPAQUE))

    def file(self, path: str, meta: Meta, data: BinaryIO, size: int, xattrs: dict[str, str] | None = None) -> None:
        self.parents(path)
        info = self._info(path, tarfile.REGTYPE, meta)
        info.size = size
        if xattrs:
            info.pax_headers = {PAX_XATTR + k: v for k, v in xattrs.items()}
        self._add(info, data)

    def host_file(self, path: str, meta: Meta, host: str, xattrs: dict[str, str] | None = None) -> None:
        with open(host, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            self.file(path, meta, f, size, xattrs)

    def symlink(self, path: str, meta: Meta, target: str) -> None:
        self.parents(path)
        info = self._info(path, tarfile.SYMTYPE, meta)
        info.linkname = target
        self._add(info)

    def hardlink(self, path: str, meta: Meta, target: str) -> None:
        self.parents(path)
        info = self._info(path, tarfile.LNKTYPE, meta)
        info.linkname = _rel(target)
        self._add(info)

    def node(self, path: str, meta: Meta, st: os.stat_result) -> None:
        """A fifo or device node copied from ``st``."""
        self.parents(path)
        if stat.S_ISFIFO(st.st_mode):
            kind = tarfile.FIFOTYPE
        else:
            kind = tarfile.CHRTYPE if stat.S_ISCHR(st.st_mode) else tarfile.BLKTYPE
        info = self._info(path, kind, meta)
        if kind != tarfile.FIFOTYPE:
            info.devmajor, info.devminor = os.major(st.st_rdev), os.minor(st.st_rdev)
        self._add(info)

    def marker(self, path: str) -> None:
        """An empty whiteout file (``.wh.NAME`` or the opaque marker)."""
        self.parents(path)
        self._add(self._info(path, tarfile.REGTYPE, Meta(0o644)))

    def whiteout(self, path: str) -> None:
        parent, name = posixpath.split(path)
        self.marker(posixpath.join(parent, WHITEOUT + name))

    def member(self, path: str, info: tarfile.TarInfo, data: IO[bytes] | None, link_target: str = "") -> None:
        """An entry copied from another tar (ADD of a local archive), renamed to ``path``."""
        if info.isdir():
            self.directory(path, Meta(info.mode, info.uid, info.gid, int(info.mtime)))
            return
        self.parents(path)
        copy = _copy.copy(info)
        copy.name = _rel(path)
        copy.uname = copy.gname = ""
        if info.islnk():
            copy.linkname = _rel(link_target)
        self._add(copy, data)
