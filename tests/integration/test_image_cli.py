"""The image verbs on the command line: images, history, image inspect/ls/prune, rmi, tag, search."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import needs_root, pyns_cli
from tests.registry_env import (FakeHub, OciLayout, docker_registry, needs_registry_tools, pyns_config,
                                sample_layers, skopeo_copy, tar_bytes, unique_repo)

pytestmark = [needs_root, needs_registry_tools]
__all__ = ["docker_registry", "pyns_config"]


def ok(*args: str, **kw) -> str:
    r = pyns_cli(*args, **kw)
    assert r.returncode == 0, (args, r.returncode, r.stderr.decode())
    return r.stdout.decode()


@pytest.fixture(scope="module")
def remote(docker_registry, busybox_tar: Path, tmp_path_factory) -> str:
    layout = OciLayout(tmp_path_factory.mktemp("cli-layout"))
    layout.tag(layout.image(sample_layers(busybox_tar.read_bytes()), config={"config": {"Labels": {"a": "1"}}}),
               "v1")
    ref = f"{docker_registry.host}/{unique_repo('cli-sample')}:v1"
    skopeo_copy(f"oci:{layout.path}:v1", f"docker://{ref}")
    return ref


def test_images_digests_filters_and_image_ls(root, pyns_config, remote, busybox_tar):
    ok("pull", "-q", remote)
    ok("import", str(busybox_tar), "plain:1")
    repo, tag = remote.rsplit(":", 1)
    digest = json.loads(ok("image", "inspect", remote))[0]["RepoDigests"][0].split("@")[1]
    table = ok("images", "--digests").splitlines()
    assert table[0].split() == ["REPOSITORY", "TAG", "DIGEST", "IMAGE", "ID", "CREATED", "SIZE"]
    row = next(l.split() for l in table if l.startswith(repo))
    assert row[:3] == [repo, tag, digest]
    plain = next(l.split() for l in table if l.startswith("plain"))
    assert plain[:3] == ["plain", "1", "<none>"]
    assert ok("image", "ls", "-q") == ok("images", "-q") and len(ok("images", "-q").split()) == 2
    assert [l.split()[0] for l in ok("images", "--filter", "reference=plain*").splitlines()[1:]] == ["plain"]
    assert [l.split()[0] for l in ok("images", "-f", "label=a=1").splitlines()[1:]] == [repo]
    assert ok("images", "-f", "dangling=true").splitlines()[1:] == []
    assert ok("images", repo).splitlines()[1].split()[0] == repo


def test_history_and_inspect(root, pyns_config, remote):
    ok("pull", "-q", remote)
    lines = ok("history", remote).splitlines()
    assert lines[0].split() == ["IMAGE", "CREATED", "CREATED", "BY", "SIZE", "COMMENT"]
    assert len(lines) == 5 and [l.split()[0] for l in lines[2:]] == ["<missing>"] * 3
    assert "layer 3" in lines[1] and "layer 0" in lines[4]
    ids = ok("history", "-q", "--no-trunc", remote).split()
    assert ids[0].startswith("sha256:") and ids[1:] == ["<missing>"] * 3
    info = json.loads(ok("image", "inspect", remote))[0]
    assert info["Architecture"] == "amd64" and info["Config"]["Labels"] == {"a": "1"}
    assert ok("image", "inspect", "-f", "{{.Os}}/{{.Architecture}}", remote) == "linux/amd64\n"
    missing = pyns_cli("image", "inspect", "nope")
    assert missing.returncode == 1 and missing.stderr.decode().strip() == "Error: No such image: nope"


def test_tag_rmi_and_prune(root, pyns_config, remote, busybox_tar):
    ok("pull", "-q", remote)
    ok("tag", remote, "copy:1")
    assert ok("rmi", "copy:1") == "Untagged: copy:1\n"
    cid = ok("create", "--network", "none", remote, "true").strip()
    refused = pyns_cli("rmi", remote)
    assert refused.returncode == 1 and cid[:12] in refused.stderr.decode()
    assert ok("image", "prune", "-a", "-f") == "Total reclaimed space: 0B\n"  # in use: kept
    ok("rm", cid)
    ok("import", str(busybox_tar), "other:1")
    ok("tag", "other:1", remote)  # the tag moves: the pulled image is left dangling
    dangling = ok("images", "-f", "dangling=true").splitlines()[1:]
    assert len(dangling) == 1 and dangling[0].split()[1] == "<none>"
    out = ok("image", "prune", "-f").splitlines()
    assert out[0] == "Deleted Images:" and out[1].startswith(f"untagged: {remote.rsplit(':', 1)[0]}@sha256:")
    assert [l.split(":")[0] for l in out[2:-2]] == ["deleted"] * 4  # the image, 3 layers (busybox is shared)
    assert out[-1].startswith("Total reclaimed space: ") and out[-1] != "Total reclaimed space: 0B"
    assert len(ok("images", "-q").split()) == 1
    cid = ok("create", "--network", "none", "other:1", "true").strip()
    forced = ok("rmi", "-f", ok("images", "-q").strip()).splitlines()  # by id: every tag, then the image
    assert sorted(forced[:2]) == sorted([f"Untagged: {remote}", "Untagged: other:1"])
    assert forced[2].startswith("Deleted: sha256:")
    ok("rm", cid)
    assert [n for n in Path(root, "layers").iterdir() if not n.name.startswith(".")] == []
    assert list(Path(root, "content", "blobs", "sha256").iterdir()) == []
    assert list(Path(root, "l").iterdir()) == []


def test_prune_all_keeps_used_images(root, pyns_config, remote, busybox_tar):
    ok("pull", "-q", remote)
    ok("import", str(busybox_tar), "unused:1")
    cid = ok("create", "--network", "none", remote, "true").strip()
    out = ok("image", "prune", "-a", "-f")
    assert "untagged: unused:1" in out and remote not in out
    assert ok("images", "-q").strip() and len(ok("images", "-q").split()) == 1
    ok("rm", cid)


def test_search_catalog_and_hub(root, pyns_config, remote, docker_registry):
    host = docker_registry.host
    name = remote.split("/", 1)[1].split(":")[0]
    rows = ok("search", f"{host}/cli-sample").splitlines()
    assert rows[0].split() == ["NAME", "DESCRIPTION", "STARS", "OFFICIAL"]
    assert f"{host}/{name}" in [r.split()[0] for r in rows[1:]]
    hub_results = [{"name": "busybox", "description": "Busybox base image.", "star_count": 3000,
                    "is_official": True, "is_automated": False},
                   {"name": "someone/busybox-tools", "description": "x" * 80, "star_count": 2,
                    "is_official": False, "is_automated": False}]
    with FakeHub(hub_results) as hub:
        (pyns_config / "config.json").write_text(json.dumps({"search-index": hub.url}))
        table = ok("search", "busybox").splitlines()
        assert table[1].split()[:2] == ["busybox", "Busybox"] and table[1].rstrip().endswith("[OK]")
        assert "…" in table[2] and table[2].split()[0] == "someone/busybox-tools"
        assert len(ok("search", "--filter", "is-official=true", "busybox").splitlines()) == 2
        assert len(ok("search", "--filter", "stars=10", "busybox").splitlines()) == 2
        assert len(ok("search", "--limit", "1", "busybox").splitlines()) == 2
        assert hub.queries[-1] == {"q": ["busybox"], "n": ["1"]}
    bad = pyns_cli("search", "--limit", "0", "busybox")
    assert bad.returncode == 125 and "limit 0 is outside the range" in bad.stderr.decode()


def test_login_needs_a_password(root, pyns_config):
    r = pyns_cli("login", "-u", "x", "127.0.0.1:1")
    assert r.returncode == 125


def test_image_group_pull_and_tar_layers(root, pyns_config, docker_registry, tmp_path):
    layout = OciLayout(tmp_path / "l")
    layout.tag(layout.image([tar_bytes({"only": b"1"})], "none"), "t")
    ref = f"{docker_registry.host}/{unique_repo('grp')}:t"
    skopeo_copy(f"oci:{layout.path}:t", f"docker://{ref}")
    assert ok("image", "pull", "-q", ref) == ref + "\n"
    assert ok("image", "rm", ref).startswith(f"Untagged: {ref}")
