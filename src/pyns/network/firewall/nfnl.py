"""The comments of one nf_tables chain's rules, read over netlink.

Every bridge start checks that its network's rules are installed (a
flushed ruleset or a reboot removes them) by the comment tags in one
chain. Measured here, listing that chain through libnftables cost
0.2-0.5 ms (it fills a cache of the whole table and prints JSON that is
parsed again), finding and loading libnftables 3-10 ms once per process
(``ctypes.util.find_library`` runs ``ldconfig -p``), and iptables-save is a
process of its own. One ``NFT_MSG_GETRULE`` dump of the chain takes ~0.03 ms.

Comments are where nft keeps them (the rule's user data) or, for rules
made by iptables-nft, in an ``xt`` comment match. The socket is the
rtnetlink client's (``Rtnl`` on NETLINK_NETFILTER). Read-only: rules are
still added and removed through the backends.
"""
from __future__ import annotations

import errno
import struct

from pyns.network.rtnl import NLM_F_DUMP, Rtnl, attr, attrs

NETLINK_NETFILTER = 12
NFNL_SUBSYS_NFTABLES = 10
NFT_MSG_GETCHAIN, NFT_MSG_GETRULE = 4, 7
NFPROTO_IPV4 = 2
NFTA_CHAIN_TABLE, NFTA_CHAIN_NAME = 1, 3
NFTA_RULE_TABLE, NFTA_RULE_CHAIN, NFTA_RULE_EXPRESSIONS, NFTA_RULE_USERDATA = 1, 2, 4, 7
NFTA_LIST_ELEM, NFTA_EXPR_NAME, NFTA_EXPR_DATA = 1, 1, 2
NFTA_MATCH_NAME, NFTA_MATCH_INFO = 1, 3
UDATA_RULE_COMMENT = 0
_SUBSYS = NFNL_SUBSYS_NFTABLES << 8
_NFGEN = struct.Struct("=BBH")


def _text(raw: bytes) -> str:
    return raw.split(b"\0", 1)[0].decode(errors="replace")


def udata_comment(udata: bytes) -> str | None:
    """The comment in a rule's user data (type-length-value, one byte each)."""
    pos = 0
    while pos + 2 <= len(udata):
        kind, length = udata[pos], udata[pos + 1]
        if kind == UDATA_RULE_COMMENT:
            return _text(udata[pos + 2:pos + 2 + length])
        pos += 2 + length
    return None


def match_comment(expressions: bytes) -> str | None:
    """The comment of an ``xt`` comment match among a rule's expressions (iptables-nft)."""
    for _, elem in attrs(expressions):
        fields = dict(attrs(elem))
        if _text(fields.get(NFTA_EXPR_NAME, b"")) != "match":
            continue
        data = dict(attrs(fields.get(NFTA_EXPR_DATA, b"")))
        if _text(data.get(NFTA_MATCH_NAME, b"")) == "comment":
            return _text(data.get(NFTA_MATCH_INFO, b""))
    return None


def rule_comment(payload: bytes) -> str | None:
    """The comment of one NFT_MSG_NEWRULE message (after its nfgenmsg)."""
    fields = dict(attrs(payload[_NFGEN.size:]))
    if NFTA_RULE_USERDATA in fields:
        found = udata_comment(fields[NFTA_RULE_USERDATA])
        if found is not None:
            return found
    return match_comment(fields.get(NFTA_RULE_EXPRESSIONS, b""))


def chain_comments(table: str, chain: str, family: int = NFPROTO_IPV4) -> list[str] | None:
    """The comments of chain's rules, in order (rules without one left out);
    None when the table or the chain does not exist in nf_tables."""
    t, c = table.encode() + b"\0", chain.encode() + b"\0"
    head = _NFGEN.pack(family, 0, 0)
    with Rtnl(NETLINK_NETFILTER) as s:
        out = [x for x in (rule_comment(p) for p in s.query(
            _SUBSYS | NFT_MSG_GETRULE, NLM_F_DUMP, head + attr(NFTA_RULE_TABLE, t) + attr(NFTA_RULE_CHAIN, c))) if x]
        if out:
            return out
        try:  # nothing: an empty chain, or none at all?
            s.query(_SUBSYS | NFT_MSG_GETCHAIN, 0, head + attr(NFTA_CHAIN_TABLE, t) + attr(NFTA_CHAIN_NAME, c))
        except OSError as e:
            if e.errno == errno.ENOENT:
                return None
            raise
        return out
