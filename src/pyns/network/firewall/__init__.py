"""Packet-filter backends: nftables (preferred) or iptables, chosen by what the host has.

``PYNS_FIREWALL=nftables|iptables`` forces one (tests run both). Each pyns
root gets its own table (nft) or chain prefix (iptables) so that two roots
on one host — a test root beside /var/lib/pyns — never touch each other's
rules.
"""
from __future__ import annotations

import hashlib
import os

from pyns.errors import PynsError
from pyns.network.firewall import iptables, nft
from pyns.network.firewall.base import Firewall, FirewallError, Rule, container_tag, network_tag

DEFAULT_ROOT = "/var/lib/pyns"

__all__ = ["Firewall", "FirewallError", "Rule", "container_tag", "network_tag", "for_root"]


def _suffix(root: str) -> str:
    return "" if os.path.abspath(root) == DEFAULT_ROOT else "-" + hashlib.sha256(root.encode()).hexdigest()[:8]


def for_root(root: str) -> Firewall:
    """The backend for this host (or $PYNS_FIREWALL), scoped to root."""
    wanted = os.environ.get("PYNS_FIREWALL", "")
    if wanted not in ("", "nftables", "iptables"):
        raise PynsError(f"PYNS_FIREWALL must be nftables or iptables, not {wanted!r}")
    if wanted == "nftables" or (not wanted and nft.available()):
        return nft.NftFirewall("pyns" + _suffix(root))
    if iptables.available():
        return iptables.IptablesFirewall("PYNS" + _suffix(root).upper())
    raise PynsError("neither nftables nor iptables is installed: bridge networks need one of them")
