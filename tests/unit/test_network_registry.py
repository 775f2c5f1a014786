"""Network records: names, ids, pre-defined networks (state only, no kernel)."""
from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest

from pyns.errors import AmbiguousId, Conflict, InvalidArgument, NetworkNotFound
from pyns.network.registry import Registry
from pyns.network.store import NetworkStore


@pytest.fixture
def reg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Registry:
    monkeypatch.delenv("PYNS_BRIDGE", raising=False)
    monkeypatch.delenv("PYNS_BRIDGE_SUBNET", raising=False)
    routes = [ipaddress.IPv4Network("172.17.0.0/16")]
    return Registry(NetworkStore(str(tmp_path / "root"), str(tmp_path / "run")), lambda: routes)


def test_defaults_avoid_host_routes_and_are_created_once(reg: Registry) -> None:
    bridge = reg.ensure_default()
    assert (bridge.name, bridge.bridge, bridge.subnet, bridge.gateway) == ("bridge", "pyns0", "172.18.0.0/16",
                                                                          "172.18.0.1")
    assert reg.ensure_default().id == bridge.id
    assert sorted((n.name, n.driver) for n in reg.store.networks()) == [
        ("bridge", "bridge"), ("host", "host"), ("none", "null")]
    for name in ("bridge", "host", "none"):
        with pytest.raises(Conflict, match="pre-defined"):
            reg.check_removable(reg.find(name))
    with pytest.raises(Conflict):
        reg.add_bridge("host")


def test_user_networks(reg: Registry) -> None:
    reg.ensure_default()
    net = reg.add_bridge("front", labels={"k": "v"})
    assert net.subnet == "172.19.0.0/16" and net.bridge == "pyns-" + net.id[:10] and len(net.bridge) <= 15
    assert reg.find("front") == reg.find(net.id) == reg.find(net.id[:5])
    with pytest.raises(Conflict, match="already exists"):
        reg.add_bridge("front")
    with pytest.raises(Conflict, match="overlaps"):
        reg.add_bridge("clash", subnet="172.19.4.0/24")
    custom = reg.add_bridge("custom", subnet="10.10.0.0/24", gateway="10.10.0.254", internal=True)
    assert (custom.gateway, custom.internal, custom.prefixlen) == ("10.10.0.254", True, 24)
    with pytest.raises(InvalidArgument):
        reg.add_bridge("bad name")
    with pytest.raises(InvalidArgument, match="needs a subnet"):
        reg.add_bridge("gw", gateway="10.0.0.1")
    with pytest.raises(NetworkNotFound):
        reg.find("nope")


def test_ambiguous_prefix(reg: Registry) -> None:
    nets = [reg.add_bridge(f"n{i}", subnet=f"10.{i}.0.0/24") for i in range(17)]
    firsts = [n.id[0] for n in nets]
    common = max(set(firsts), key=firsts.count)  # 17 ids, 16 hex digits: one is shared
    with pytest.raises(AmbiguousId):
        reg.find(common)
