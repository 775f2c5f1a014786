"""Layer store: content-addressed, atomic, shared registration of layers."""
from __future__ import annotations

import bz2
import gzip
import hashlib
import io
import lzma
import multiprocessing
import os
import tarfile

import pytest

from pyns.errors import LayerError, NotFound
from pyns.images import digest as dg
from pyns.images.layers import LayerStore


def sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def tar(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(data), 0o644, 1_600_000_000
            tf.addfile(info, io.BytesIO(data))
    return buf.getvalue()


class Unreadable(io.RawIOBase):
    """A stream that must not be read (the layer is expected to be present)."""

    def readable(self) -> bool:
        return True

    def read(self, n: int = -1) -> bytes:
        raise AssertionError("stream was read although the layer exists")


def temp_entries(store: LayerStore) -> list[str]:
    return [n for n in os.listdir(store.root) if n.startswith(".tmp-")]


def test_register_layout_and_metadata(tmp_path) -> None:
    store = LayerStore(str(tmp_path))
    data = tar({"hello": b"world\n", "big": b"x" * 100_000})
    layer = store.register(io.BytesIO(data))
    assert layer.diff_id == sha(data)  # the whole uncompressed stream, end padding included
    assert layer.chain_id == layer.diff_id and layer.parent is None
    assert layer.size == 100_006
    assert layer.path == os.path.join(str(tmp_path), "layers", layer.chain_id[7:])
    assert layer.diff_dir == os.path.join(layer.path, "diff")
    assert open(os.path.join(layer.diff_dir, "hello"), "rb").read() == b"world\n"
    assert sorted(os.listdir(layer.path)) == ["diff", "layer.json"]
    assert store.get(layer.chain_id) == layer and store.has(layer.chain_id)
    assert store.list() == [layer]
    assert temp_entries(store) == []


@pytest.mark.parametrize("compress", [gzip.compress, bz2.compress, lzma.compress, lambda b: b],
                         ids=["gzip", "bzip2", "xz", "plain"])
def test_diff_id_is_of_the_uncompressed_tar(tmp_path, compress) -> None:
    data = tar({"f": b"content"})
    layer = LayerStore(str(tmp_path)).register(io.BytesIO(compress(data)))
    assert layer.diff_id == sha(data)


def test_multi_member_gzip(tmp_path) -> None:
    data = tar({"f": b"content" * 1000})
    half = len(data) // 2
    layer = LayerStore(str(tmp_path)).register(io.BytesIO(gzip.compress(data[:half]) + gzip.compress(data[half:])))
    assert layer.diff_id == sha(data)


def test_zstd_support_or_clear_error(tmp_path) -> None:
    data = tar({"f": b"z"})
    try:
        import zstandard  # type: ignore[import-not-found]
    except ImportError:
        with pytest.raises(LayerError, match="zstandard"):
            LayerStore(str(tmp_path)).register(io.BytesIO(b"\x28\xb5\x2f\xfd" + b"\0" * 64))
        return
    blob = zstandard.ZstdCompressor().compress(data)
    assert LayerStore(str(tmp_path)).register(io.BytesIO(blob)).diff_id == sha(data)


def test_corrupt_gzip_is_a_layer_error(tmp_path) -> None:
    store = LayerStore(str(tmp_path))
    blob = gzip.compress(tar({"f": b"x" * 10000}))
    with pytest.raises(LayerError):
        store.register(io.BytesIO(blob[: len(blob) // 2]))
    with pytest.raises(LayerError):
        store.register(io.BytesIO(blob[:20] + b"\xff" * 50 + blob[70:]))
    assert store.list() == [] and temp_entries(store) == []


def test_chain_ids_and_parents(tmp_path) -> None:
    store = LayerStore(str(tmp_path))
    base = store.register(io.BytesIO(tar({"a": b"1"})))
    top_data = tar({"b": b"2"})
    top = store.register(io.BytesIO(top_data), parent=base.chain_id)
    assert top.parent == base.chain_id
    assert top.diff_id == sha(top_data)
    assert top.chain_id == sha(f"{base.chain_id} {top.diff_id}".encode()) == dg.chain_id(base.chain_id, top.diff_id)
    # the same diff as a base layer is a different layer
    alone = store.register(io.BytesIO(top_data))
    assert alone.chain_id == top.diff_id != top.chain_id
    assert len(store.list()) == 3
    with pytest.raises(LayerError, match="parent layer"):
        store.register(io.BytesIO(top_data), parent=sha(b"nope"))


def test_same_layer_is_stored_once(tmp_path) -> None:
    store = LayerStore(str(tmp_path))
    data = tar({"f": b"1"})
    first = store.register(io.BytesIO(data))
    marker = os.path.join(first.diff_dir, "f")
    inode = os.lstat(marker).st_ino
    second = store.register(io.BytesIO(data))
    assert second == first and os.lstat(marker).st_ino == inode
    assert temp_entries(store) == []
    # with the diff_id known up front nothing is read at all
    assert store.register(Unreadable(), diff_id=first.diff_id) == first  # type: ignore[arg-type]


def test_expected_diff_id_is_verified(tmp_path) -> None:
    store = LayerStore(str(tmp_path))
    with pytest.raises(LayerError, match="diff_id mismatch"):
        store.register(io.BytesIO(tar({"f": b"1"})), diff_id=sha(b"something else"))
    assert store.list() == [] and temp_entries(store) == []


def test_hostile_layer_leaves_nothing(tmp_path) -> None:
    store = LayerStore(str(tmp_path))
    with pytest.raises(LayerError, match=r"\.\./evil"):
        store.register(io.BytesIO(tar({"ok": b"1", "../evil": b"x"})))
    assert store.list() == [] and temp_entries(store) == []
    assert not os.path.exists(os.path.join(str(tmp_path), "evil"))


def test_delete(tmp_path) -> None:
    store = LayerStore(str(tmp_path))
    layer = store.register(io.BytesIO(tar({"f": b"1"})))
    assert store.delete(layer.chain_id)
    assert not store.has(layer.chain_id) and not os.path.exists(layer.path)
    assert not store.delete(layer.chain_id)
    with pytest.raises(NotFound):
        store.get(layer.chain_id)
    assert temp_entries(store) == []


def _dead_pid() -> int:
    proc = multiprocessing.get_context("fork").Process(target=lambda: None)
    proc.start()
    proc.join()
    return proc.pid  # type: ignore[return-value]


def test_sweep_removes_leftovers_of_dead_processes_only(tmp_path) -> None:
    store = LayerStore(str(tmp_path))
    dead = os.path.join(store.root, f".tmp-layer-{_dead_pid()}-abc")
    os.makedirs(os.path.join(dead, "diff", "sub"))
    os.chmod(os.path.join(dead, "diff", "sub"), 0o500)
    mine = os.path.join(store.root, f".tmp-layer-{os.getpid()}-xyz")
    os.makedirs(mine)
    store.sweep()
    assert not os.path.exists(dead) and os.path.exists(mine)


def _register_in_child(root: str, data: bytes, queue: "multiprocessing.Queue[str]") -> None:
    try:
        queue.put(LayerStore(root).register(io.BytesIO(data)).chain_id)
    except BaseException as e:  # pragma: no cover - surfaced by the parent
        queue.put(f"error: {e!r}")


def test_concurrent_registration_of_the_same_layer(tmp_path) -> None:
    data = tar({f"dir{i}/file{j}": os.urandom(2000) for i in range(10) for j in range(20)})
    ctx = multiprocessing.get_context("fork")
    queue: multiprocessing.Queue[str] = ctx.Queue()
    procs = [ctx.Process(target=_register_in_child, args=(str(tmp_path), data, queue)) for _ in range(6)]
    for p in procs:
        p.start()
    results = [queue.get(timeout=60) for _ in procs]
    for p in procs:
        p.join(timeout=60)
    assert results == [sha(data)] * len(procs)
    store = LayerStore(str(tmp_path))
    assert [l.chain_id for l in store.list()] == [sha(data)]
    assert len(os.listdir(os.path.join(store.get(sha(data)).diff_dir, "dir3"))) == 20
    assert temp_entries(store) == []
