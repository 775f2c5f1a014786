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

The rules are carried out in C (csrc/untar.c), fed the decompressed
stream in 1 MiB chunks: with Python's tarfile, parsing headers and
creating entries cost ~0.15 ms per entry, most of a pull's CPU time.
``clean_name`` stays here for the Python callers that check names of
their own (image load, build COPY).
"""
from __future__ import annotations

import logging
import lzma
import os
import posixpath
from typing import BinaryIO

from pyns._native import ffi, lib
from pyns.errors import LayerError
from pyns.images.compression import INFLATE_ERRORS
from pyns.records import record
from pyns.runtime import rootless

log = logging.getLogger(__name__)

WHITEOUT_PREFIX = ".wh."
WHITEOUT_META_PREFIX = ".wh..wh."
OPAQUE_MARKER = ".wh..wh..opq"
_CHUNK = 1 << 20


@record
class UnpackResult:
    """What an unpack produced: bytes of regular-file content and entry count."""

    size: int = 0
    entries: int = 0


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


def unpack(stream: BinaryIO, dest: str, same_owner: bool | None = None) -> UnpackResult:
    """Extract the uncompressed tar ``stream`` into the existing directory ``dest``.

    ``same_owner`` restores uid/gid (default: when running as root). The
    stream is read only up to the end-of-archive marker; callers that hash
    the stream must drain it afterwards.
    """
    if same_owner is None:
        same_owner = os.geteuid() == 0
    flags = (lib.PYNS_UNTAR_SAME_OWNER if same_owner else 0) | \
        (lib.PYNS_UNTAR_USER_XATTR if rootless.active() else 0)
    err = ffi.new("struct pyns_error *")
    untar = lib.pyns_untar_new(os.fsencode(os.path.abspath(dest)), flags, err)
    if untar == ffi.NULL:
        raise LayerError(_message(err))
    try:
        try:
            read = getattr(stream, "read1", stream.read)  # the parser takes chunks of any size
            while True:
                chunk = read(_CHUNK)
                if not chunk:
                    break
                done = lib.pyns_untar_feed(untar, ffi.from_buffer(chunk), len(chunk), err)
                if done < 0:
                    raise LayerError(_message(err))
                if done:
                    break
        except (EOFError, lzma.LZMAError, *INFLATE_ERRORS) as e:
            raise LayerError(f"corrupt layer stream: {e}") from None
        result = ffi.new("struct pyns_untar_result *")
        if lib.pyns_untar_finish(untar, result, err) < 0:
            raise LayerError(_message(err))
    finally:
        lib.pyns_untar_free(untar)
    if result.warnings:
        log.warning("%d xattr(s) not restored; the last: %s", result.warnings,
                    ffi.string(result.warning).decode(errors="replace"))
    return UnpackResult(result.size, result.entries)


def _message(err: "ffi.CData") -> str:
    return ffi.string(err.msg).decode("utf-8", "surrogateescape")
