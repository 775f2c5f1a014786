"""The firewall policy and its two renderings (no packet filter is touched)."""
from __future__ import annotations

from pyns.network import firewall
from pyns.network.firewall import iptables, nft
from pyns.network.firewall.rules import NETWORK_MARKER_CHAIN, Forward, forward_rules, network_rules


def test_network_rules_render_in_nft_syntax() -> None:
    text = [f"{r.chain}: {nft.render(r)}" for r in network_rules("br0", "10.1.0.0/24", internal=False)]
    assert text == [
        'outbound: ip saddr 10.1.0.0/24 oifname != "br0" masquerade',
        'outbound: ip saddr 127.0.0.0/8 oifname "br0" masquerade',
        'outbound: ip saddr 10.1.0.0/24 oifname "br0" ct status dnat masquerade',
        'isolate1: iifname "br0" oifname != "br0" jump isolate2',
        'isolate2: oifname "br0" drop',
        'guard: ip daddr 127.0.0.0/8 iifname "br0" drop',
        'bridges: oifname "br0" ct state established,related accept',
        'bridges: oifname "br0" ct status dnat accept',
        'bridges: iifname "br0" accept',
        'bridges: oifname "br0" drop',
    ]
    assert sum(r.chain == NETWORK_MARKER_CHAIN for r in network_rules("b", "10.0.0.0/8", True)) == 1


def test_internal_networks_do_not_masquerade_and_drop_crossings() -> None:
    rules = [nft.render(r) for r in network_rules("br0", "10.1.0.0/24", internal=True)]
    assert not any("oifname != \"br0\" masquerade" in r for r in rules)
    assert 'iifname "br0" oifname != "br0" drop' in rules
    assert 'iifname != "br0" oifname "br0" drop' in rules


def test_forwards_in_both_syntaxes() -> None:
    rules = forward_rules([Forward("tcp", "0.0.0.0", 8080, "10.1.0.2", 80),
                           Forward("udp", "127.0.0.1", 53, "10.1.0.2", 5353)])
    assert [nft.render(r) for r in rules] == ["tcp dport 8080 dnat to 10.1.0.2:80",
                                              "ip daddr 127.0.0.1 udp dport 53 dnat to 10.1.0.2:5353"]
    ipt = iptables.IptablesFirewall("PYNS-T")
    assert ipt._render(rules[1], "pyns:ctr:x") == (
        "-A PYNS-T-PUB -d 127.0.0.1 -p udp -m udp --dport 53 -m comment --comment pyns:ctr:x "
        "-j DNAT --to-destination 10.1.0.2:5353")
    iso = network_rules("br0", "10.1.0.0/24", False)[3]
    assert ipt._render(iso, "t") == "-A PYNS-T-ISO1 -i br0 ! -o br0 -m comment --comment t -j PYNS-T-ISO2"


def test_each_root_gets_its_own_table(monkeypatch) -> None:
    monkeypatch.setenv("PYNS_FIREWALL", "nftables")
    assert firewall.for_root("/var/lib/pyns").ident == "pyns"
    a, b = firewall.for_root("/tmp/a").ident, firewall.for_root("/tmp/b").ident
    assert a != b and a.startswith("pyns-")
    monkeypatch.setenv("PYNS_FIREWALL", "iptables")
    assert firewall.for_root("/var/lib/pyns").ident == "PYNS"
    monkeypatch.setenv("PYNS_FIREWALL", "pf")
    try:
        firewall.for_root("/x")
    except Exception as e:
        assert "PYNS_FIREWALL" in str(e)
    else:
        raise AssertionError("bad backend accepted")


def test_prerouting_never_publishes_loopback_destinations() -> None:
    """A packet to 127.0.0.0/8 in prerouting came from another host (moby/moby#41872): not DNATed.
    The host's own connections to its loopback are NATed in the output hook, which keeps matching."""
    assert nft._HOOKS["nat_pre"][3] == ("ip daddr != 127.0.0.0/8 fib daddr type local jump publish",)
    assert nft._HOOKS["nat_out"][3] == ("fib daddr type local jump publish",)
    nat_jumps = [line for table, line in iptables.IptablesFirewall("PYNS-T")._jump_lines(iptables._JUMPS)
                 if table == "nat" and line.endswith("-PUB")]
    assert nat_jumps == ["-A PREROUTING ! -d 127.0.0.0/8 -m addrtype --dst-type LOCAL -j PYNS-T-PUB",
                         "-A OUTPUT -m addrtype --dst-type LOCAL -j PYNS-T-PUB"]


def test_iptables_replaces_the_jump_an_older_pyns_made() -> None:
    ipt = iptables.IptablesFirewall("PYNS-T")
    current = {t: [line for table, line in ipt._jump_lines(iptables._JUMPS) if table == t]
               for t in ("raw", "nat", "filter")}
    current["nat"] += [f":{c} - [0:0]" for c in ("PYNS-T-PUB", "PYNS-T-OUT")]
    current["filter"] += [f":{c} - [0:0]" for c in ("PYNS-T-ISO1", "PYNS-T-ISO2", "PYNS-T-BR")]
    current["raw"] += [":PYNS-T-GUARD - [0:0]"]
    assert ipt._base(current) == {"raw": [], "nat": [], "filter": []}  # up to date: nothing to do
    old = "-A PREROUTING -m addrtype --dst-type LOCAL -j PYNS-T-PUB"
    upgraded = {**current, "nat": [line for line in current["nat"] if "PREROUTING" not in line] + [old]}
    assert ipt._base(upgraded)["nat"] == [
        "-A PREROUTING ! -d 127.0.0.0/8 -m addrtype --dst-type LOCAL -j PYNS-T-PUB",
        "-D PREROUTING -m addrtype --dst-type LOCAL -j PYNS-T-PUB"]


def test_nft_rewrites_its_hooks_once_per_process_even_on_an_existing_table(monkeypatch) -> None:
    """So hooks an older pyns wrote are replaced by the first addition, not only after a reboot."""
    scripts: list[str] = []

    def fake_run(commands: str, listing: bool = False) -> str:
        scripts.append(commands)
        return '{"nftables": []}' if listing else ""

    monkeypatch.setattr(nft, "run_nft", fake_run)
    monkeypatch.setattr(nft.nfnl, "chain_comments", lambda table, chain: [])
    fw = nft.NftFirewall("pyns-t")
    assert fw.tags(NETWORK_MARKER_CHAIN) == set()  # the table exists (its chain was read, empty)
    rules = forward_rules([Forward("tcp", "", 8080, "10.1.0.2", 80)])
    fw.add("pyns:ctr:a", rules)
    fw.add("pyns:ctr:b", rules)
    assert "flush chain ip pyns-t nat_pre" in scripts[0]
    assert "ip daddr != 127.0.0.0/8 fib daddr type local jump publish" in scripts[0]
    assert "flush chain" not in scripts[1] and "pyns:ctr:b" in scripts[1]


def test_nft_writes_its_table_again_when_the_check_finds_it_gone(monkeypatch) -> None:
    """A flushed ruleset after this process wrote the hooks: the next addition recreates the table."""
    scripts: list[str] = []
    monkeypatch.setattr(nft, "run_nft", lambda commands, listing=False: scripts.append(commands) or "")
    found: dict[str, list[str] | None] = {"comments": ["pyns:net:x", "other"]}
    monkeypatch.setattr(nft.nfnl, "chain_comments", lambda table, chain: found["comments"])
    fw = nft.NftFirewall("pyns-t")
    fw.add("pyns:net:x", [])
    assert fw.tags(NETWORK_MARKER_CHAIN) == {"pyns:net:x"}
    found["comments"] = None  # no table any more
    assert fw.tags(NETWORK_MARKER_CHAIN) == set()
    fw.add("pyns:net:x", [])
    assert "add table ip pyns-t" in scripts[1]
