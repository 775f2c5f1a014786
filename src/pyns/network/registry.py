"""Network records: create, look up, list, delete — state only, no kernel objects.

Kernel objects (the bridge, its rules) are made on first use by
``bridge.ensure_up``, so a network that no container ever joined costs
nothing but a file, and a host reboot (which drops bridges and rules but
keeps these records) heals itself at the next ``setup``.
"""
from __future__ import annotations

import os
import re
import secrets
from typing import Callable, Iterable

from pyns import formatting
from pyns.errors import AmbiguousId, Conflict, InvalidArgument, NetworkNotFound
from pyns.network import subnets
from pyns.network.model import DEFAULT_NETWORK, PREDEFINED, Network
from pyns.network.store import NetworkStore

NAME_RE = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]*$")
DEFAULT_BRIDGE = "pyns0"


def _now() -> str:
    import datetime as dt

    return formatting.rfc3339_nano(dt.datetime.now(dt.timezone.utc))


def _new_id() -> str:
    while True:
        i = secrets.token_hex(32)
        if not i[:12].isdigit():
            return i


class Registry:
    """Network records in a NetworkStore. Callers hold the store lock for mutations."""

    def __init__(self, store: NetworkStore, host_routes: Callable[[], Iterable[subnets.IPv4Network]]) -> None:
        self.store = store
        self.host_routes = host_routes

    def find(self, ref: str, nets: list[Network] | None = None) -> Network:
        """By exact name, full id, then unique id prefix (docker's order), among
        nets (the caller's fresh reading of the store) or the store's networks."""
        nets = self.store.networks() if nets is None else nets
        for match in (lambda n: n.name == ref, lambda n: n.id == ref):
            found = [n for n in nets if match(n)]
            if found:
                return found[0]
        found = [n for n in nets if ref and n.id.startswith(ref)]
        if len(found) > 1:
            raise AmbiguousId(f"network {ref} is ambiguous ({len(found)} matches found based on ID prefix)")
        if not found:
            raise NetworkNotFound(f"network {ref} not found")
        return found[0]

    def _subnet(self, subnet: str | None) -> subnets.IPv4Network:
        others = [(n.name, subnets.IPv4Network(n.subnet)) for n in self.store.networks() if n.subnet]
        if subnet:
            net = subnets.parse_subnet(subnet)
            subnets.check_free(net, others)
            return net
        return subnets.choose([*self.host_routes(), *(s for _, s in others)])

    def add_bridge(self, name: str, subnet: str | None = None, gateway: str | None = None,
                   internal: bool = False, labels: dict[str, str] | None = None,
                   bridge: str | None = None, predefined: bool = False) -> Network:
        if name in PREDEFINED and not predefined:
            raise Conflict(f"operation is not permitted on predefined {name} network")
        if not NAME_RE.match(name):
            raise InvalidArgument(f"invalid network name {name!r}: only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed")
        if any(n.name == name for n in self.store.networks()):
            raise Conflict(f"network with name {name} already exists")
        if gateway and not subnet:
            raise InvalidArgument("a gateway needs a subnet (--subnet)")
        net_cidr = self._subnet(subnet)
        nid = _new_id()
        net = Network(id=nid, name=name, driver="bridge", created=_now(), subnet=str(net_cidr),
                      gateway=subnets.parse_gateway(gateway, net_cidr), bridge=bridge or f"pyns-{nid[:10]}",
                      internal=internal, labels=dict(labels or {}))
        self.store.save_network(net)
        return net

    def ensure_default(self, subnet: str | None = None) -> Network:
        """The pre-defined networks: "bridge" (device $PYNS_BRIDGE or pyns0), "host", "none"."""
        have = {n.name: n for n in self.store.networks()}
        if DEFAULT_NETWORK not in have:
            have[DEFAULT_NETWORK] = self.add_bridge(
                DEFAULT_NETWORK, subnet or os.environ.get("PYNS_BRIDGE_SUBNET") or None,
                bridge=os.environ.get("PYNS_BRIDGE") or DEFAULT_BRIDGE, predefined=True)
        for name, driver in (("host", "host"), ("none", "null")):
            if name not in have:
                self.store.save_network(Network(id=_new_id(), name=name, driver=driver, created=_now()))
        return have[DEFAULT_NETWORK]

    def check_removable(self, net: Network) -> None:
        if net.name in PREDEFINED:
            raise Conflict(f"{net.name} is a pre-defined network and cannot be removed")
