"""Bringing a bridge network up in the kernel and down again.

Up means: the bridge device with the gateway address, ``route_localnet``
on it, IPv4 forwarding on (unless the network is internal), and the
network's tagged firewall rules. ``ensure_up`` is idempotent and cheap
when everything is there, so ``setup`` calls it every time: that is what
repairs a network after a reboot or a flushed ruleset.
"""
from __future__ import annotations

from pyns.errors import InvalidArgument
from pyns.network import sysctl
from pyns.network.firewall import Firewall, network_tag
from pyns.network.firewall.rules import network_rules
from pyns.network.model import Network
from pyns.network.netlink import Netlink


def ensure_up(net: Network, netlink: Netlink, firewall: Firewall, installed_tags: set[str]) -> None:
    """Make net usable; installed_tags is firewall.tags(), read once by the caller."""
    if not net.is_bridge:
        raise InvalidArgument(f"network {net.name} (driver {net.driver}) has no bridge to attach to")
    netlink.ensure_bridge(net.bridge, net.gateway, net.prefixlen)
    sysctl.enable_route_localnet(net.bridge)
    if not net.internal:
        sysctl.enable_forwarding()
    tag = network_tag(net.id)
    if tag not in installed_tags:
        firewall.add(tag, network_rules(net.bridge, net.subnet, net.internal))
        installed_tags.add(tag)


def bring_down(net: Network, netlink: Netlink, firewall: Firewall) -> None:
    """Remove the network's rules and its bridge (no endpoint may remain)."""
    firewall.remove(network_tag(net.id))
    if net.bridge:
        netlink.delete_link(net.bridge)
