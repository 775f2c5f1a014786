"""Pull images pyns did not make (built as OCI layouts, pushed by skopeo) from a real registry, then run them."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from pyns.errors import RegistryError
from tests.conftest import needs_root, pyns_cli
from tests.registry_env import (SAMPLE_CHECK, SAMPLE_OUTPUT, OciLayout, docker_registry, needs_registry_tools,
                                pyns_config, sample_layers, skopeo_copy, skopeo_inspect, tar_bytes, unique_repo)

pytestmark = [needs_root, needs_registry_tools]
__all__ = ["docker_registry", "pyns_config"]  # fixtures used by name

FORMS = {  # name -> (layer compression, skopeo --format)
    "v2s2": ("gzip", "v2s2"),
    "oci": ("gzip", "oci"),
    "zstd": ("zstd", "oci"),
}


@pytest.fixture(scope="module")
def pushed(docker_registry, busybox_tar: Path, tmp_path_factory) -> dict[str, str]:
    """Every form of the sample image, pushed once for the module: form -> reference."""
    layers = sample_layers(busybox_tar.read_bytes())
    layout = OciLayout(tmp_path_factory.mktemp("layout"))
    refs = {}
    for form, (compression, fmt) in FORMS.items():
        layout.tag(layout.image(layers, compression), form)
        refs[form] = f"{docker_registry.host}/{unique_repo(form)}:1.0"
        skopeo_copy(f"oci:{layout.path}:{form}", f"docker://{refs[form]}", "--format", fmt)
    amd = layout.image([*layers, tar_bytes({"platform": b"amd64\n"})], "gzip", "amd64")
    arm = layout.image([*layers, tar_bytes({"platform": b"arm64\n"})], "gzip", "arm64", "v8")
    layout.tag(layout.multi([arm, amd]), "multi")
    refs["multi"] = f"{docker_registry.host}/{unique_repo('multi')}:latest"
    skopeo_copy(f"oci:{layout.path}:multi", f"docker://{refs['multi']}", "--all")
    return refs


@pytest.mark.parametrize("form", list(FORMS))
def test_pull_and_run_each_form(engine, pyns_config, pushed, form):
    img = engine.images.pull(pushed[form])
    assert img.tags == [pushed[form]]
    assert engine.containers.run(img.id, SAMPLE_CHECK, remove=True, network_mode="none").decode() == SAMPLE_OUTPUT
    digest = skopeo_inspect(pushed[form])["Digest"]
    assert img.attrs["RepoDigests"] == [f"{pushed[form].rsplit(':', 1)[0]}@{digest}"]
    # the layers are shared and content-addressed: a second tag pulls nothing
    again = engine.images.pull(pushed[form].rsplit(":", 1)[0] + f"@{digest}")
    assert again.id == img.id


def test_multi_platform_index_selects_platform(engine, pyns_config, pushed):
    ref = pushed["multi"]
    host_img = engine.images.pull(ref)
    assert engine.containers.run(host_img.id, ["cat", "/platform"], remove=True, network_mode="none") == b"amd64\n"
    arm = engine.images.pull(ref, platform="linux/arm64")
    assert arm.id != host_img.id and arm.attrs["Architecture"] == "arm64"
    assert engine.containers.run(arm.id, ["cat", "/platform"], remove=True, network_mode="none") == b"arm64\n"
    # docker's ordering: the reference now names the last image pulled
    assert engine.images.get(ref).id == arm.id
    with pytest.raises(RegistryError, match="no matching manifest for linux/s390x"):
        engine.images.pull(ref, platform="linux/s390x")


def test_cli_pull_output_and_up_to_date(root, pyns_config, pushed):
    ref = pushed["v2s2"]
    first = pyns_cli("pull", ref)
    assert first.returncode == 0, first.stderr.decode()
    lines = first.stdout.decode().splitlines()
    assert lines[0] == f"1.0: Pulling from {ref.split('/', 1)[1].split(':')[0]}"
    assert sum(line.endswith(": Pulling fs layer") for line in lines) == 4
    assert sum(line.endswith(": Pull complete") for line in lines) == 4
    assert sum(line.endswith(": Download complete") for line in lines) == 4
    assert lines[-3].startswith("Digest: sha256:")
    assert lines[-2:] == [f"Status: Downloaded newer image for {ref}", ref]
    second = pyns_cli("pull", ref).stdout.decode().splitlines()
    assert second[-2:] == [f"Status: Image is up to date for {ref}", ref] and len(second) == 4
    quiet = pyns_cli("pull", "-q", ref)
    assert quiet.stdout.decode() == ref + "\n"
    images = pyns_cli("images").stdout.decode().splitlines()
    repo = ref.rsplit(":", 1)[0]
    assert len(images) == 2 and images[1].split()[:2] == [repo, "1.0"]
    ran = pyns_cli("run", "--rm", "--network", "none", ref, *SAMPLE_CHECK)
    assert ran.returncode == 0 and ran.stdout.decode() == SAMPLE_OUTPUT, ran.stderr.decode()


def test_cli_pull_errors(root, pyns_config, docker_registry):
    r = pyns_cli("pull", f"{docker_registry.host}/does-not-exist:v9")
    assert r.returncode == 125
    assert r.stderr.decode().strip() == (
        f"Error: manifest for {docker_registry.host}/does-not-exist:v9 not found: manifest unknown")
    r = pyns_cli("pull", "Bad/Name")
    assert r.returncode == 125 and "invalid reference format" in r.stderr.decode()
    r = pyns_cli("pull", "--platform", "linux", "busybox")
    assert r.returncode == 125 and "invalid platform" in r.stderr.decode()


def test_pull_through_mirror_keeps_docker_hub_name(engine, pyns_config, pushed, docker_registry):
    """A mirror serves docker.io names: busybox -> <mirror>/library/busybox, tagged busybox:latest."""
    mirror_ref = f"{docker_registry.host}/library/pyns-mirrored:latest"
    skopeo_copy(f"docker://{pushed['oci']}", f"docker://{mirror_ref}")
    (pyns_config / "config.json").write_text(
        f'{{"registry-mirrors": ["http://{docker_registry.host}"], "retry-backoff": 0.01}}')
    img = engine.images.pull("pyns-mirrored")
    assert img.tags == ["pyns-mirrored:latest"]
    assert engine.containers.run("pyns-mirrored", SAMPLE_CHECK, remove=True, network_mode="none").decode() == SAMPLE_OUTPUT


def test_layers_are_shared_between_images(engine, pyns_config, pushed):
    a = engine.images.pull(pushed["v2s2"])
    b = engine.images.pull(pushed["zstd"])  # same config, other compression: the same image
    assert a.id == b.id and sorted(b.tags) == sorted([pushed["v2s2"], pushed["zstd"]])
    events = []
    engine.images.pull(pushed["multi"], progress=events.append)
    statuses = [e.status for e in events if e.id and not e.is_progress][1:]
    assert statuses[:5] == ["Already exists"] * 4 + ["Pulling fs layer"]
    layers = [n for n in os.listdir(os.path.join(engine.root, "layers")) if not n.startswith(".")]
    assert len(layers) == 5


def test_run_pulls_a_missing_image_like_docker(root, pyns_config, pushed, busybox_tar):
    ref = pushed["v2s2"]
    r = pyns_cli("run", "--rm", "--network", "none", ref, *SAMPLE_CHECK)
    assert r.returncode == 0, r.stderr
    assert r.stdout.decode() == SAMPLE_OUTPUT
    err = r.stderr.decode()
    assert err.startswith(f"Unable to find image '{ref}' locally\n")
    assert "Pull complete" in err and f"Status: Downloaded newer image for {ref}" in err
    r = pyns_cli("run", "--rm", "--network", "none", ref, "true")
    assert r.returncode == 0 and b"Unable to find" not in r.stderr  # now it is here


def test_library_run_pulls_and_create_does_not(engine, pyns_config, pushed):
    ref = pushed["oci"]
    from pyns.errors import ImageNotFound

    with pytest.raises(ImageNotFound):
        engine.containers.create(ref, ["true"])
    assert engine.containers.run(ref, SAMPLE_CHECK, remove=True, network_mode="none").decode() == SAMPLE_OUTPUT
