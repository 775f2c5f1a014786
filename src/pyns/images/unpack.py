"""Safe extraction of an OCI layer tarball into an overlayfs lower directory.

Layer tarballs come from registries and users, so they are treated as
hostile: nothing may be written outside the destination, and nothing is
ever written *through* a symlink the tarball itself planted. The rules:

* names are cleaned lexically; absolute names are taken relative to the
  layer root (as docker does) and anything that climbs above it is refused;
* every parent directory of an entry is checked with ``lstat``: a symlink
  (or non-directory) in a parent position is refused, so ``a -> /etc``
  followed by ``a/passwd`` fails instead of writing to the host;
* the final component is removed before it is recreated and files are
  opened ``O_CREAT|O_EXCL|O_NOFOLLOW``, so an existing symlink is replaced,
  never followed;
* hardlink targets must already exist inside the layer.

OCI whiteouts become overlayfs whiteouts so the directory can be used as a
``lowerdir`` as is: ``.wh.NAME`` turns into a 0/0 character device ``NAME``
and ``.wh..wh..opq`` into ``trusted.overlay.opaque=y`` on its directory.
Ownership, modes (setuid included), xattrs and mtimes are restored;
directory mtimes last, because creating children changes them.
"""
from __future__ import annotations

import errno
import io
import logging
import lzma
import os
import posixpath
import stat
import tarfile
from typing import Any, BinaryIO, Self

from pyns.errors import LayerError
from pyns.images.compression import INFLATE_ERRORS
from pyns.records import record
from pyns.runtime import rootless
from pyns.fsutil import remove_tree

log = logging.getLogger(__name__)

WHITEOUT_PREFIX = ".wh."
WHITEOUT_META_PREFIX = ".wh..wh."
OPAQUE_MARKER = ".wh..wh..opq"
PAX_XATTR_PREFIX = "SCHILY.xattr."
# overlayfs interprets these; a layer must not smuggle in redirects or opaque
# flags except through the OCI whiteout files above.
_RESERVED_XATTR_PREFIXES = ("trusted.overlay.", "user.overlay.")
_COPY_CHUNK = 1 << 20


@record
class UnpackResult:
    """What an unpack produced: bytes of regular-file content and entry count."""

    size: int = 0
    entries: int = 0


class _StrictTarInfo(tarfile.TarInfo):
    """TarInfo that turns a corrupt header into an error instead of an EOF.

    ``tarfile`` silently ends the archive at a bad checksum or a truncated
    header after the first member; a layer cut short that way would be
    stored as if it were complete.
    """

    @classmethod
    def fromtarfile(cls, tf: tarfile.TarFile) -> Self:
        try:
            return super().fromtarfile(tf)
        except (tarfile.TruncatedHeaderError, tarfile.InvalidHeaderError) as e:  # type: ignore[attr-defined]
            raise LayerError(f"invalid tar header at offset {tf.offset}: {e}") from None


def clean_name(name: str) -> str:
    """Lexically clean a tar entry name to a path relative to the layer root.

    Returns ``""`` for the root itself. Raises :class:`LayerError` if the
    name climbs out of the root (``../x``, ``a/../../x``, ``/../x``).
    """
    stripped = name.lstrip("/")
    if not stripped.strip("/"):
        return ""
    rel = posixpath.normpath(stripped)
    if rel == ".":
        return ""
    if rel == ".." or rel.startswith("../"):
        raise LayerError(f"{name}: path escapes the layer root")
    return rel


def _pax_ns(text: str | None) -> int | None:
    """A PAX decimal timestamp ("1700000000.123456789", maybe negative) in ns, or None."""
    if not text:
        return None
    sign = -1 if text.startswith("-") else 1
    whole, _, frac = text.lstrip("+-").partition(".")
    if not whole.isdigit() or (frac and not frac.isdigit()):
        return None
    return sign * (int(whole) * 1_000_000_000 + int((frac + "000000000")[:9]))


class _Unpacker:
    """One extraction: destination, ownership policy, totals, dir mtimes to restore last."""

    def __init__(self, dest: str, same_owner: bool) -> None:
        self.dest = dest
        self.same_owner = same_owner
        self.result = UnpackResult()
        self.dir_times: dict[str, tuple[int, int]] = {}
        # Parents already checked to be real directories. Only this unpacker
        # changes the tree, so the set stays exact as long as removing a
        # directory forgets it and everything below it (see _clear).
        self.known_dirs: set[str] = set()

    # -- path safety ---------------------------------------------------------

    def _walk_parents(self, rel: str, entry: str, create: bool) -> str:
        """Check (and optionally create) each parent of ``rel``; return the parent path."""
        prefix = ""
        for part in rel.split("/")[:-1]:
            prefix = f"{prefix}/{part}" if prefix else part
            if prefix in self.known_dirs:
                continue
            current = os.path.join(self.dest, prefix)
            try:
                st = os.lstat(current)
            except FileNotFoundError:
                if not create:
                    raise LayerError(f"{entry}: {prefix} does not exist in the layer") from None
                os.mkdir(current, 0o755)
                os.chmod(current, 0o755)
                self.known_dirs.add(prefix)
                continue
            if stat.S_ISLNK(st.st_mode):
                raise LayerError(f"{entry}: parent {prefix} is a symlink")
            if not stat.S_ISDIR(st.st_mode):
                raise LayerError(f"{entry}: parent {prefix} is not a directory")
            self.known_dirs.add(prefix)
        return os.path.join(self.dest, prefix) if prefix else self.dest

    def _clear(self, path: str, keep_dir: bool) -> bool:
        """Remove whatever is at ``path``; keep an existing dir if ``keep_dir``. True if kept."""
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            return False
        if stat.S_ISDIR(st.st_mode):
            if keep_dir:
                return True
            remove_tree(path)
            rel = os.path.relpath(path, self.dest)
            self.known_dirs = {d for d in self.known_dirs if d != rel and not d.startswith(rel + "/")}
        else:
            os.unlink(path)
        return False

    # -- metadata ------------------------------------------------------------

    def _chown(self, target: str | int, member: tarfile.TarInfo) -> None:
        if not self.same_owner:
            return
        if isinstance(target, int):
            os.fchown(target, member.uid, member.gid)
        else:
            os.chown(target, member.uid, member.gid, follow_symlinks=False)

    def _xattrs(self, target: str | int, member: tarfile.TarInfo, symlink: bool = False) -> None:
        for key, value in member.pax_headers.items():
            if not key.startswith(PAX_XATTR_PREFIX):
                continue
            name = key[len(PAX_XATTR_PREFIX):]
            if name.startswith(_RESERVED_XATTR_PREFIXES):
                log.warning("%s: ignoring reserved xattr %s", member.name, name)
                continue
            data = value.encode("utf-8", "surrogateescape")
            try:
                if isinstance(target, int):
                    os.setxattr(target, name, data)
                else:
                    os.setxattr(target, name, data, follow_symlinks=not symlink)
            except OSError as e:
                if e.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP):
                    raise
                log.warning("%s: cannot set xattr %s: %s", member.name, name, e.strerror)

    @staticmethod
    def _times(member: tarfile.TarInfo) -> tuple[int, int]:
        """(atime, mtime) in ns; PAX strings are parsed exactly (floats lose the last digits)."""
        mtime = _pax_ns(member.pax_headers.get("mtime"))
        if mtime is None:
            mtime = int(member.mtime) * 1_000_000_000
        atime = _pax_ns(member.pax_headers.get("atime"))
        return (mtime if atime is None else atime), mtime

    # -- entry kinds ---------------------------------------------------------

    def _regular(self, tf: tarfile.TarFile, member: tarfile.TarInfo, path: str) -> None:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
        try:
            src = tf.extractfile(member) if member.size else None
            while src is not None:
                chunk = src.read(_COPY_CHUNK)
                if not chunk:
                    break
                view = memoryview(chunk)
                while view:
                    view = view[os.write(fd, view):]
            self._chown(fd, member)
            os.fchmod(fd, member.mode & 0o7777)  # after chown, which clears setuid
            self._xattrs(fd, member)  # after chown, which clears security.capability
            os.utime(fd, ns=self._times(member))
        finally:
            os.close(fd)
        self.result.size += member.size

    def _directory(self, member: tarfile.TarInfo, rel: str, path: str, existed: bool) -> None:
        if not existed:
            os.mkdir(path, 0o700)
        self.known_dirs.add(rel)
        self._chown(path, member)
        os.chmod(path, member.mode & 0o7777)
        self._xattrs(path, member)
        self.dir_times[rel] = self._times(member)

    def _symlink(self, member: tarfile.TarInfo, path: str) -> None:
        os.symlink(member.linkname, path)
        self._chown(path, member)
        self._xattrs(path, member, symlink=True)
        os.utime(path, ns=self._times(member), follow_symlinks=False)

    def _hardlink(self, member: tarfile.TarInfo, path: str) -> None:
        try:
            target_rel = clean_name(member.linkname)
        except LayerError:
            raise LayerError(f"{member.name}: hardlink target {member.linkname} escapes the layer root") from None
        if not target_rel:
            raise LayerError(f"{member.name}: hardlink to the layer root")
        self._walk_parents(target_rel, member.name, create=False)
        target = os.path.join(self.dest, target_rel)
        try:
            st = os.lstat(target)
        except FileNotFoundError:
            raise LayerError(f"{member.name}: hardlink target {member.linkname} not found in layer") from None
        if stat.S_ISDIR(st.st_mode):
            raise LayerError(f"{member.name}: hardlink target {member.linkname} is a directory")
        os.link(target, path, follow_symlinks=False)

    def _node(self, member: tarfile.TarInfo, path: str) -> None:
        if member.isfifo():
            os.mkfifo(path, 0o600)
        else:
            kind = stat.S_IFCHR if member.ischr() else stat.S_IFBLK
            try:
                os.mknod(path, kind | 0o600, os.makedev(member.devmajor, member.devminor))
            except PermissionError:
                raise LayerError(f"{member.name}: creating device nodes requires root") from None
        self._chown(path, member)
        os.chmod(path, member.mode & 0o7777)
        self._xattrs(path, member)
        os.utime(path, ns=self._times(member), follow_symlinks=False)

    def _whiteout(self, member: tarfile.TarInfo, rel: str, base: str) -> None:
        parent = self._walk_parents(rel, member.name, create=True)
        if base == OPAQUE_MARKER:
            try:
                os.setxattr(parent, rootless.opaque_xattr(), b"y", follow_symlinks=False)
            except PermissionError:
                raise LayerError(f"{member.name}: marking an opaque directory requires root") from None
            return
        if base.startswith(WHITEOUT_META_PREFIX):
            return  # aufs bookkeeping (.wh..wh.plnk ...): meaningless for overlayfs
        hidden = base[len(WHITEOUT_PREFIX):]
        if hidden in ("", ".", ".."):
            raise LayerError(f"{member.name}: invalid whiteout name")
        path = os.path.join(parent, hidden)
        self._clear(path, keep_dir=False)
        try:
            os.mknod(path, stat.S_IFCHR, os.makedev(0, 0))
        except PermissionError:
            raise LayerError(f"{member.name}: creating whiteouts requires root") from None
        self._chown(path, member)

    # -- driver --------------------------------------------------------------

    def entry(self, tf: tarfile.TarFile, member: tarfile.TarInfo) -> None:
        rel = clean_name(member.name)
        self.result.entries += 1
        if not rel:
            if not member.isdir():
                raise LayerError(f"{member.name}: the layer root must be a directory")
            return  # like docker: the root's own metadata is not applied
        base = posixpath.basename(rel)
        if base.startswith(WHITEOUT_PREFIX):
            self._whiteout(member, rel, base)
            return
        self._walk_parents(rel, member.name, create=True)
        path = os.path.join(self.dest, rel)
        existed = self._clear(path, keep_dir=member.isdir())
        self.dir_times.pop(rel, None)
        if member.isreg():
            self._regular(tf, member, path)
        elif member.isdir():
            self._directory(member, rel, path, existed)
        elif member.issym():
            self._symlink(member, path)
        elif member.islnk():
            self._hardlink(member, path)
        elif member.ischr() or member.isblk() or member.isfifo():
            self._node(member, path)
        else:
            raise LayerError(f"{member.name}: unsupported tar entry type {member.type!r}")

    def finish(self) -> None:
        """Restore directory mtimes, deepest first, re-checking each path is still a real dir."""
        for rel in sorted(self.dir_times, key=lambda r: r.count("/"), reverse=True):
            try:
                self._walk_parents(rel, rel, create=False)
                path = os.path.join(self.dest, rel)
                if stat.S_ISDIR(os.lstat(path).st_mode):
                    os.utime(path, ns=self.dir_times[rel], follow_symlinks=False)
            except (LayerError, FileNotFoundError):
                continue


def unpack(stream: BinaryIO, dest: str, same_owner: bool | None = None) -> UnpackResult:
    """Extract the uncompressed tar ``stream`` into the existing directory ``dest``.

    ``same_owner`` restores uid/gid (default: when running as root). The
    stream is read only up to the end-of-archive marker; callers that hash
    the stream must drain it afterwards.
    """
    if same_owner is None:
        same_owner = os.geteuid() == 0
    unpacker = _Unpacker(os.path.abspath(dest), same_owner)
    try:
        _run(unpacker, stream)
    except (EOFError, lzma.LZMAError, *INFLATE_ERRORS) as e:
        raise LayerError(f"corrupt layer stream: {e}") from None
    unpacker.finish()
    return unpacker.result


class _ForwardRaw(io.RawIOBase):
    """A forward-only "seekable" view of a stream, for tarfile's random-access mode.

    tarfile's stream mode (``r|``) copies its whole read buffer on every
    read, so it must use tiny (10 KiB) buffers and pays Python overhead per
    10 KiB of layer. Its random-access mode only ever seeks forward when
    members are consumed in order, which this class provides by reading and
    discarding; wrapped in a 1 MiB ``io.BufferedReader``, header reads are
    C-speed and file contents move in large chunks.
    """

    def __init__(self, stream: BinaryIO) -> None:
        self._stream = stream
        self._pos = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def readinto(self, buffer: Any) -> int:
        data = self._stream.read(len(buffer))
        n = len(data)
        buffer[:n] = data
        self._pos += n
        return n

    def seek(self, pos: int, whence: int = io.SEEK_SET) -> int:
        if whence == io.SEEK_CUR:
            pos += self._pos
        elif whence != io.SEEK_SET:
            raise io.UnsupportedOperation("tar streams only seek forward")
        if pos < self._pos:
            raise LayerError("invalid tar stream: an entry points backwards")
        while self._pos < pos:
            data = self._stream.read(min(pos - self._pos, _COPY_CHUNK))
            if not data:
                break
            self._pos += len(data)
        return self._pos


def _run(unpacker: _Unpacker, stream: BinaryIO) -> None:
    try:
        buffered = io.BufferedReader(_ForwardRaw(stream), buffer_size=_COPY_CHUNK)
        tf = tarfile.open(fileobj=buffered, mode="r:", tarinfo=_StrictTarInfo)
    except tarfile.ReadError as e:
        if str(e) == "empty file":
            return  # like Go's archive/tar: no bytes at all is an empty layer
        raise LayerError(f"invalid tar stream: {e}") from None
    except OSError as e:
        raise LayerError(f"invalid tar stream: {e}") from None
    with tf:
        member: tarfile.TarInfo | None = None
        try:
            for member in tf:
                unpacker.entry(tf, member)
        except LayerError:
            raise
        except tarfile.TarError as e:
            where = f" after {member.name}" if member is not None else ""
            raise LayerError(f"invalid tar stream{where}: {e}") from None
        except OSError as e:
            name = member.name if member is not None else "?"
            raise LayerError(f"{name}: {e.strerror or e}") from None
