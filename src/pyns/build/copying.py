"""COPY/ADD semantics: where each source lands, and the layer that says so.

docker's classic rules, reproduced:

* a relative destination is relative to WORKDIR; symlinks in the
  destination are followed inside the image;
* a file goes *into* the destination when it ends with ``/`` or already
  is a directory, else it *becomes* the destination; several sources need
  a destination ending with ``/``;
* a directory source copies its *contents*; a destination directory that
  did not exist takes the source directory's mode;
* ADD extracts local tar archives (detected by content) into the
  destination, keeping the archive's owners; URLs are saved with mode 0600
  and the server's Last-Modified time;
* every other new file and directory is owned by 0:0 or ``--chown``,
  and new parent directories are 0755.
"""
from __future__ import annotations

import io
import os
import posixpath
import stat
import tarfile

from pyns.build.layertar import LayerWriter, Meta
from pyns.build.rootfs import LayeredFS
from pyns.build.sources import Source
from pyns.errors import BuildError, LayerError
from pyns.images.compression import decompressed
from pyns.images.unpack import WHITEOUT_PREFIX, clean_name
from pyns.records import record


@record(frozen=True)
class Destination:
    path: str  # resolved, absolute
    is_dir_hint: bool  # written with a trailing slash
    existing: os.stat_result | None


@record(frozen=True)
class CopyOptions:
    uid: int = 0
    gid: int = 0
    chmod: int | None = None
    now: int = 0

    def meta(self, st_mode: int, mtime: int) -> Meta:
        mode = self.chmod if self.chmod is not None else stat.S_IMODE(st_mode)
        return Meta(mode, self.uid, self.gid, mtime)


def parse_chmod(text: str | None) -> int | None:
    if text is None:
        return None
    try:
        value = int(text, 8)
    except ValueError:
        raise BuildError(f"invalid chmod parameter: {text!r}: must be an octal mode") from None
    if not 0 <= value <= 0o7777:
        raise BuildError(f"invalid chmod parameter: {text!r}")
    return value


def destination(dest: str, workdir: str, fs: LayeredFS) -> Destination:
    """Resolve a COPY destination against WORKDIR and the image's symlinks."""
    slash = dest.endswith("/")
    if not dest.startswith("/"):
        dest = posixpath.join("/", workdir or "/", dest)
    path = fs.resolve(posixpath.normpath(dest))
    entry = fs.lstat(path)
    return Destination(path, slash, entry.st if entry is not None else None)


def check_count(sources: list[Source], dest: Destination, cmd: str) -> None:
    if len(sources) > 1 and not dest.is_dir_hint:
        raise BuildError(f"When using {cmd} with more than one source file, the destination must be a "
                         "directory and end with a /")


def _into_dir(dest: Destination) -> bool:
    return dest.is_dir_hint or (dest.existing is not None and stat.S_ISDIR(dest.existing.st_mode))


def write_sources(writer: LayerWriter, sources: list[Source], dest: Destination, opts: CopyOptions) -> None:
    """Write every source's entries into the layer being built."""
    for source in sources:
        if source.is_dir:
            _directory(writer, source, dest, opts)
        elif source.archive:
            _archive(writer, source, dest.path)
        else:
            target = posixpath.join(dest.path, source.name) if _into_dir(dest) else dest.path
            _single(writer, source, target, opts)


def _single(writer: LayerWriter, source: Source, target: str, opts: CopyOptions) -> None:
    if source.kind == "url":
        writer.host_file(target, Meta(opts.chmod if opts.chmod is not None else 0o600, opts.uid, opts.gid,
                                      source.mtime), source.data_path)
    elif source.kind == "heredoc":
        writer.file(target, opts.meta(0o644, opts.now), io.BytesIO(source.data), len(source.data))
    else:
        assert source.fs is not None and source.st is not None
        _entry(writer, source.fs.host(source.rel), source.st, target, opts)


def _entry(writer: LayerWriter, host: str, st: os.stat_result, target: str, opts: CopyOptions) -> None:
    meta = opts.meta(st.st_mode, int(st.st_mtime))
    mode = st.st_mode
    if stat.S_ISDIR(mode):
        writer.directory(target, meta)
    elif stat.S_ISREG(mode):
        writer.host_file(target, meta, host)
    elif stat.S_ISLNK(mode):
        writer.symlink(target, Meta(0o777, opts.uid, opts.gid, meta.mtime), os.readlink(host))
    elif stat.S_ISFIFO(mode) or stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        writer.node(target, meta, st)


def _directory(writer: LayerWriter, source: Source, dest: Destination, opts: CopyOptions) -> None:
    assert source.fs is not None and source.st is not None
    if dest.existing is not None and not stat.S_ISDIR(dest.existing.st_mode):
        raise BuildError(f"cannot copy directory to existing file: {dest.path}")
    if dest.existing is None and dest.path != "/":
        writer.directory(dest.path, opts.meta(source.st.st_mode, int(source.st.st_mtime)))
    prefix = source.rel + "/" if source.rel else ""
    for rel, st in source.fs.walk(source.rel):
        target = posixpath.join(dest.path, rel[len(prefix):])
        _entry(writer, source.fs.host(rel), st, target, opts)


def _archive(writer: LayerWriter, source: Source, dest: str) -> None:
    """Extract a local tar (plain or compressed) into ``dest``, as ADD does."""
    assert source.fs is not None
    with open(source.fs.host(source.rel), "rb") as f:
        try:
            with tarfile.open(fileobj=decompressed(f), mode="r|") as tf:
                for member in tf:
                    rel = clean_name(member.name)
                    if not rel or posixpath.basename(rel).startswith(WHITEOUT_PREFIX):
                        continue
                    target = posixpath.join(dest, rel)
                    link = posixpath.join(dest, clean_name(member.linkname)) if member.islnk() else ""
                    data = tf.extractfile(member) if member.isreg() else None
                    writer.member(target, member, data, link)
        except (tarfile.TarError, LayerError, EOFError, OSError) as e:
            raise BuildError(f"cannot extract {source.rel}: {e}") from None
