"""Reading rule comments from nf_tables netlink messages (no packet filter is touched)."""
from __future__ import annotations

import struct

from pyns.network.firewall import nfnl


def _rule(*attrs: bytes) -> bytes:
    return nfnl._NFGEN.pack(nfnl.NFPROTO_IPV4, 0, 0) + b"".join(attrs)


def test_comment_from_nft_user_data() -> None:
    udata = bytes([5, 2, 0xAA, 0xBB]) + bytes([nfnl.UDATA_RULE_COMMENT, 13]) + b"pyns:net:abc\0"
    assert nfnl.rule_comment(_rule(nfnl.attr(nfnl.NFTA_RULE_TABLE, b"pyns\0"),
                                   nfnl.attr(nfnl.NFTA_RULE_USERDATA, udata))) == "pyns:net:abc"


def test_comment_from_an_iptables_nft_comment_match() -> None:
    def expr(name: bytes, data: bytes) -> bytes:
        return nfnl.attr(nfnl.NFTA_LIST_ELEM, nfnl.attr(nfnl.NFTA_EXPR_NAME, name + b"\0")
                         + nfnl.attr(nfnl.NFTA_EXPR_DATA, data))

    comment = nfnl.attr(nfnl.NFTA_MATCH_NAME, b"comment\0") + nfnl.attr(2, struct.pack("=I", 0)) \
        + nfnl.attr(nfnl.NFTA_MATCH_INFO, b"pyns:net:xyz".ljust(256, b"\0"))
    exprs = expr(b"meta", b"") + expr(b"match", nfnl.attr(nfnl.NFTA_MATCH_NAME, b"limit\0")) + expr(b"match", comment)
    assert nfnl.rule_comment(_rule(nfnl.attr(nfnl.NFTA_RULE_EXPRESSIONS, exprs))) == "pyns:net:xyz"


def test_rules_without_a_comment_have_none() -> None:
    assert nfnl.rule_comment(_rule(nfnl.attr(nfnl.NFTA_RULE_CHAIN, b"isolate2\0"))) is None
    assert nfnl.udata_comment(bytes([3, 1, 0])) is None
