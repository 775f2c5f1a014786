"""The network layer's records: networks, endpoints and a container's attachment.

They are plain records (pyns.records) that round-trip through JSON (``to_dict`` /
``from_dict``) because every one of them is state on disk first and a
kernel object second: a crash between the two must leave enough behind
for ``teardown`` to find and remove the kernel side.
"""
from __future__ import annotations

import ipaddress
from typing import Any

from pyns.options.ports import PortBinding
from pyns.records import as_dict, field, field_names, record

# Docker's pre-defined networks: "bridge" is a real bridge network (device
# pyns0), "host" and "none" are modes the lead implements; they exist as
# records so that `network ls` shows them and `network rm` refuses them.
DEFAULT_NETWORK = "bridge"
PREDEFINED = ("bridge", "host", "none")


class _Record:
    """JSON round trip for the records below."""

    def to_dict(self) -> dict[str, Any]:
        return as_dict(self)  # type: ignore[call-overload]

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Any:
        """Build from a dict, ignoring keys a newer pyns may have added."""
        names = set(field_names(cls))  # type: ignore[arg-type]
        return cls(**{k: v for k, v in data.items() if k in names})


@record
class Network(_Record):
    """One network as stored in ``network/networks/<id>.json``."""

    id: str
    name: str
    driver: str  # "bridge", "host" or "null"
    created: str
    subnet: str = ""
    gateway: str = ""
    bridge: str = ""  # the Linux bridge device
    internal: bool = False
    labels: dict[str, str] = field(default_factory=dict)

    @property
    def short_id(self) -> str:
        return self.id[:12]

    @property
    def is_bridge(self) -> bool:
        return self.driver == "bridge"

    @property
    def prefixlen(self) -> int:
        return ipaddress.ip_network(self.subnet).prefixlen

    @property
    def user_defined(self) -> bool:
        """Docker resolves container names only on user-defined networks."""
        return self.name not in PREDEFINED


@record
class Endpoint(_Record):
    """A container's interface on one network."""

    network: str  # network name at attach time
    network_id: str
    endpoint_id: str
    ifname: str  # inside the container: eth0, eth1, ...
    host_ifname: str  # the host end of the veth pair
    ip: str
    prefixlen: int
    gateway: str
    mac: str
    aliases: list[str] = field(default_factory=list)

    @property
    def user_defined(self) -> bool:
        """On a user-defined network (where peers resolve each other by name).
        Told from the name alone: no user network may take a pre-defined one's."""
        return self.network not in PREDEFINED


@record
class Attachment(_Record):
    """Everything a container holds in the network layer, as ``setup`` returns it.

    ``ports`` are the bindings as published: random host ports resolved,
    host_ip "0.0.0.0" for "all addresses". The first endpoint is the one
    that carries the default route and receives published ports.
    """

    cid: str
    name: str
    hostname: str
    netns_path: str
    endpoints: list[Endpoint] = field(default_factory=list)
    ports: list[PortBinding] = field(default_factory=list)
    hosts_path: str | None = None

    @property
    def primary(self) -> Endpoint | None:
        return self.endpoints[0] if self.endpoints else None

    def endpoint_on(self, network_id: str) -> Endpoint | None:
        return next((e for e in self.endpoints if e.network_id == network_id), None)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Attachment":
        att: Attachment = super().from_dict(data)
        att.endpoints = [Endpoint.from_dict(e) for e in data.get("endpoints", [])]
        att.ports = [PortBinding(**p) for p in data.get("ports", [])]
        return att
