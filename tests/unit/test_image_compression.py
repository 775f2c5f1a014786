"""Streaming decompression: gzip members, full reads, truncation, zstd frames, sniffing."""
from __future__ import annotations

import gzip
import io
import os

import pytest

from pyns.images.compression import decompressed, detect


class Dribble(io.RawIOBase):
    """Hands out at most 7 bytes per read, like a slow socket."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    def readable(self) -> bool:
        return True

    def read(self, n: int = -1) -> bytes:
        n = 7 if n < 0 else min(n, 7)
        out, self.data = self.data[:n], self.data[n:]
        return out


def test_gzip_members_and_full_reads():
    a, b = os.urandom(300_000), b"tail" * 1000
    stream = decompressed(io.BytesIO(gzip.compress(a) + gzip.compress(b)))  # type: ignore[arg-type]
    first = stream.read(100_000)
    assert first == a[:100_000]  # a full read, not whatever one zlib call produced
    assert stream.read() == a[100_000:] + b
    assert stream.read(10) == b""


def test_gzip_from_a_dribbling_source():
    data = b"hello world " * 5000
    stream = decompressed(Dribble(gzip.compress(data)))  # type: ignore[arg-type]
    assert stream.read(len(data) + 10) == data


def test_truncated_gzip_raises():
    packed = gzip.compress(os.urandom(50_000))
    stream = decompressed(io.BytesIO(packed[: len(packed) // 2]))  # type: ignore[arg-type]
    with pytest.raises(EOFError):
        stream.read()


def test_plain_stream_full_reads_after_sniffing():
    stream = decompressed(Dribble(b"0123456789abcdef"))  # type: ignore[arg-type]
    assert stream.read(10) == b"0123456789" and stream.read(100) == b"abcdef"


def test_zstd_multiple_frames():
    zstandard = pytest.importorskip("zstandard")
    packed = zstandard.ZstdCompressor().compress(b"one ") + zstandard.ZstdCompressor().compress(b"two")
    assert detect(packed) == "zstd"
    assert decompressed(io.BytesIO(packed)).read() == b"one two"  # type: ignore[arg-type]
