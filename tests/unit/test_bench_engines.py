"""pyns.bench.engines and the CLI peers' availability: a stand-in client, no docker needed.

The stand-in is a shell script named docker (or podman) on PATH that
answers `info`, `network inspect` and `version` the way the real clients
do, so the probes are tested on machines without either engine.
"""
from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from pyns.bench import engines, peers
from pyns.bench.workspace import filesystem_of

DOCKER_VERSION = {
    "Client": {"Version": "28.2.2", "ApiVersion": "1.41"},
    "Server": {"Version": "20.10.24+dfsg1", "Components": [
        {"Name": "Engine", "Version": "20.10.24+dfsg1"}, {"Name": "containerd", "Version": "1.6.20~ds1"},
        {"Name": "runc", "Version": "1.1.5+ds1"}, {"Name": "docker-init", "Version": "0.19.0"}]},
}


def fake_client(tmp_path: Path, name: str, *, info_rc: int = 0, networks: tuple[str, ...] = ("none", "host"),
                version: str = json.dumps(DOCKER_VERSION), storage: str = "overlay2 /var/lib/docker",
                hang: bool = False) -> str:
    """A client script answering like docker/podman; returns its path (its directory goes first on PATH)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    path = bin_dir / name
    path.write_text(f"""#!/bin/sh
{"exec sleep 30" if hang else ""}
case "$1" in
info)
    [ "$2" = --format ] && echo '{storage}'
    exit {info_rc} ;;
network)
    for n in {" ".join(networks)}; do [ "$3" = "$n" ] && exit 0; done
    echo "Error: network $3 not found" >&2; exit 1 ;;
version)
    echo '{version}' ;;
esac
""")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return str(path)


@pytest.fixture
def on_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}")
    return tmp_path


def test_no_daemon_is_a_reason(tmp_path: Path):
    client = fake_client(tmp_path, "docker", info_rc=1)
    assert engines.unavailable("docker", client, "none") == "client installed, no daemon answers"


def test_a_daemon_that_hangs_is_a_reason(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(engines, "PROBE_TIMEOUT", 0.2)
    client = fake_client(tmp_path, "docker", hang=True)
    assert engines.unavailable("docker", client, "none") == "client installed, the daemon does not answer"


def test_network_none_needs_only_a_daemon(tmp_path: Path):
    client = fake_client(tmp_path, "docker", networks=())
    assert engines.unavailable("docker", client, "none") is None


def test_docker_bridge_needs_the_bridge_network(tmp_path: Path):
    client = fake_client(tmp_path, "docker", networks=("none", "host"))
    why = engines.unavailable("docker", client, "bridge")
    assert why and "no 'bridge' network" in why and "--bridge=none" in why
    client = fake_client(tmp_path, "docker", networks=("bridge", "none", "host"))
    assert engines.unavailable("docker", client, "bridge") is None


def test_podman_bridge_is_a_mode_not_a_network_name(tmp_path: Path):
    client = fake_client(tmp_path, "podman", networks=("podman",))
    assert engines.unavailable("podman", client, "bridge") is None


def test_availability_finds_the_client_on_path(on_path: Path):
    fake_client(on_path, "docker", networks=("none",))
    assert peers.availability("docker") is None
    assert "no 'bridge' network" in (peers.availability("docker", "bridge") or "")


def test_availability_without_a_client(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    monkeypatch.setenv("PATH", str(tmp_path))
    assert peers.availability("docker") == "not installed"
    assert (peers.availability("dockr") or "").startswith("unknown peer")


def test_versions_of_docker_name_client_engine_and_runtime():
    assert engines.versions(json.dumps(DOCKER_VERSION)) == "client 28.2.2, engine 20.10.24+dfsg1 (runc 1.1.5+ds1)"


def test_versions_of_a_local_podman_and_of_nonsense():
    assert engines.versions(json.dumps({"Client": {"Version": "4.3.1"}})) == "client 4.3.1"
    assert engines.versions(json.dumps({"Client": {"Version": "4.3.1"}, "Server": None})) == "client 4.3.1"
    assert engines.versions("not json") == "version unknown"
    assert engines.versions("{}") == "version unknown"
    assert engines.versions("[]") == "version unknown"


def test_describe_adds_storage_and_its_filesystem(tmp_path: Path):
    client = fake_client(tmp_path, "docker", storage=f"overlay2 {tmp_path}")
    text = engines.describe("docker", client)
    assert text.startswith("client 28.2.2, engine 20.10.24+dfsg1 (runc 1.1.5+ds1); storage overlay2 in ")
    assert text.endswith(f"{tmp_path} on {filesystem_of(str(tmp_path))}")


def test_describe_survives_a_client_that_says_nothing_useful(tmp_path: Path):
    client = fake_client(tmp_path, "podman", version="", storage="")
    assert engines.describe("podman", client) == "version unknown"


def test_notes_describe_the_cli_engines_that_ran(on_path: Path):
    fake_client(on_path, "docker")
    out = peers.notes(["pyns", "floor", "runc", "docker"], "none")
    assert out[0].startswith("runc/crun: an OCI bundle")
    assert out[1].startswith("docker: `docker run --rm --network none IMAGE ...`")
    assert "engine 20.10.24+dfsg1" in out[1]
    assert peers.notes(["pyns", "floor"], "none") == []


def test_filesystem_of_takes_the_longest_mount_point(tmp_path: Path):
    mountinfo = tmp_path / "mountinfo"
    mountinfo.write_text(
        "22 1 8:1 / / rw - ext4 /dev/vda rw\n"
        "30 22 0:5 / /tmp rw shared:2 - tmpfs tmpfs rw\n"
        "31 30 0:6 / /tmp/x/data rw - overlay overlay rw\n"
        "garbage line\n")
    assert filesystem_of("/tmp/x/data/y", str(mountinfo)) == "overlay"
    assert filesystem_of("/tmp/x", str(mountinfo)) == "tmpfs"
    assert filesystem_of("/tmpfoo", str(mountinfo)) == "ext4"
    assert filesystem_of("/tmp/x/data", str(mountinfo)) == "overlay"
