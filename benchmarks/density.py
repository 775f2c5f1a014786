#!/usr/bin/env python3
"""Density: the README's table of what an idle detached container costs, with its command line.

    python3 benchmarks/density.py [--count N]

N idle detached containers (`sleep 86400`), network none then bridge:
the monitor's RSS/PSS, the kernel's growth per container (meminfo), the
container's own process and cgroup charge; start, stop and rm timings.
Needs root; see `pyns bench density --help`.
"""
from __future__ import annotations

import argparse
import sys

from common import pyns_bench, require_root


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--count", type=int, default=10)
    args = ap.parse_args()
    require_root()
    rc = pyns_bench("density", "--count", str(args.count))
    rc |= pyns_bench("density", "--count", str(args.count), "--network", "bridge")
    return rc


if __name__ == "__main__":
    sys.exit(main())
