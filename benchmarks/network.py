#!/usr/bin/env python3
"""Network set-up and teardown cost per container, in ms.

    python3 benchmarks/network.py [--containers N]

Rows (each over N containers, one after the other, all held until the teardown row):
  netns only       pyns.network.netns create + delete: the floor any mode pays
  netns + veth     the kernel work of a bridge endpoint alone (namespace, veth on the bridge,
                   address, route, lo up), no state, lock or firewall; dropped untimed at the end
  setup            NetworkManager.setup on the default bridge (namespace, veth, address, route, lo)
  setup -p 80      the same plus one published port (random host port, one DNAT rule)
  setup user net   on a user-defined network with a hosts file (peers' files rewritten too)
  teardown         NetworkManager.teardown of the "setup -p 80" containers (veth deletion dominates)
The first setup of a network (bridge creation, rules) is made before timing.
A throw-away root, bridge (pynsbench0) and subnet; needs root. No packet is sent.
"""
from __future__ import annotations

import argparse
import ipaddress
import os
import secrets
import sys
import tempfile
import time
from typing import Callable

from common import print_table, require_root

from pyns.bench.workspace import free_subnets, networks_down


def _each(cids: list[str], fn: Callable[[str], object]) -> list[float]:
    out = []
    for cid in cids:
        t = time.perf_counter()
        fn(cid)
        out.append((time.perf_counter() - t) * 1000)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--containers", type=int, default=30)
    args = ap.parse_args()
    require_root()
    from pyns.network import netlink, netns as netns_mod
    from pyns.network.manager import NetworkManager
    from pyns.options import parse_port

    n = args.containers
    default_subnet, user_subnet = free_subnets(2, "10.0.0.0/8", 20)
    os.environ.update(PYNS_BRIDGE="pynsbench0", PYNS_BRIDGE_SUBNET=default_subnet)
    with tempfile.TemporaryDirectory(prefix="pyns-netbench-") as root:
        mgr = NetworkManager(root, os.path.join(root, "run"))
        mgr.create("bench", subnet=user_subnet)
        try:
            warm = secrets.token_hex(32)
            for net in ("bridge", "bench"):  # bridges and rules exist before timing
                mgr.setup(warm, "warm", [(net, [])], [], "warm")
                mgr.teardown(warm)
            os.makedirs(mgr.netns_dir, exist_ok=True)
            ids = {k: [secrets.token_hex(32) for _ in range(n)] for k in ("floor", "plain", "ports", "user")}
            bridge = mgr.get("bridge")

            def netns(cid: str) -> None:
                netns_mod.create(os.path.join(mgr.netns_dir, cid)).close()
                netns_mod.delete(os.path.join(mgr.netns_dir, cid))

            spare_ip = str(ipaddress.IPv4Network(bridge.subnet)[-2])  # far from what IPAM hands out first

            def endpoint(cid: str) -> None:
                path = os.path.join(mgr.netns_dir, cid)
                inside = netns_mod.create(path)
                try:
                    mac = "02:42:" + ":".join(cid[i:i + 2] for i in range(0, 8, 2))
                    mgr.netlink.add_veth("pvbench" + cid[:7], bridge.bridge, path, "eth0", mac)
                    netlink.configure_inside(path, [("eth0", spare_ip, bridge.prefixlen)], bridge.gateway, inside)
                finally:
                    inside.close()

            rows = [("netns only", _each(ids["plain"], netns))]
            rows.append(("netns + veth", _each(ids["floor"], endpoint)))
            rows.append(("setup", _each(ids["plain"], lambda c: mgr.setup(c, c[:8], [("bridge", [])], [], c[:12]))))
            rows.append(("setup -p 80", _each(
                ids["ports"], lambda c: mgr.setup(c, c[:8], [("bridge", [])], parse_port("80"), c[:12]))))
            rows.append(("setup user net", _each(ids["user"], lambda c: mgr.setup(
                c, c[:8], [("bench", [])], [], c[:12], hosts_path=os.path.join(root, f"hosts-{c}")))))
            rows.append(("teardown", _each(ids["ports"], mgr.teardown)))
            for cid in ids["floor"]:  # last: the kernel's clean-up of 30 namespaces would slow the rows after
                netns_mod.delete(os.path.join(mgr.netns_dir, cid))
        finally:
            networks_down(mgr)
    print(f"network per container, {n} containers, ms (firewall: {mgr.firewall.name})")
    print_table("step", rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
