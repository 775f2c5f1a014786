"""Hostile and faulty registries: every failure is a clear error and leaves the store as it was."""
from __future__ import annotations

import json
import os
import tarfile
from pathlib import Path

import pytest

from pyns.errors import LayerError, RegistryError
from tests.conftest import needs_root
from tests.registry_env import Entry, FakeRegistry, compress, fail_times, fake_registry, pyns_config, sha, tar_bytes

pytestmark = needs_root
__all__ = ["fake_registry", "pyns_config"]


def snapshot(root: Path) -> set[str]:
    """Every file and directory of the store, locks aside (they are created on first use)."""
    found = set()
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            if not name.endswith(".lock"):
                found.add(os.path.relpath(os.path.join(dirpath, name), root))
    return found


@pytest.fixture
def seeded(engine, pyns_config, fake_registry: FakeRegistry, busybox_tar: Path):
    """A store holding one good image, and its state, before each faulty pull."""
    fake_registry.add_image("good", "1", [busybox_tar.read_bytes(), tar_bytes({"good": b"1"})])
    engine.images.pull(f"{fake_registry.host}/good:1")
    return snapshot(Path(engine.root))


def assert_unchanged(engine, before: set[str]) -> None:
    """No new file anywhere (no blob, layer, link or temp dir) and still just the good image."""
    assert snapshot(Path(engine.root)) == before
    assert [i.tags for i in engine.images.list()] == [[f"{engine.images.list()[0].tags[0]}"]]
    assert engine.images.list()[0].tags[0].endswith("/good:1")


def test_tampered_blob(engine, fake_registry, seeded):
    fake_registry.add_image("bad", "1", [tar_bytes({"x": b"original"})])
    digest = fake_registry.layer_digests("bad", "1")[0]
    evil = compress(tar_bytes({"x": b"tampered"}), "gzip")
    fake_registry.blobs[digest] = evil  # same descriptor, other bytes
    with pytest.raises(LayerError, match=f"filesystem layer verification failed for digest {digest}"):
        engine.images.pull(f"{fake_registry.host}/bad:1")
    assert_unchanged(engine, seeded)


def test_corrupt_blob_that_breaks_decompression(engine, fake_registry, seeded):
    fake_registry.add_image("bad", "1", [tar_bytes({"x": b"y" * 5000})])
    digest = fake_registry.layer_digests("bad", "1")[0]
    blob = bytearray(fake_registry.blobs[digest])
    blob[20:40] = b"\0" * 20
    fake_registry.blobs[digest] = bytes(blob)
    with pytest.raises(LayerError, match="verification failed.*digest mismatch"):
        engine.images.pull(f"{fake_registry.host}/bad:1")
    assert_unchanged(engine, seeded)


def test_wrong_diff_id(engine, fake_registry, seeded):
    layer = tar_bytes({"x": b"1"})
    fake_registry.add_image("bad", "1", [layer], diff_ids=[sha(b"something else")])
    with pytest.raises(LayerError, match=f"diff_id mismatch: expected {sha(b'something else')}, got {sha(layer)}"):
        engine.images.pull(f"{fake_registry.host}/bad:1")
    assert_unchanged(engine, seeded)


def test_manifest_digest_mismatch(engine, fake_registry, seeded):
    fake_registry.add_image("bad", "1", [tar_bytes({"x": b"1"})])
    asked = "sha256:" + "ab" * 32
    fake_registry.manifests[("bad", asked)] = fake_registry.manifests[("bad", "1")]
    with pytest.raises(RegistryError, match=f"manifest digest mismatch: expected {asked}"):
        engine.images.pull(f"{fake_registry.host}/bad@{asked}")
    assert_unchanged(engine, seeded)


@pytest.mark.parametrize("entries,message", [
    ([Entry("../../escape", b"x")], "../../escape: path escapes the layer root"),
    ([Entry("etc", kind=tarfile.SYMTYPE, link="/etc"), Entry("etc/pyns-pwned", b"x")],
     "etc/pyns-pwned: parent etc is a symlink"),
    ([Entry("evil", kind=tarfile.LNKTYPE, link="../../../etc/passwd")], "hardlink target"),
], ids=["traversal", "symlink-escape", "hardlink-escape"])
def test_hostile_layer(engine, fake_registry, seeded, entries, message):
    fake_registry.add_image("bad", "1", [tar_bytes({"ok": b"1"}), tar_bytes(entries)])
    with pytest.raises(LayerError, match=message.replace(".", r"\.")):
        engine.images.pull(f"{fake_registry.host}/bad:1")
    assert not os.path.exists("/etc/pyns-pwned") and not os.path.exists("/escape")
    assert_unchanged(engine, seeded)


def test_truncated_download_is_retried_then_fails(engine, fake_registry, seeded):
    fake_registry.add_image("bad", "1", [tar_bytes({"x": b"z" * 100_000})])
    big = fake_registry.layer_digests("bad", "1")[0]
    fake_registry.truncate.add(big)
    with pytest.raises(RegistryError, match="truncated body"):
        engine.images.pull(f"{fake_registry.host}/bad:1")
    assert sum(big in line for line in fake_registry.log) == 5  # 1 + 4 retries
    assert_unchanged(engine, seeded)


def test_server_errors_then_success(engine, fake_registry, seeded):
    fake_registry.add_image("flaky", "1", [tar_bytes({"x": b"1"}), tar_bytes({"y": b"2"})])
    fake_registry.hooks["/manifests/"] = fail_times(2, 500)
    fake_registry.hooks["/blobs/"] = fail_times(3, 503)
    fake_registry.log.clear()
    img = engine.images.pull(f"{fake_registry.host}/flaky:1")
    top = engine.image_store.layers.get(img.image.chain_ids[-1])
    assert Path(top.diff_dir, "y").read_bytes() == b"2" and len(engine.images.list()) == 2
    assert sum("/manifests/" in line for line in fake_registry.log) == 3


def test_persistent_server_error(engine, fake_registry, seeded):
    fake_registry.add_image("down", "1", [tar_bytes({"x": b"1"})])
    fake_registry.hooks["/manifests/"] = fail_times(100, 502)
    with pytest.raises(RegistryError, match="502"):
        engine.images.pull(f"{fake_registry.host}/down:1")
    assert_unchanged(engine, seeded)


def test_unknown_layer_media_type(engine, fake_registry, seeded):
    fake_registry.add_image("bad", "1", [tar_bytes({"x": b"1"})], layer_type="application/vnd.example.chart")
    with pytest.raises(RegistryError, match="unsupported layer media type 'application/vnd.example.chart'"):
        engine.images.pull(f"{fake_registry.host}/bad:1")
    assert_unchanged(engine, seeded)


def test_unknown_manifest_media_type(engine, fake_registry, seeded):
    fake_registry.manifests[("bad", "1")] = (b'{"schemaVersion": 2}', "application/vnd.example.thing+json")
    with pytest.raises(RegistryError, match="unsupported manifest media type 'application/vnd.example.thing"):
        engine.images.pull(f"{fake_registry.host}/bad:1")
    schema1 = json.dumps({"schemaVersion": 1, "name": "bad", "tag": "2", "fsLayers": []}).encode()
    fake_registry.manifests[("bad", "2")] = (schema1, "application/vnd.docker.distribution.manifest.v1+prettyjws")
    with pytest.raises(RegistryError, match="schema1"):
        engine.images.pull(f"{fake_registry.host}/bad:2")
    assert_unchanged(engine, seeded)


def test_redirected_blobs_uncompressed_and_zstd_layers(engine, fake_registry, seeded):
    fake_registry.redirect_blobs = True
    fake_registry.add_image("plain", "1", [tar_bytes({"p": b"plain\n"})], compression="none")
    fake_registry.add_image("z", "1", [tar_bytes({"z": b"zstd\n"})], compression="zstd",
                            manifest_type="application/vnd.oci.image.manifest.v1+json")
    plain = engine.images.pull(f"{fake_registry.host}/plain:1")
    z = engine.images.pull(f"{fake_registry.host}/z:1")
    assert any(line.startswith("GET /storage/") for line in fake_registry.log)
    for img, name, data in ((plain, "p", b"plain\n"), (z, "z", b"zstd\n")):
        layer = engine.image_store.layers.get(img.image.chain_ids[0])
        assert Path(layer.diff_dir, name).read_bytes() == data


def test_concurrent_failure_cancels_other_layers(engine, fake_registry, seeded):
    layers = [tar_bytes({f"f{i}": os.urandom(50_000)}) for i in range(5)]
    fake_registry.add_image("bad", "1", layers, diff_ids=[sha(l) for l in layers[:4]] + [sha(b"wrong")])
    with pytest.raises(LayerError, match="diff_id mismatch"):
        engine.images.pull(f"{fake_registry.host}/bad:1")
    assert_unchanged(engine, seeded)
