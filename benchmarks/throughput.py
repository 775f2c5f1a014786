#!/usr/bin/env python3
"""Sequential throughput: the README's table of containers per second, with its command line.

    python3 benchmarks/throughput.py [--count N] [--warmup N] [--compare PEERS]

`/bin/true` in COUNT containers one after another per runtime, each
started, exited and removed: pyns through the library
(`containers.run(image, ["/bin/true"], remove=True)`), runc and crun with
`RUNTIME run` on an OCI bundle of the same container (create, start, wait,
delete). Prints containers/s, the batch's wall time, ms per container and
pyns's rate over each peer's, against issue 6's target (pyns >= 2x crun).
Needs root; see `pyns bench throughput --help`.
"""
from __future__ import annotations

import argparse
import sys

from common import pyns_bench, require_root


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--count", type=int, default=200)
    ap.add_argument("--warmup", type=int, default=10)
    ap.add_argument("--compare", default="runc,crun")
    args = ap.parse_args()
    require_root()
    return pyns_bench("throughput", "--count", str(args.count), "--warmup", str(args.warmup),
                      "--compare", args.compare)


if __name__ == "__main__":
    sys.exit(main())
