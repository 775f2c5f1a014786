"""Recognise and undo layer compression by sniffing magic bytes.

Layer tarballs arrive gzip-compressed from registries and `docker save`,
often uncompressed from ``docker export | pyns import``, and occasionally
as bzip2/xz/zstd. The diff_id is defined over the *uncompressed* tar, so
decompression has to happen before hashing, on a forward-only stream.
"""
from __future__ import annotations

import bz2
import lzma
import zlib
from typing import BinaryIO, cast

from pyns.errors import LayerError

try:  # python-isal: zlib's inflate API with ~35% less CPU, on a pull's dominant cost
    from isal import isal_zlib as _inflate
except ImportError:  # pragma: no cover - a dependency; plain zlib where it cannot install
    _inflate = zlib  # type: ignore[no-redef]

#: What a corrupt gzip stream raises, whichever inflate is in use.
INFLATE_ERRORS: tuple[type[BaseException], ...] = (zlib.error, _inflate.error)

GZIP_MAGIC = b"\x1f\x8b"
BZIP2_MAGIC = b"BZh"
XZ_MAGIC = b"\xfd7zXZ\x00"
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
_IN_CHUNK = 256 << 10
_OUT_CHUNK = 1 << 20


class _Prefixed:
    """A stream that replays already-sniffed bytes before the rest."""

    def __init__(self, head: bytes, stream: BinaryIO) -> None:
        self._head = head
        self._stream = stream

    def read(self, n: int = -1) -> bytes:
        if not self._head:
            return self._stream.read(n)
        if n < 0:
            data, self._head = self._head + self._stream.read(), b""
            return data
        data, self._head = self._head[:n], self._head[n:]
        if len(data) < n:
            data += self._stream.read(n - len(data))  # a full read, as from a file
        return data

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


class _GzipStream:
    """Multi-member gzip decompression that feeds zlib large chunks.

    Python 3.11's GzipFile hands zlib 8 KiB of input per call, which makes
    every layer byte cross several Python-level readers in tiny pieces;
    this reader asks for 256 KiB at a time. Concatenated members (pigz,
    appended streams) are read through, like Go's gzip reader does.
    """

    def __init__(self, raw: BinaryIO) -> None:
        self._raw = raw
        self._zlib = _inflate.decompressobj(31)
        self._done = False

    def readable(self) -> bool:
        return True

    def read(self, n: int = -1) -> bytes:
        """Up to ``n`` bytes, fewer only at the end (like a file: tarfile relies on full reads)."""
        if n < 0:
            return b"".join(iter(lambda: self.read(_OUT_CHUNK), b""))
        pieces: list[bytes] = []
        while n > 0:
            piece = self._next(n)
            if not piece:
                break
            pieces.append(piece)
            n -= len(piece)
        return pieces[0] if len(pieces) == 1 else b"".join(pieces)

    def read1(self, n: int = _OUT_CHUNK) -> bytes:
        """What one inflate call gives, up to ``n`` bytes (b"" at the end): no
        joining pieces into full reads for a reader that takes any size."""
        return self._next(n)

    def _next(self, n: int) -> bytes:
        while not self._done:
            if self._zlib.eof:
                data = self._zlib.unused_data or self._raw.read(_IN_CHUNK)
                if not data:
                    self._done = True
                    break
                self._zlib = _inflate.decompressobj(31)
            else:
                data = self._zlib.unconsumed_tail or self._raw.read(_IN_CHUNK)
                if not data:
                    raise EOFError("compressed stream ended before the end-of-stream marker was reached")
            out = self._zlib.decompress(data, n)
            if out:
                return out
        return b""


def decompressed(stream: BinaryIO) -> BinaryIO:
    """Wrap ``stream`` so reads return the uncompressed tar bytes."""
    head = _read_exactly(stream, 6)
    raw: BinaryIO = _Prefixed(head, stream)  # type: ignore[assignment]
    kind = detect(head)
    if kind == "none":
        return raw
    if kind == "gzip":
        return cast(BinaryIO, _GzipStream(raw))
    if kind == "bzip2":
        return bz2.BZ2File(raw, mode="rb")  # type: ignore[return-value]
    if kind == "xz":
        return lzma.LZMAFile(raw, mode="rb")  # type: ignore[return-value]
    try:
        import zstandard  # type: ignore[import-not-found]
    except ImportError:
        raise LayerError("zstd-compressed layer: install the 'zstandard' module to unpack it") from None
    return zstandard.ZstdDecompressor().stream_reader(  # type: ignore[no-any-return]
        raw, read_size=_IN_CHUNK, read_across_frames=True)
