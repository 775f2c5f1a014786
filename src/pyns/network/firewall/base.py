"""What pyns asks of a packet filter, independent of nftables or iptables.

Two kinds of rule sets, each tagged with a comment so that pyns finds and
removes exactly its own rules and nothing else:

* per network (tag ``pyns:net:<id>``): masquerade of the subnet going out,
  masquerade of loopback-sourced traffic going into the bridge (published
  ports reached via 127.0.0.1), hairpin masquerade, forwarding policy
  (replies and published ports in, everything out unless ``internal``,
  nothing unsolicited in), isolation from the other pyns bridges, and a
  drop of packets from the bridge to 127.0.0.0/8 (``route_localnet`` is on
  for the bridge, so without it a container could reach the host's
  loopback services).
* per container (tag ``pyns:ctr:<id>``): one DNAT rule per published port.

The policy is written once, as backend-neutral :class:`Rule` lists (see
``rules.py``); each backend only renders them in its own syntax.

Why DNAT for loopback rather than a userland proxy: the proxy would be a
resident process per container (and, to be cheap, a C one); DNAT in the
nat OUTPUT hook plus ``route_localnet`` on the bridge and a masquerade
gives ``curl 127.0.0.1:PORT`` the same result with nothing running. The
cost is that the host port is not held by a socket: pyns checks it is
free at publish time (and tracks its own), but a host program that binds
it later is shadowed for connections the DNAT rule catches.

Why the prerouting hook never sends 127.0.0.0/8 to the publish chain:
the host's own connections to its loopback are NATed in the output hook
and never pass prerouting, so a packet to 127.0.0.0/8 there came from
another machine (which routed the range to this host, moby/moby#41872).
DNATing it would make ``-p 127.0.0.1:PORT:80`` reachable from the LAN; left
alone, the kernel drops it as a martian destination (pyns turns
``route_localnet`` on only for its bridges, where the guard rule drops
such packets first).
"""
from __future__ import annotations

from abc import ABC, abstractmethod

from pyns.errors import PynsError
from pyns.records import record

TAG_PREFIX = "pyns:"
LOOPBACK = "127.0.0.0/8"


def network_tag(net_id: str) -> str:
    return f"{TAG_PREFIX}net:{net_id}"


def container_tag(cid: str) -> str:
    return f"{TAG_PREFIX}ctr:{cid}"


class FirewallError(PynsError):
    """The packet filter refused a change (message from nft/iptables)."""


@record(frozen=True)
class Rule:
    """One backend-neutral rule: matches (all optional) and a verdict.

    ``chain`` is a role, not a kernel name: publish (nat, before routing and
    for local output, only for local destinations), outbound (nat, after
    routing), isolate1/isolate2/bridges (filter, forward), guard (raw,
    prerouting). ``verdict`` is accept, drop, masquerade, ``jump:CHAIN`` or
    ``dnat:IP:PORT``. ``ct`` is "reply" (established/related) or "dnat".
    """

    chain: str
    verdict: str
    iif: str = ""
    iif_not: bool = False
    oif: str = ""
    oif_not: bool = False
    saddr: str = ""
    daddr: str = ""
    proto: str = ""
    dport: int = 0
    ct: str = ""


class Firewall(ABC):
    """One backend. Mutating calls are made under the network lock."""

    name: str
    ident: str  # this root's table or chain prefix, as it appears in the ruleset

    @abstractmethod
    def add(self, tag: str, rules: list[Rule]) -> None:
        """Append rules, all tagged tag (creating pyns's chains if missing)."""

    @abstractmethod
    def remove(self, tag: str, chain: str | None = None) -> None:
        """Delete every rule tagged tag (only looking in chain, a role, if given)."""

    @abstractmethod
    def tags(self, chain: str | None = None) -> set[str]:
        """Tags of the rules pyns has installed in this root's chains (or in chain, a role).

        The chain hint lets a backend that can list one chain avoid listing
        every container's rules when it only needs the networks'.
        """

    @abstractmethod
    def destroy(self) -> None:
        """Remove this root's chains/table entirely (last network gone)."""
