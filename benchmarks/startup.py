#!/usr/bin/env python3
"""Container start-up time: run /bin/true N times and print min/p50/p90/max.

    python3 benchmarks/startup.py [--runs N] [--warmup N]

Three ways, one table:
  library   engine.containers.run(img, ["true"], remove=True) in this process
  cli       `pyns run --rm IMAGE true` (a new Python process each time)
  spawn     the native spawn alone (clone .. execve .. wait), no store or cgroup
All with pid, mount, uts, ipc, network and cgroup namespaces, an overlay
root filesystem and (library/cli) a cgroup, on a busybox image imported into
a throw-away PYNS_ROOT. Needs root. Later work adds runc/crun/docker peers.
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "scripts"))
import busybox_rootfs  # noqa: E402


def percentile(values: list[float], p: float) -> float:
    s = sorted(values)
    k = (len(s) - 1) * p
    lo, hi = int(k), min(int(k) + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


def timed(fn, runs: int, warmup: int) -> list[float]:
    for _ in range(warmup):
        fn()
    out = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t) * 1000)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=50)
    ap.add_argument("--warmup", type=int, default=5)
    args = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("needs root")
    import pyns
    from pyns.runtime import native

    with tempfile.TemporaryDirectory(prefix="pyns-bench-") as root:
        os.environ["PYNS_ROOT"] = root
        tar = os.path.join(root, "busybox.tar")
        busybox_rootfs.build(tar)
        engine = pyns.Engine(root)
        with open(tar, "rb") as f:
            engine.image_store.import_tarball(f, "bench:latest")

        def library() -> None:
            engine.containers.run("bench", ["true"], remove=True)

        def cli() -> None:
            subprocess.run([sys.executable, "-m", "pyns.cli.main", "run", "--rm", "bench", "true"], check=True)

        # The bare native spawn: reuse one container's prepared plan without the store.
        c = engine.containers.create("bench", ["true"])
        prepared = engine.manager.launcher.prepare(c.id, detached=False)

        def spawn() -> None:
            res = prepared.plan.spawn(-1, -1, -1)
            os.waitpid(res.pid, 0)

        rows = [("library", timed(library, args.runs, args.warmup)),
                ("cli", timed(cli, args.runs, args.warmup)),
                ("spawn", timed(spawn, args.runs, args.warmup))]
        prepared.cgroup.remove()
        c.remove()
        print(f"container start-up, /bin/true, {args.runs} runs (+{args.warmup} warm-up), ms")
        print(f"{'way':<10}{'min':>8}{'p50':>8}{'p90':>8}{'max':>8}{'mean':>8}")
        for name, v in rows:
            print(f"{name:<10}{min(v):8.2f}{percentile(v, .5):8.2f}{percentile(v, .9):8.2f}{max(v):8.2f}"
                  f"{statistics.fmean(v):8.2f}")
        del native
    return 0


if __name__ == "__main__":
    sys.exit(main())
