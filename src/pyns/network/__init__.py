"""Bridge networking for containers: IPAM, bridge + veth (netlink), port publishing, hosts.

Entry point: :class:`pyns.network.manager.NetworkManager`. The package is
imported lazily by the engine: pyroute2 (netlink) costs ~0.2 s to import
and is loaded only when a kernel object must be made or removed.
"""
from __future__ import annotations

from pyns.network.model import Attachment, Endpoint, Network

__all__ = ["Attachment", "Endpoint", "Network", "NetworkManager"]


def __getattr__(name: str):  # NetworkManager without importing it (and its deps) eagerly
    if name == "NetworkManager":
        from pyns.network.manager import NetworkManager

        return NetworkManager
    raise AttributeError(name)
