#!/usr/bin/env python3
"""Container start-up: the README's tables, each with its `pyns bench` command line.

    python3 benchmarks/startup.py [--runs N] [--warmup N] [--cli-runs N]

1. /bin/true, network none, through the library, with runc, crun, docker
   and podman side by side (the ones installed and answering: docker needs
   a daemon its client reaches, e.g. DOCKER_HOST=unix:///... );
2. the same with the default bridge network (netns + veth per container);
3. through the CLI (`pyns run --rm`, a Python process per container), beside
   the same peers: `pyns run` against `docker run` is issue 6's CLI target.
Each prints end-to-end min/p50/p90/max, the ratios pyns/peer per round and
pyns's phases from the C side's timestamps, plus the physical floor (a bare
clone with the same namespaces + execve + wait). Needs root; see
`pyns bench startup --help` for a single configuration.
"""
from __future__ import annotations

import argparse
import sys

from common import pyns_bench, require_root


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=30)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--cli-runs", type=int, default=15)
    args = ap.parse_args()
    require_root()
    common = ["--runs", str(args.runs), "--warmup", str(args.warmup)]
    peers = ["--compare", "runc,crun,docker,podman"]
    rc = pyns_bench("startup", *common, *peers)
    rc |= pyns_bench("startup", *common, "--network", "bridge", *peers)
    rc |= pyns_bench("startup", "--runs", str(args.cli_runs), "--warmup", "2", "--via", "cli", *peers)
    return rc


if __name__ == "__main__":
    sys.exit(main())
