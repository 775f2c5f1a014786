"""An image's merged filesystem, read straight from its layer directories.

COPY and WORKDIR need to know what the image already holds (does the
destination exist, is it a directory, where do its symlinks point, what
are its parents' modes, who is ``app`` in /etc/passwd) and ``COPY --from``
reads another image's files. Mounting an overlay for that would cost a
mount namespace per step; instead this class applies overlayfs's rules to
the stored layers (kept in overlay form: whiteouts are 0/0 character
devices, opaque directories carry ``trusted.overlay.opaque=y``).
Symlinks are resolved inside the image root, never on the host.
"""
from __future__ import annotations

import os
import posixpath
import stat
from collections.abc import Iterator, Sequence

from pyns.build.scoped import resolve_in_root
from pyns.records import record

OPAQUE_XATTRS = ("trusted.overlay.opaque", "user.overlay.opaque")  # the second in a user namespace (rootless)


@record(frozen=True)
class Entry:
    """A visible path: its stat and the host path that holds it (top layer for dirs)."""

    path: str  # absolute, inside the image
    host: str
    st: os.stat_result

    @property
    def is_dir(self) -> bool:
        return stat.S_ISDIR(self.st.st_mode)

    @property
    def is_symlink(self) -> bool:
        return stat.S_ISLNK(self.st.st_mode)


def _is_whiteout(st: os.stat_result) -> bool:
    return stat.S_ISCHR(st.st_mode) and st.st_rdev == 0


def is_opaque(path: str) -> bool:
    for name in OPAQUE_XATTRS:
        try:
            if os.getxattr(path, name, follow_symlinks=False) == b"y":
                return True
        except OSError:
            continue
    return False


class LayeredFS:
    """Read-only overlay semantics over ``layers`` (bottom layer first)."""

    def __init__(self, layers: Sequence[str]) -> None:
        self.top_down = list(reversed(layers))
        self._dirs: dict[str, list[str]] = {"/": list(self.top_down)}
        self._entries: dict[str, Entry | None] = {}

    def _visible_in(self, directory: str) -> list[str]:
        """Layers (top first) whose copy of ``directory`` shows through; [] if not a dir."""
        hit = self._dirs.get(directory)
        if hit is not None:
            return hit
        entry = self.lstat(directory)
        return self._dirs.get(directory, []) if entry is not None else []

    def lstat(self, path: str) -> Entry | None:
        """The visible entry at ``path`` (no symlink in it is followed), or None."""
        path = posixpath.normpath("/" + path.lstrip("/"))
        if path in self._entries:
            return self._entries[path]
        if path == "/":
            root = self.top_down[-1] if self.top_down else "/nonexistent"
            entry = Entry("/", root, os.lstat(root)) if self.top_down else None
            self._entries[path] = entry
            return entry
        parent = posixpath.dirname(path)
        layers: list[str] = []
        entry = None
        for layer in self._visible_in(parent):
            host = os.path.join(layer, path.lstrip("/"))
            try:
                st = os.lstat(host)
            except (FileNotFoundError, NotADirectoryError):
                continue
            if _is_whiteout(st):
                break
            if not stat.S_ISDIR(st.st_mode):
                if entry is None:
                    entry = Entry(path, host, st)
                break  # anything below a non-directory is hidden
            if entry is None:
                entry = Entry(path, host, st)
            layers.append(layer)
            if is_opaque(host):
                break
        if entry is not None and entry.is_dir:
            self._dirs[path] = layers
        self._entries[path] = entry
        return entry

    def listdir(self, path: str) -> list[str]:
        """Names in a visible directory, sorted; whited-out names are gone."""
        seen: dict[str, bool] = {}
        for layer in self._visible_in(posixpath.normpath(path)):
            host = os.path.join(layer, path.lstrip("/"))
            try:
                names = os.listdir(host)
            except OSError:
                continue
            for name in names:
                if name not in seen:
                    seen[name] = not _is_whiteout(os.lstat(os.path.join(host, name)))
        return sorted(n for n, visible in seen.items() if visible)

    def resolve(self, path: str, follow_last: bool = True) -> str:
        """``path`` with every symlink resolved *inside* the image root (see :mod:`scoped`)."""
        return resolve_in_root(path, self._readlink, follow_last)

    def _readlink(self, path: str) -> str | None:
        entry = self.lstat(path)
        return os.readlink(entry.host) if entry is not None and entry.is_symlink else None

    def read_file(self, path: str, limit: int = 4 << 20) -> bytes | None:
        """A regular file's bytes (symlinks followed in the image), or None."""
        entry = self.lstat(self.resolve(path))
        if entry is None or not stat.S_ISREG(entry.st.st_mode):
            return None
        with open(entry.host, "rb") as f:
            return f.read(limit)

    def walk(self, top: str) -> Iterator[Entry]:
        """Every entry below ``top`` (not ``top`` itself), parents before children."""
        for name in self.listdir(top):
            entry = self.lstat(posixpath.join(top, name))
            if entry is None:
                continue
            yield entry
            if entry.is_dir:
                yield from self.walk(entry.path)
