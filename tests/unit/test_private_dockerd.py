"""scripts/private_dockerd.py: the private docker engine never touches the host's network (pure, no docker)."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def script():
    sys.path.insert(0, str(REPO / "scripts"))
    try:
        import private_dockerd
    finally:
        sys.path.pop(0)
    return private_dockerd


def test_dockerd_leaves_firewall_bridge_and_forwarding_alone(script):
    argv = script.dockerd_argv("/tmp/b")
    for flag in ("--iptables=false", "--ip6tables=false", "--ip-forward=false", "--ip-masq=false", "--bridge=none"):
        assert flag in argv
    assert argv[argv.index("--cgroup-parent") + 1] == "/pyns-docker"


def test_every_path_of_both_daemons_is_under_base(script):
    argv = script.dockerd_argv("/tmp/b")
    for flag in ("--config-file", "--data-root", "--exec-root", "--pidfile", "--containerd"):
        assert argv[argv.index(flag) + 1].startswith("/tmp/b/")
    assert argv[argv.index("-H") + 1] == "unix:///tmp/b/docker.sock"
    config = script.containerd_config("/tmp/b")
    paths = [line.split("=", 1)[1].strip().strip('"') for line in config.splitlines()
             if line.strip().split(" ")[0] in ("root", "state", "address", "path")]
    assert len(paths) == 5 and all(p.startswith("/tmp/b/") for p in paths)
    assert '"io.containerd.grpc.v1.cri"' in config  # disabled: it would set up CNI networking
