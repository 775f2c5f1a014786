"""``python -m pyns.network teardown --root R --run-root RR CID``: the monitor's on_exit hook.

A detached container's network (rules, veth, address, host ports) must be
released when it exits, not when someone next looks at it; the C monitor
runs this once at exit (a Python process only at that moment, none
resident). Exit status 0 even if there was nothing to remove.
"""
from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m pyns.network")
    sub = ap.add_subparsers(dest="command", required=True)
    down = sub.add_parser("teardown", help="release a container's network")
    down.add_argument("--root", required=True)
    down.add_argument("--run-root", required=True)
    down.add_argument("cid")
    args = ap.parse_args(argv)
    from pyns.errors import PynsError
    from pyns.network.manager import NetworkManager

    try:
        NetworkManager(args.root, args.run_root).teardown(args.cid)
    except PynsError as e:
        sys.stderr.write(f"Error: {e}\n")
        return 125
    return 0


if __name__ == "__main__":
    sys.exit(main())
