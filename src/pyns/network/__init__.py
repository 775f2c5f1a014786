"""Bridge networking for containers: IPAM, bridge + veth (netlink), port publishing, hosts.

Entry point: :class:`pyns.network.manager.NetworkManager`. The package is
imported lazily by the engine (``--network none`` never loads it); netlink
goes through its own small clients (``rtnl.py``, ``firewall/nfnl.py``).
"""
from __future__ import annotations

from pyns.network.model import Attachment, Endpoint, Network

__all__ = ["Attachment", "Endpoint", "Network", "NetworkManager"]


def __getattr__(name: str):  # NetworkManager without importing it (and its deps) eagerly
    if name == "NetworkManager":
        from pyns.network.manager import NetworkManager

        return NetworkManager
    raise AttributeError(name)
