"""Content store: atomic, verified ingest of blobs by digest."""
from __future__ import annotations

import hashlib
import io
import os
import threading

import pytest

from pyns.errors import InvalidArgument, LayerError, NotFound
from pyns.images.content import ContentStore


def sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


class SlowFailingStream(io.RawIOBase):
    """Yields some bytes, then fails like a dropped connection."""

    def __init__(self) -> None:
        self.sent = False

    def readable(self) -> bool:
        return True

    def read(self, n: int = -1) -> bytes:
        if not self.sent:
            self.sent = True
            return b"partial"
        raise ConnectionResetError("peer went away")


def test_ingest_layout_and_accessors(tmp_path) -> None:
    store = ContentStore(str(tmp_path))
    data = b"x" * 3_000_000
    digest = store.ingest(io.BytesIO(data))
    assert digest == sha(data)
    assert store.path(digest) == os.path.join(str(tmp_path), "content", "blobs", "sha256", digest[7:])
    assert store.has(digest) and store.size(digest) == len(data)
    with store.open(digest) as f:
        assert f.read() == data
    assert store.digests() == [digest]
    assert store.delete(digest) and not store.has(digest) and not store.delete(digest)
    with pytest.raises(NotFound):
        store.open(digest)
    with pytest.raises(NotFound):
        store.size(digest)


def test_verified_ingest(tmp_path) -> None:
    store = ContentStore(str(tmp_path))
    assert store.put(b"cfg", expected=sha(b"cfg")) == sha(b"cfg")
    with pytest.raises(LayerError, match="digest mismatch"):
        store.ingest(io.BytesIO(b"evil"), expected=sha(b"good"))
    with pytest.raises(LayerError, match="size mismatch"):
        store.ingest(io.BytesIO(b"good"), expected=sha(b"good"), size=3)
    assert not store.has(sha(b"good")) and not store.has(sha(b"evil"))
    assert os.listdir(store.ingest_dir) == []


def test_failed_stream_leaves_nothing(tmp_path) -> None:
    store = ContentStore(str(tmp_path))
    with pytest.raises(ConnectionResetError):
        store.ingest(SlowFailingStream())  # type: ignore[arg-type]
    assert os.listdir(store.ingest_dir) == [] and store.digests() == []


def test_duplicate_and_concurrent_ingest(tmp_path) -> None:
    store = ContentStore(str(tmp_path))
    data = os.urandom(200_000)
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            assert store.ingest(io.BytesIO(data)) == sha(data)
        except BaseException as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert store.digests() == [sha(data)] and store.read(sha(data)) == data
    assert os.listdir(store.ingest_dir) == []


@pytest.mark.parametrize("bad", ["sha256:../../etc/passwd", "md5:abc", "../x", "sha256:" + "g" * 64])
def test_hostile_digests_rejected(tmp_path, bad: str) -> None:
    store = ContentStore(str(tmp_path))
    for call in (store.has, store.path, store.open, store.delete):
        with pytest.raises(InvalidArgument):
            call(bad)
