"""docker load takes pyns save's output and pyns load takes docker save's, same image id.

Needs a docker engine (e.g. `apt-get install docker.io; python3
scripts/private_dockerd.py start; export DOCKER_HOST=unix:///tmp/pyns-docker/docker.sock`);
skipped without one. CI machines have none: skopeo's docker-archive
reader checks the format there (test_image_archive.py).
"""
from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from tests.conftest import needs_root, pyns_cli

pytestmark = needs_root


def _docker_ready() -> bool:
    if not shutil.which("docker"):
        return False
    return subprocess.run(["docker", "info"], capture_output=True, timeout=20).returncode == 0


@pytest.fixture
def docker():
    if not _docker_ready():
        pytest.skip("no docker engine reachable (see scripts/private_dockerd.py)")
    made: list[str] = []
    yield made
    for ref in made:
        subprocess.run(["docker", "rmi", "-f", ref], capture_output=True)


def test_save_and_load_both_ways(root, busybox, tmp_path, docker):
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "Dockerfile").write_text(
        "FROM busybox\n"
        "RUN mkdir -p /opt/d && echo one > /opt/d/f && rm -rf /etc/network\n"
        "RUN echo two > /opt/d/g && chown 7:9 /opt/d/g\n")
    ref = f"pyns-interop-{os.getpid()}:1"
    docker.append(ref)
    image_id = pyns_cli("build", "-q", "-t", ref, str(ctx), check=True).stdout.decode().strip()
    archive = tmp_path / "pyns.tar"
    pyns_cli("save", "-o", str(archive), ref, check=True)
    subprocess.run(["docker", "load", "-i", str(archive)], check=True, capture_output=True)
    out = subprocess.run(["docker", "run", "--rm", "--network", "none", ref, "sh", "-c",
                          "stat -c '%u:%g' /opt/d/g; cat /opt/d/f; ls /etc/network 2>/dev/null || echo gone"],
                         check=True, capture_output=True).stdout.decode().split()
    assert out == ["7:9", "one", "gone"]
    docker_id = subprocess.run(["docker", "image", "inspect", "-f", "{{.Id}}", ref], check=True,
                               capture_output=True).stdout.decode().strip()
    assert docker_id == image_id

    back = tmp_path / "docker.tar"
    subprocess.run(["docker", "save", "-o", str(back), ref], check=True, capture_output=True)
    pyns_cli("rmi", ref, check=True)
    assert pyns_cli("load", "-i", str(back), check=True).stdout.decode().strip() == f"Loaded image: {ref}"
    assert pyns_cli("image", "inspect", "-f", "{{.Id}}", ref, check=True).stdout.decode().strip() == image_id
    out = pyns_cli("run", "--rm", "--network", "none", ref, "cat", "/opt/d/g", check=True).stdout.decode()
    assert out == "two\n"
