"""save/load: pyns's archives read by skopeo (docker-archive and oci-archive), and the other way round."""
from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

import pytest

from pyns.errors import InvalidArgument, LayerError
from tests.conftest import needs_root, pyns_cli
from tests.registry_env import (SAMPLE_CHECK, SAMPLE_OUTPUT, OciLayout, needs_registry_tools, sample_layers, sha,
                                skopeo, skopeo_copy)

pytestmark = [needs_root, needs_registry_tools]


@pytest.fixture
def sample(engine, busybox_tar: Path, tmp_path: Path) -> str:
    """The sample image loaded from an OCI layout tar made by skopeo (oci-archive)."""
    layout = OciLayout(tmp_path / "layout")
    layout.tag(layout.image(sample_layers(busybox_tar.read_bytes())), "v1")
    archive = tmp_path / "sample-oci.tar"
    skopeo_copy(f"oci:{layout.path}:v1", f"oci-archive:{archive}:example.com/sample:v1")
    with open(archive, "rb") as f:
        assert engine.images.load(f) == ["Loaded image: example.com/sample:v1"]
    return "example.com/sample:v1"


def test_load_oci_archive_and_run(engine, sample):
    assert engine.containers.run(sample, SAMPLE_CHECK, remove=True, network_mode="none").decode() == SAMPLE_OUTPUT


def test_save_is_readable_as_docker_archive_and_oci_layout(engine, sample, tmp_path):
    out = tmp_path / "saved.tar"
    with open(out, "wb") as f:
        engine.images.save([sample], f)
    with tarfile.open(out) as tf:
        names = set(tf.getnames())
        legacy = json.load(tf.extractfile("manifest.json"))  # type: ignore[arg-type]
        index = json.load(tf.extractfile("index.json"))  # type: ignore[arg-type]
    assert {"manifest.json", "index.json", "oci-layout", "repositories"} <= names
    img = engine.images.get(sample)
    assert legacy == [{"Config": f"blobs/sha256/{img.id.split(':')[1]}", "RepoTags": [sample],
                       "Layers": [f"blobs/sha256/{d.split(':')[1]}" for d in img.attrs["RootFS"]["Layers"]]}]
    assert index["manifests"][0]["annotations"]["io.containerd.image.name"] == sample
    # docker's loader (skopeo's docker-archive) and an OCI tool both accept it; the image is unchanged
    docker_view = json.loads(skopeo("inspect", f"docker-archive:{out}:{sample}"))
    assert docker_view["Layers"] == img.attrs["RootFS"]["Layers"]  # uncompressed: blob digest = diff_id
    skopeo_copy(f"oci-archive:{out}:v1", f"dir:{tmp_path / 'dir'}")
    assert (tmp_path / "dir" / img.id.split(":")[1]).read_bytes() == engine.image_store.content.read(img.id)


def test_save_load_round_trip_through_cli(root, sample, tmp_path):
    archive = tmp_path / "rt.tar"
    r = pyns_cli("save", "-o", str(archive), sample)
    assert r.returncode == 0, r.stderr.decode()
    assert pyns_cli("rmi", sample).returncode == 0
    assert pyns_cli("images", "-q").stdout == b""
    loaded = pyns_cli("load", "-i", str(archive))
    assert loaded.stdout.decode() == f"Loaded image: {sample}\n", loaded.stderr.decode()
    streamed = pyns_cli("save", sample)
    assert streamed.returncode == 0 and tarfile.is_tarfile(io.BytesIO(streamed.stdout))
    again = pyns_cli("load", input=streamed.stdout)
    assert again.stdout.decode() == f"Loaded image: {sample}\n"
    untagged = pyns_cli("save", pyns_cli("images", "-q").stdout.decode().strip())
    assert pyns_cli("rmi", sample).returncode == 0
    by_id = pyns_cli("load", "-q", input=untagged.stdout)
    assert by_id.returncode == 0 and by_id.stdout == b""
    assert pyns_cli("images").stdout.decode().splitlines()[1].startswith("<none>")


def test_load_docker_archive_written_by_skopeo(engine, sample, tmp_path):
    archive = tmp_path / "docker.tar"
    skopeo_copy(f"oci-archive:{_save(engine, sample, tmp_path)}:v1", f"docker-archive:{archive}:other/name:2")
    engine.images.remove(sample)
    with open(archive, "rb") as f:
        assert engine.images.load(f) == ["Loaded image: other/name:2"]
    assert engine.containers.run("other/name:2", SAMPLE_CHECK, remove=True, network_mode="none").decode() == SAMPLE_OUTPUT


def _save(engine, name: str, tmp_path: Path) -> Path:
    out = tmp_path / "via-pyns.tar"
    with open(out, "wb") as f:
        engine.images.save([name], f)
    return out


def _archive(members: dict[str, bytes], links: dict[str, str] | None = None) -> io.BytesIO:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
        for name, target in (links or {}).items():
            info = tarfile.TarInfo(name)
            info.type, info.linkname = tarfile.SYMTYPE, target
            tf.addfile(info)
    buf.seek(0)
    return buf


def test_hostile_archives_leave_the_store_alone(engine, sample):
    before = sorted(Path(engine.root).rglob("*"))
    layer = _plain_tar({"x": b"1"})
    config = json.dumps({"rootfs": {"type": "layers", "diff_ids": [sha(b"not it")]}}).encode()
    cases = [
        (_archive({"../escape": b"x"}), LayerError, "path escapes"),
        (_archive({"manifest.json": json.dumps([{"Config": "c.json", "Layers": ["../../etc/passwd"]}]).encode(),
                   "c.json": config}), LayerError, "path escapes"),
        (_archive({"manifest.json": json.dumps([{"Config": "c.json", "Layers": ["l.tar"]}]).encode(),
                   "c.json": config, "l.tar": layer}), LayerError, "diff_id mismatch"),
        (_archive({"manifest.json": b"[]"}, {"link": "/etc/passwd"}), None, None),
        (_archive({"manifest.json": json.dumps([{"Config": "c.json", "Layers": ["lnk"]}]).encode(),
                   "c.json": json.dumps({"rootfs": {"type": "layers", "diff_ids": [sha(layer)]}}).encode()},
                  {"lnk": "../../../../etc/passwd"}), LayerError, "path escapes"),
        (_archive({"hello": b"x"}), InvalidArgument, "neither manifest.json nor index.json"),
        (io.BytesIO(b"not a tar at all" * 100), InvalidArgument, "invalid image archive"),
    ]
    for stream, error, message in cases:
        if error is None:
            assert engine.images.load(stream) == []
            continue
        with pytest.raises(error, match=message):
            engine.images.load(stream)
    assert sorted(p for p in Path(engine.root).rglob("*") if not p.name.endswith(".lock")) == \
        [p for p in before if not p.name.endswith(".lock")]


def _plain_tar(files: dict[str, bytes]) -> bytes:
    return _archive(files).getvalue()
