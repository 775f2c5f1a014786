"""pyns's packet-filter policy, as backend-neutral rules (see base.py for why each exists)."""
from __future__ import annotations

from pyns.network.firewall.base import LOOPBACK, Rule
from pyns.records import record


@record(frozen=True)
class Forward:
    """One published port: traffic to host_ip:host_port goes to dest_ip:dest_port.

    host_ip "" (or "0.0.0.0") matches every local address.
    """

    proto: str
    host_ip: str
    host_port: int
    dest_ip: str
    dest_port: int


# Every network's rule set has exactly one rule here and containers have none:
# listing this chain tells which networks are installed, cheaply.
NETWORK_MARKER_CHAIN = "isolate2"
# Containers' rules all live here.
CONTAINER_CHAIN = "publish"


def network_rules(bridge: str, subnet: str, internal: bool) -> list[Rule]:
    """The rules of one bridge network, in the order they must be evaluated."""
    rules = []
    if not internal:
        rules.append(Rule("outbound", "masquerade", saddr=subnet, oif=bridge, oif_not=True))
    rules += [
        Rule("outbound", "masquerade", oif=bridge, saddr=LOOPBACK),
        Rule("outbound", "masquerade", oif=bridge, saddr=subnet, ct="dnat"),
        Rule("isolate1", "jump:isolate2", iif=bridge, oif=bridge, oif_not=True),
        Rule("isolate2", "drop", oif=bridge),
        Rule("guard", "drop", iif=bridge, daddr=LOOPBACK),
    ]
    if internal:
        rules += [Rule("bridges", "drop", iif=bridge, oif=bridge, oif_not=True),
                  Rule("bridges", "drop", oif=bridge, iif=bridge, iif_not=True)]
    rules += [
        Rule("bridges", "accept", oif=bridge, ct="reply"),
        Rule("bridges", "accept", oif=bridge, ct="dnat"),
        Rule("bridges", "accept", iif=bridge),
        Rule("bridges", "drop", oif=bridge),
    ]
    return rules


def forward_rules(forwards: list[Forward]) -> list[Rule]:
    """DNAT rules of a container's published ports."""
    return [Rule("publish", f"dnat:{f.dest_ip}:{f.dest_port}", proto=f.proto, dport=f.host_port,
                 daddr="" if f.host_ip in ("", "0.0.0.0") else f.host_ip)
            for f in forwards]
