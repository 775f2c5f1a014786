"""Recognise and undo layer compression by sniffing magic bytes.

Layer tarballs arrive gzip-compressed from registries and `docker save`,
often uncompressed from ``docker export | pyns import``, and occasionally
as bzip2/xz/zstd. The diff_id is defined over the *uncompressed* tar, so
decompression has to happen before hashing, on a forward-only stream.
"""
from __future__ import annotations

import bz2
import gzip
import lzma
from typing import BinaryIO, cast

from pyns.errors import LayerError

GZIP_MAGIC = b"\x1f\x8b"
BZIP2_MAGIC = b"BZh"
XZ_MAGIC = b"\xfd7zXZ\x00"
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"


class _Prefixed:
    """A stream that replays already-sniffed bytes before the rest."""

    def __init__(self, head: bytes, stream: BinaryIO) -> None:
        self._head = head
        self._stream = stream

    def read(self, n: int = -1) -> bytes:
        if self._head:
            if n < 0:
                data, self._head = self._head + self._stream.read(), b""
                return data
            data, self._head = self._head[:n], self._head[n:]
            return data
        return self._stream.read(n)

    def readable(self) -> bool:
        return True


def _read_exactly(stream: BinaryIO, n: int) -> bytes:
    buf = b""
    while len(buf) < n:
        chunk = stream.read(n - len(buf))
        if not chunk:
            break
        buf += chunk
    return buf


def detect(head: bytes) -> str:
    """Name the compression of a stream from its first bytes ('none' if plain)."""
    if head.startswith(GZIP_MAGIC):
        return "gzip"
    if head.startswith(BZIP2_MAGIC):
        return "bzip2"
    if head.startswith(XZ_MAGIC):
        return "xz"
    if head.startswith(ZSTD_MAGIC):
        return "zstd"
    return "none"


def decompressed(stream: BinaryIO) -> BinaryIO:
    """Wrap ``stream`` so reads return the uncompressed tar bytes."""
    head = _read_exactly(stream, 6)
    raw: BinaryIO = _Prefixed(head, stream)  # type: ignore[assignment]
    kind = detect(head)
    if kind == "none":
        return raw
    if kind == "gzip":
        return cast(BinaryIO, gzip.GzipFile(fileobj=raw, mode="rb"))
    if kind == "bzip2":
        return bz2.BZ2File(raw, mode="rb")  # type: ignore[return-value]
    if kind == "xz":
        return lzma.LZMAFile(raw, mode="rb")  # type: ignore[return-value]
    try:
        import zstandard  # type: ignore[import-not-found]
    except ImportError:
        raise LayerError("zstd-compressed layer: install the 'zstandard' module to unpack it") from None
    return zstandard.ZstdDecompressor().stream_reader(raw)  # type: ignore[no-any-return]
