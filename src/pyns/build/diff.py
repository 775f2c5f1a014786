"""A RUN step's changes: the container's overlay upper directory as layer entries.

overlayfs records a deletion as a 0/0 character device and a directory
that hides everything below it with ``trusted.overlay.opaque=y``; both
become OCI whiteouts. Two kinds of entries are *not* the step's work and
are left out, as docker's init layer keeps them out of its commits:

* mount points the runtime creates: ``/etc/hosts``, ``/etc/hostname``,
  ``/etc/resolv.conf`` (bind mounts: nothing written to them persists) and
  empty ``/proc``, ``/dev``, ``/sys``, plus parent directories that were
  only copied up to hold them;
* anything below a declared VOLUME: the classic builder runs steps with
  the volume mounted, so such changes are discarded.

Overlay's own xattrs (``trusted.overlay.*``) are dropped; others (file
capabilities, ``user.*``) are kept.
"""
from __future__ import annotations

import os
import stat
from collections.abc import Iterable

from pyns.build.layertar import LayerWriter, Meta
from pyns.build.rootfs import LayeredFS, is_opaque
from pyns.records import field, record

RUNTIME_FILES = frozenset({"etc/hosts", "etc/hostname", "etc/resolv.conf"})
RUNTIME_DIRS = frozenset({"proc", "dev", "sys"})
RUNTIME_PARENTS = frozenset({"etc"})
_OVERLAY_XATTRS = ("trusted.overlay.", "user.overlay.")


@record
class _Item:
    rel: str
    host: str
    st: os.stat_result
    opaque: bool = False
    children: list[_Item] = field(default_factory=list)


def _xattrs(host: str) -> dict[str, str]:
    try:
        names = os.listxattr(host, follow_symlinks=False)
    except OSError:
        return {}
    out = {}
    for name in names:
        if name.startswith(_OVERLAY_XATTRS):
            continue
        try:
            out[name] = os.getxattr(host, name, follow_symlinks=False).decode("utf-8", "surrogateescape")
        except OSError:
            continue
    return out


class UpperDiff:
    """Collects an upper directory's entries, then writes them to a :class:`LayerWriter`."""

    def __init__(self, upper: str, lower: LayeredFS, volumes: Iterable[str] = ()) -> None:
        self.upper = upper
        self.lower = lower
        self.volumes = [v.strip("/") for v in volumes if v.strip("/")]
        self.items = self._scan("")

    def _under_volume(self, rel: str) -> bool:
        return any(rel.startswith(v + "/") for v in self.volumes)

    def _scan(self, top: str) -> list[_Item]:
        items = []
        for name in sorted(os.listdir(os.path.join(self.upper, top))):
            rel = f"{top}/{name}" if top else name
            if self._under_volume(rel):
                continue
            host = os.path.join(self.upper, rel)
            st = os.lstat(host)
            if rel in RUNTIME_FILES and stat.S_ISREG(st.st_mode):
                continue
            if stat.S_ISDIR(st.st_mode):
                item = _Item(rel, host, st, is_opaque(host))
                item.children = self._scan(rel)
                had_children = bool(os.listdir(host))
                if not item.children and not item.opaque and self._only_runtime(item, had_children):
                    continue
                items.append(item)
            else:
                items.append(_Item(rel, host, st))
        return items

    def _only_runtime(self, item: _Item, had_children: bool) -> bool:
        """A directory that exists only because the runtime mounted something in or on it."""
        if item.rel not in (RUNTIME_PARENTS if had_children else RUNTIME_DIRS):
            return False
        before = self.lower.lstat("/" + item.rel)
        if before is None:
            return True
        return (before.is_dir and Meta.of(before.st).mode == Meta.of(item.st).mode
                and (before.st.st_uid, before.st.st_gid) == (item.st.st_uid, item.st.st_gid))

    def empty(self) -> bool:
        return not self.items

    def write(self, writer: LayerWriter) -> None:
        links: dict[tuple[int, int], str] = {}
        self._write(writer, self.items, links)

    def _write(self, writer: LayerWriter, items: list[_Item], links: dict[tuple[int, int], str]) -> None:
        for item in items:
            path, st, meta = "/" + item.rel, item.st, Meta.of(item.st)
            mode = st.st_mode
            if stat.S_ISDIR(mode):
                writer.directory(path, meta, xattrs=_xattrs(item.host), opaque=item.opaque)
                self._write(writer, item.children, links)
            elif stat.S_ISCHR(mode) and st.st_rdev == 0:
                writer.whiteout(path)
            elif stat.S_ISLNK(mode):
                writer.symlink(path, meta, os.readlink(item.host))
            elif stat.S_ISREG(mode):
                key = (st.st_dev, st.st_ino)
                if st.st_nlink > 1 and key in links:
                    writer.hardlink(path, meta, links[key])
                    continue
                links[key] = path
                writer.host_file(path, meta, item.host, _xattrs(item.host))
            elif stat.S_ISFIFO(mode) or stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
                writer.node(path, meta, st)
            # sockets are not carried into images, as in docker
