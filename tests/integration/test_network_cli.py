"""``pyns network ...`` through click, on a fresh root (root needed for the rule clean-up)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.conftest import needs_root
from tests.integration.test_network import free_subnet

pytestmark = [needs_root, pytest.mark.root]


@pytest.fixture
def run(root: Path, monkeypatch: pytest.MonkeyPatch):
    from pyns.cli.networks import network

    monkeypatch.setenv("PYNS_BRIDGE_SUBNET", free_subnet())
    runner = CliRunner()

    def invoke(*args: str, input: str | None = None):
        return runner.invoke(network, list(args), obj={"root": str(root), "run_root": str(root / "run")},
                             input=input)
    yield invoke
    from pyns.network.manager import NetworkManager

    mgr = NetworkManager(str(root), str(root / "run"))
    mgr.firewall.destroy()


def test_create_ls_inspect_rm_prune(run) -> None:
    r = run("create", "--subnet", "10.77.1.0/24", "--gateway", "10.77.1.254", "-l", "team=a", "front")
    assert r.exit_code == 0, r.output
    net_id = r.output.strip()
    assert len(net_id) == 64
    assert run("create", "back").exit_code == 0
    dup = run("create", "front")
    assert dup.exit_code != 0 and "already exists" in str(dup.exception)

    ls = run("ls")
    lines = ls.output.splitlines()
    assert lines[0].split() == ["NETWORK", "ID", "NAME", "DRIVER", "SCOPE"]
    assert [line.split()[1] for line in lines[1:]] == ["back", "bridge", "front", "host", "none"]
    assert net_id[:12] in ls.output
    assert len(run("ls", "-q", "--no-trunc").output.split()) == 5

    info = json.loads(run("inspect", "front").output)[0]
    assert info["IPAM"]["Config"] == [{"Subnet": "10.77.1.0/24", "Gateway": "10.77.1.254"}]
    assert info["Labels"] == {"team": "a"} and info["Driver"] == "bridge" and info["Containers"] == {}
    assert run("inspect", "-f", "{{.Name}} {{.Internal}}", "front").output == "front false\n"
    missing = run("inspect", "front", "nope")
    assert missing.exit_code == 1 and "No such network: nope" in missing.output

    rm = run("rm", "front", "bridge")
    assert rm.exit_code == 1 and rm.output.startswith("front\n") and "pre-defined" in rm.output
    assert run("prune", input="n\n").output.startswith("WARNING!")  # declined: nothing removed
    assert "back" in run("ls").output
    assert run("prune", "-f").output == "Deleted Networks:\nback\n"
    assert run("prune", "-f").output == ""
    assert run("create", "-d", "overlay", "x").exit_code != 0
