"""Push to a real registry; skopeo reads it back and the digests agree."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from pyns.errors import ImageNotFound, LayerError
from tests.conftest import needs_root, pyns_cli
from tests.registry_env import (SAMPLE_CHECK, SAMPLE_OUTPUT, OciLayout, docker_registry, needs_registry_tools,
                                pyns_config, sample_layers, sha, skopeo_copy, skopeo_inspect, unique_repo)

pytestmark = [needs_root, needs_registry_tools]
__all__ = ["docker_registry", "pyns_config"]


@pytest.fixture(scope="module")
def source(docker_registry, busybox_tar: Path, tmp_path_factory) -> str:
    """The sample image, pushed by skopeo as OCI (gzip) for pulls to start from."""
    layout = OciLayout(tmp_path_factory.mktemp("push-layout"))
    layout.tag(layout.image(sample_layers(busybox_tar.read_bytes())), "src")
    ref = f"{docker_registry.host}/{unique_repo('push-src')}:v1"
    skopeo_copy(f"oci:{layout.path}:src", f"docker://{ref}", "--format", "oci")
    return ref


def test_push_imported_image_round_trip(engine, pyns_config, docker_registry, busybox_tar, tmp_path):
    """An imported (uncompressed) layer is gzipped for the push; skopeo agrees on every digest."""
    ref = f"{docker_registry.host}/{unique_repo('imported')}:1"
    with open(busybox_tar, "rb") as f:
        img = engine.images.import_image(f, ref, changes=['CMD ["sh"]'])
    events = []
    result = engine.images.push(ref, progress=events.append)
    inspected = skopeo_inspect(ref)
    raw = skopeo_inspect(ref, raw=True)
    assert result.digest == inspected["Digest"] == sha(raw.encode())
    assert result.size == len(raw.encode())
    manifest = json.loads(raw)
    assert manifest["mediaType"] == "application/vnd.docker.distribution.manifest.v2+json"
    assert manifest["config"]["digest"] == img.id
    assert manifest["layers"][0]["mediaType"] == "application/vnd.docker.image.rootfs.diff.tar.gzip"
    short = img.attrs["RootFS"]["Layers"][0].split(":")[1][:12]
    assert [(e.id, e.status) for e in events if not e.is_progress][1:] == [(short, "Preparing"), (short, "Pushed")]
    # skopeo copies it out as is; every blob is what the manifest says
    skopeo_copy(f"docker://{ref}", f"dir:{tmp_path / 'out'}")
    assert sha((tmp_path / "out" / "manifest.json").read_bytes()) == result.digest
    for desc in [manifest["config"], *manifest["layers"]]:
        assert sha((tmp_path / "out" / desc["digest"].split(":")[1]).read_bytes()) == desc["digest"]
    assert engine.images.get(ref).attrs["RepoDigests"] == [f"{ref.rsplit(':', 1)[0]}@{result.digest}"]
    # pushing again: every blob is there, the same manifest (same digest) is sent
    again = engine.images.push(ref)
    assert again.digest == result.digest


def test_pull_push_keeps_manifest_and_mounts_layers(engine, pyns_config, docker_registry, source):
    engine.images.pull(source)
    target = f"{docker_registry.host}/{unique_repo('copy')}:v1"
    engine.images.get(source).tag(target)
    events = []
    result = engine.images.push(target, progress=events.append)
    assert result.digest == skopeo_inspect(source)["Digest"] == skopeo_inspect(target)["Digest"]
    statuses = {e.status for e in events if e.id and not e.is_progress} - {"Preparing", "Waiting"}
    assert statuses == {f"Mounted from {source.split('/', 1)[1].split(':')[0]}"}
    # pull it back into a fresh store: same image, same files
    engine.images.remove(target)
    engine.images.remove(source)
    img = engine.images.pull(target)
    assert engine.containers.run(img.id, SAMPLE_CHECK, remove=True, network_mode="none").decode() == SAMPLE_OUTPUT


def test_chunked_upload_follows_location(engine, pyns_config, docker_registry, source):
    """Small chunks: POST, several PATCHes (each to the Location returned), PUT ?digest=."""
    (pyns_config / "config.json").write_text(json.dumps({"upload-chunk-size": 100_000, "retry-backoff": 0.01}))
    engine.images.pull(source)
    # "localhost:<port>" is the same registry under another name: no mount source, a real upload
    repo = unique_repo("chunked")
    target = f"localhost:{docker_registry.port}/{repo}:v1"
    engine.images.get(source).tag(target)
    result = engine.images.push(target)
    assert result.digest == skopeo_inspect(source)["Digest"] == skopeo_inspect(target)["Digest"]
    patches = docker_registry.requests(f'"PATCH /v2/{repo}/blobs/uploads/')
    puts = docker_registry.requests(f'"PUT /v2/{repo}/blobs/uploads/')
    posts = docker_registry.requests(f'"POST /v2/{repo}/blobs/uploads/')
    big = max(l["size"] for l in json.loads(skopeo_inspect(target, raw=True))["layers"])
    assert len(posts) == len(puts) == 5 and len(patches) >= 4 + -(-big // 100_000)
    assert all("digest=sha256" in p for p in puts)


def test_cli_push_output(root, pyns_config, docker_registry, busybox_tar):
    ref = f"{docker_registry.host}/{unique_repo('cli')}"
    r = pyns_cli("import", str(busybox_tar), f"{ref}:a")
    assert r.returncode == 0, r.stderr.decode()
    assert pyns_cli("tag", f"{ref}:a", f"{ref}:b").returncode == 0
    out = pyns_cli("push", ref + ":a")
    assert out.returncode == 0, out.stderr.decode()
    lines = out.stdout.decode().splitlines()
    assert lines[0] == f"The push refers to repository [{ref}]"
    assert lines[1].endswith(": Preparing") and lines[2].endswith(": Pushed")
    assert lines[-1].startswith("a: digest: sha256:") and " size: " in lines[-1]
    both = pyns_cli("push", "--all-tags", ref).stdout.decode().splitlines()
    assert [l.split(":")[0] for l in both if "digest:" in l] == ["a", "b"]
    assert any(l.endswith(": Layer already exists") for l in both)
    quiet = pyns_cli("push", "-q", f"{ref}:b")
    assert quiet.stdout.decode() == f"{ref}:b\n"
    missing = pyns_cli("push", f"{ref}:nope")
    assert missing.returncode == 125 and "No such image" in missing.stderr.decode()


def test_push_errors(engine, pyns_config, docker_registry):
    with pytest.raises(ImageNotFound):
        engine.images.push(f"{docker_registry.host}/nothing-here:v1")


def test_push_layer_without_tarball_is_a_clear_error(engine, pyns_config, docker_registry, busybox_tar):
    ref = f"{docker_registry.host}/{unique_repo('noblob')}:1"
    with open(busybox_tar, "rb") as f:
        img = engine.images.import_image(f, ref)
    for blob in engine.image_store.layers.get(img.image.chain_ids[0]).blobs:
        engine.image_store.content.delete(blob.digest)
    with pytest.raises(LayerError, match="has no stored tarball to push"):
        engine.images.push(ref)


def test_a_built_image_pushes_and_pulls_back(engine, pyns_config, docker_registry, busybox, tmp_path):
    """Built images are ordinary images: push one, skopeo agrees, a fresh pull runs it."""
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "hello.txt").write_text("built by pyns\n")
    (ctx / "Dockerfile").write_text(f"FROM {busybox}\nCOPY hello.txt /hello.txt\nRUN echo run-step > /step\n"
                                    'CMD ["cat", "/hello.txt", "/step"]\n')
    ref = f"{docker_registry.host}/{unique_repo('built')}:1"
    image, _ = engine.images.build(path=str(ctx), tag=ref, network_mode="none")
    result = engine.images.push(ref)
    assert skopeo_inspect(ref)["Digest"] == result.digest
    engine.images.remove(ref, force=True)
    pulled = engine.images.pull(ref)
    assert pulled.id == image.id  # the same config, so the same image
    assert engine.containers.run(ref, remove=True, network_mode="none") == b"built by pyns\nrun-step\n"
