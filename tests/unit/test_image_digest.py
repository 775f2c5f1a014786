"""Digest helpers: validation, OCI chain ids, hashing and verifying readers."""
from __future__ import annotations

import hashlib
import io

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pyns.errors import InvalidArgument, LayerError
from pyns.images import digest as dg


def sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def test_of_bytes_and_split() -> None:
    d = dg.of_bytes(b"abc")
    assert d == sha(b"abc")
    assert dg.split(d) == hashlib.sha256(b"abc").hexdigest()
    assert dg.from_hex(dg.split(d)) == d


@pytest.mark.parametrize("bad", ["", "sha256:", "sha256:abc", "sha512:" + "a" * 64, "sha256:" + "A" * 64,
                                 "sha256:../../../etc/passwd", "sha256:" + "a" * 63 + "/", "a" * 64])
def test_split_rejects(bad: str) -> None:
    with pytest.raises(InvalidArgument):
        dg.split(bad)


def test_validate_messages() -> None:
    assert dg.validate("sha512:" + "a" * 128)
    with pytest.raises(InvalidArgument, match="unsupported digest algorithm"):
        dg.validate("md5:" + "a" * 32)
    with pytest.raises(InvalidArgument, match="invalid checksum digest length"):
        dg.validate("sha256:" + "a" * 32)
    with pytest.raises(InvalidArgument, match="invalid checksum digest format"):
        dg.validate("sha256")


def test_chain_ids_follow_the_oci_definition() -> None:
    a, b, c = sha(b"a"), sha(b"b"), sha(b"c")
    ab = sha(f"{a} {b}".encode())
    abc = sha(f"{ab} {c}".encode())
    assert dg.chain_id(None, a) == a
    assert dg.chain_id(a, b) == ab
    assert dg.chain_ids([a, b, c]) == [a, ab, abc]
    assert dg.chain_ids([]) == []


@given(st.binary(max_size=5000), st.integers(1, 700))
def test_hashing_reader(data: bytes, chunk: int) -> None:
    reader = dg.HashingReader(io.BytesIO(data))
    out = b""
    while piece := reader.read(chunk):
        out += piece
    assert out == data and reader.size == len(data) and reader.digest == sha(data)


def test_verifying_reader_accepts_and_rejects() -> None:
    ok = dg.VerifyingReader(io.BytesIO(b"hello"), sha(b"hello"), 5)
    assert ok.read() == b"hello" and ok.read() == b"" and ok.verified
    bad = dg.VerifyingReader(io.BytesIO(b"hellO"), sha(b"hello"))
    bad.read()
    with pytest.raises(LayerError, match="digest mismatch"):
        bad.read()
    short = dg.VerifyingReader(io.BytesIO(b"hell"), sha(b"hell"), 5)
    short.read()
    with pytest.raises(LayerError, match="size mismatch"):
        short.read()
    long = dg.VerifyingReader(io.BytesIO(b"hello!"), sha(b"hello!"), 5)
    with pytest.raises(LayerError, match="size mismatch"):
        long.read()
