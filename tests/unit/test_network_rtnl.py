"""The netlink client's encoding, and one harmless query (works without root)."""
from __future__ import annotations

import struct

from pyns.network import rtnl


def test_attributes_are_padded_and_parse_back() -> None:
    a = rtnl.attr(rtnl.IFLA_IFNAME, b"eth0\0")
    assert len(a) == 12 and struct.unpack_from("=HH", a) == (9, rtnl.IFLA_IFNAME)
    nested = rtnl.attr(rtnl.IFLA_LINKINFO, rtnl.attr(rtnl.IFLA_INFO_KIND, b"veth\0") + a)
    kinds = list(rtnl.attrs(nested))
    assert kinds[0][0] == rtnl.IFLA_LINKINFO
    assert [k for k, _ in rtnl.attrs(kinds[0][1])] == [rtnl.IFLA_INFO_KIND, rtnl.IFLA_IFNAME]


def test_loopback_is_index_one_and_missing_links_are_none() -> None:
    with rtnl.Rtnl() as r:
        assert r.link_index("lo") == 1
        assert r.link_index("pyns-no-such") is None
        assert all(0 < plen <= 32 for _, plen in r.route_destinations())


def test_a_batch_answers_each_request_in_order() -> None:
    with rtnl.Rtnl() as r:
        answers = r.batch([(rtnl.RTM_GETLINK, 0, rtnl.get_link("lo")),
                           (rtnl.RTM_GETLINK, 0, rtnl.get_link("pyns-no-such")),
                           (rtnl.RTM_GETLINK, 0, rtnl.get_link("lo"))])
    assert rtnl.link_of(answers[0][0])[0] == 1 and rtnl.link_of(answers[2][0])[0] == 1
    assert isinstance(answers[1], rtnl.NetlinkError) and answers[1].errno == 19  # ENODEV
