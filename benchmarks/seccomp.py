#!/usr/bin/env python3
"""What seccomp costs a container start, and each syscall after it.

    python3 benchmarks/seccomp.py [--runs N] [--warmup N]

Rows (ms unless marked):
  compile            program_for with nothing cached (parse, resolve, libseccomp compile)
  cached file        program_for reading <root>/seccomp/*.bpf (a new CLI process's case)
  cached memory      program_for again in the same process (the library's case)
  new process        import pyns.runtime.seccomp + program_for from the file, in a fresh
                     interpreter that has imported pyns already
  first compile      the same with nothing cached: includes loading libseccomp through cffi
  spawn unconfined   native spawn + wait of /bin/true, no filter
  spawn filtered     the same with docker's default profile installed
  syscall (ns)       per read/write pair of `dd bs=1`, unconfined vs filtered
The spawns reuse one prepared container (busybox, all namespaces, overlay,
cgroup), as benchmarks/startup.py's "spawn" row does, alternating the
unconfined and filtered runs. Needs root.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

from common import alternate, busybox_engine, percentile, print_table, require_root, timed

DD_BYTES = 100_000

# Timed from after pyns itself is imported (a CLI process has it anyway).
NEW_PROCESS = """
import sys, time
from pyns.runtime import capabilities
t = time.perf_counter()
from pyns.runtime import seccomp
seccomp.program_for(sys.argv[1], None, capabilities.DEFAULT_CAPABILITIES)
print((time.perf_counter() - t) * 1000)
"""


def in_new_process(root: str, runs: int, clear: bool) -> list[float]:
    out = []
    for _ in range(runs):
        if clear:
            subprocess.run(["rm", "-rf", os.path.join(root, "seccomp")], check=True)
        res = subprocess.run([sys.executable, "-c", NEW_PROCESS, root], capture_output=True, text=True, check=True)
        out.append(float(res.stdout))
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=50)
    ap.add_argument("--warmup", type=int, default=5)
    args = ap.parse_args()
    require_root()
    from pyns.runtime import capabilities, native, seccomp
    from pyns.runtime.plan import build_plan
    from pyns.runtime.seccomp import cache

    caps = capabilities.DEFAULT_CAPABILITIES
    with busybox_engine() as ws:
        scratch = os.path.join(ws.root, "scratch")

        def compile_cold() -> None:
            cache.clear_memory()
            subprocess.run(["rm", "-rf", scratch], check=True)
            seccomp.program_for(scratch, None, caps)

        def from_file() -> None:
            cache.clear_memory()
            seccomp.program_for(scratch, None, caps)

        rows = [("compile", timed(compile_cold, args.runs, args.warmup)),
                ("cached file", timed(from_file, args.runs, args.warmup)),
                ("cached memory", timed(lambda: seccomp.program_for(scratch, None, caps), args.runs, args.warmup))]
        runs_new = max(3, args.runs // 5)
        rows += [("new process", in_new_process(scratch, runs_new, clear=False)),
                 ("first compile", in_new_process(scratch, runs_new, clear=True))]

        engine = ws.engine
        program = seccomp.program_for(ws.root, None, caps)
        c = engine.containers.create(ws.image, ["true"])
        prepared = engine.manager.launcher.prepare(c.id, detached=False)
        spec = prepared.spec
        try:
            plans = {}
            for name, bpf in (("unconfined", None), ("filtered", program)):
                spec.seccomp_bpf = bpf
                spec.process.args = ["true"]
                plans[name] = native.Plan(build_plan(spec), "true")
                spec.process.args = ["dd", "if=/dev/zero", "of=/dev/null", "bs=1", f"count={DD_BYTES}"]
                plans["dd " + name] = native.Plan(build_plan(spec), "dd")

            def spawn(plan: native.Plan) -> None:
                devnull = os.open(os.devnull, os.O_WRONLY)
                try:
                    os.waitpid(plan.spawn(-1, devnull, devnull).pid, 0)
                finally:
                    os.close(devnull)

            spawns = alternate({name: (lambda n=name: spawn(plans[n])) for name in ("unconfined", "filtered")},
                               args.runs, args.warmup)
            rows += [(f"spawn {name}", values) for name, values in spawns.items()]
            per_syscall = {}
            for name in ("unconfined", "filtered"):
                t = time.perf_counter()
                spawn(plans["dd " + name])
                per_syscall[name] = (time.perf_counter() - t) * 1e9 / (2 * DD_BYTES)
        finally:
            prepared.cgroup.remove()
            c.remove()

    print(f"seccomp, default profile, {args.runs} runs (+{args.warmup} warm-up; new-process rows {runs_new}), "
          f"{len(program) // 8} BPF instructions, ms")
    print_table("what", rows, ".3f")
    spawn_p50 = {name: percentile(v, .5) for name, v in rows if name.startswith("spawn")}
    print(f"filter cost per start (p50): {spawn_p50['spawn filtered'] - spawn_p50['spawn unconfined']:.3f} ms")
    print(f"per syscall (dd bs=1, read+write): unconfined {per_syscall['unconfined']:.0f} ns, "
          f"filtered {per_syscall['filtered']:.0f} ns")
    return 0


if __name__ == "__main__":
    sys.exit(main())
