"""Where COPY/ADD read from: the context, another stage or image, a URL, a heredoc.

Each source path is resolved to concrete :class:`Source` s (wildcards
expanded with Go's ``filepath.Match``, one path component at a time;
symlinks followed inside the source's own root) and fingerprinted by
content and metadata, never by mtime, which is what the build cache keys
COPY/ADD on. Nothing is written here; :mod:`pyns.build.copying` turns the
sources into a layer.
"""
from __future__ import annotations

import hashlib
import os
import posixpath
import stat
from collections.abc import Iterator

from pyns.build.context import BuildContext, looks_like_tar
from pyns.build.patterns import compile_pattern, has_magic
from pyns.build.rootfs import LayeredFS
from pyns.errors import BuildError
from pyns.records import field, record

_CHUNK = 1 << 20


class SourceFS:
    """A tree COPY can read: relative paths (``""`` is the root), lstat, host paths, walks."""

    label = ""

    def resolve(self, rel: str) -> str:
        raise NotImplementedError

    def lstat(self, rel: str) -> os.stat_result | None:
        raise NotImplementedError

    def host(self, rel: str) -> str:
        raise NotImplementedError

    def walk(self, top: str) -> Iterator[tuple[str, os.stat_result]]:
        """Every entry below ``top``, parents first."""
        raise NotImplementedError

    def children(self, top: str) -> Iterator[tuple[str, os.stat_result]]:
        """The entries directly in ``top``."""
        raise NotImplementedError


class ContextFS(SourceFS):
    """The build context (``.dockerignore`` applies)."""

    label = "build context"

    def __init__(self, context: BuildContext) -> None:
        self.context = context

    def resolve(self, rel: str) -> str:
        return self.context.resolve(rel)

    def lstat(self, rel: str) -> os.stat_result | None:
        return self.context.lstat(rel)

    def host(self, rel: str) -> str:
        return self.context.host(rel)

    def walk(self, top: str) -> Iterator[tuple[str, os.stat_result]]:
        return self.context.walk(top)

    def children(self, top: str) -> Iterator[tuple[str, os.stat_result]]:
        return self.context.walk(top, recursive=False)


class ImageFS(SourceFS):
    """An image's (or finished stage's) filesystem, for ``COPY --from``."""

    label = "image"

    def __init__(self, fs: LayeredFS) -> None:
        self.fs = fs

    def resolve(self, rel: str) -> str:
        return self.fs.resolve("/" + rel).lstrip("/")

    def lstat(self, rel: str) -> os.stat_result | None:
        entry = self.fs.lstat("/" + rel)
        return entry.st if entry is not None else None

    def host(self, rel: str) -> str:
        entry = self.fs.lstat("/" + rel)
        if entry is None:
            raise BuildError(f"{rel}: file does not exist")
        return entry.host

    def walk(self, top: str) -> Iterator[tuple[str, os.stat_result]]:
        for entry in self.fs.walk("/" + top):
            yield entry.path.lstrip("/"), entry.st

    def children(self, top: str) -> Iterator[tuple[str, os.stat_result]]:
        for name in self.fs.listdir("/" + top):
            entry = self.fs.lstat(posixpath.join("/" + top, name))
            if entry is not None:
                yield entry.path.lstrip("/"), entry.st


@record
class Source:
    """One thing to copy: a file or directory tree of a SourceFS, or bytes from elsewhere.

    ``name`` is the base name used when the destination is a directory.
    ``data_path`` holds downloaded content (URLs); ``data`` a heredoc's.
    """

    kind: str  # "path", "url", "heredoc"
    name: str
    fs: SourceFS | None = None
    rel: str = ""
    st: os.stat_result | None = None
    data_path: str = ""
    data: bytes = b""
    mtime: int = 0
    archive: bool = False
    digest: str = field(default="", compare=False)

    @property
    def is_dir(self) -> bool:
        return self.st is not None and stat.S_ISDIR(self.st.st_mode)


def _file_digest(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def _entry_line(fs: SourceFS, rel: str, name: str, st: os.stat_result) -> str:
    """What identifies one entry for the cache: docker's tarsum header fields, no mtime."""
    mode = st.st_mode
    content = ""
    if stat.S_ISREG(mode):
        content = _file_digest(fs.host(rel))
    elif stat.S_ISLNK(mode):
        content = os.readlink(fs.host(rel))
    elif stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        content = f"{os.major(st.st_rdev)}:{os.minor(st.st_rdev)}"
    size = st.st_size if stat.S_ISREG(mode) else 0
    return f"{name}\0{stat.S_IFMT(mode)}\0{stat.S_IMODE(mode):o}\0{size}\0{content}\n"


def fingerprint(source: Source) -> str:
    """``file:<hex>`` / ``dir:<hex>`` for the history line and cache key."""
    h = hashlib.sha256()
    if source.kind == "path" and source.fs is not None and source.st is not None:
        h.update(_entry_line(source.fs, source.rel, ".", source.st).encode("utf-8", "surrogateescape"))
        if source.is_dir:
            prefix = source.rel + "/" if source.rel else ""
            for rel, st in source.fs.walk(source.rel):
                line = _entry_line(source.fs, rel, rel[len(prefix):], st)
                h.update(line.encode("utf-8", "surrogateescape"))
    elif source.kind == "url":
        h.update(f"{source.name}\0{_file_digest(source.data_path)}\0{source.mtime}".encode())
    else:
        h.update(source.name.encode() + b"\0" + source.data)
    source.digest = h.hexdigest()
    return f"{'dir' if source.is_dir else 'file'}:{source.digest}"


def sources_digest(sources: list[Source]) -> str:
    """docker's srcHash: the one source's, or ``multi:`` over all of them."""
    parts = [fingerprint(s) for s in sources]
    if len(parts) == 1:
        return parts[0]
    return "multi:" + hashlib.sha256("\n".join(parts).encode()).hexdigest()


def _literal_prefix(pattern: str) -> tuple[str, list[str]]:
    """Split a cleaned pattern into its wildcard-free leading directories and the rest."""
    parts = pattern.split("/")
    for i, part in enumerate(parts):
        if has_magic(part):
            return "/".join(parts[:i]), parts[i:]
    return pattern, []


def _glob(fs: SourceFS, pattern: str) -> list[str]:
    """Paths matching a Go pattern; a matched directory is not searched further."""
    compile_pattern(pattern)  # a malformed pattern is an error even if nothing could match
    base, rest = _literal_prefix(pattern)
    base = fs.resolve(base) if base else ""
    matches: list[str] = []

    def visit(directory: str, depth: int) -> None:
        regex = compile_pattern(rest[depth])
        for rel, st in fs.children(directory):
            name = rel.rsplit("/", 1)[-1]
            if not regex.fullmatch(name):
                continue
            if depth == len(rest) - 1:
                matches.append(rel)
            elif stat.S_ISDIR(st.st_mode):
                visit(rel, depth + 1)

    visit(base, 0)
    return matches


def resolve_path_sources(fs: SourceFS, raw: str, cmd: str, from_context: bool) -> list[Source]:
    """The sources one COPY/ADD argument names; BuildError when nothing is there."""
    rel = BuildContext.clean(raw)
    if has_magic(rel):
        found = _glob(fs, rel)
        if not found:
            raise BuildError(f"{cmd} failed: no source files were specified")
    else:
        found = [rel]
    out = []
    for path in found:
        real = fs.resolve(path)
        st = fs.lstat(real)
        if st is None:
            where = "file not found in build context or excluded by .dockerignore" if from_context else "file not found"
            raise BuildError(f"{cmd} failed: {where}: stat {raw}: file does not exist")
        name = posixpath.basename(real) or posixpath.basename(path)
        out.append(Source("path", name, fs, real, st))
    return out


def is_archive(path: str) -> bool:
    """docker's IsArchivePath: a (gzip/bzip2/xz compressed or plain) tar, judged by content."""
    with open(path, "rb") as f:
        return looks_like_tar(f.read(1 << 16))
