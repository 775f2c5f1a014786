"""Benchmark results as JSON-ready dicts, and those dicts as text tables.

The text is rendered from the dict, so ``--json`` and the table always
say the same thing. Times are milliseconds; ratios are plain numbers
(pyns / other, per round: below 1 means pyns was faster).
"""
from __future__ import annotations

import os
import platform
from typing import Any

from pyns.bench.events import LABELS, breakdown
from pyns.bench.stats import ratios, summarize


def host_context(ws: Any) -> dict[str, Any]:
    """What the numbers depend on: kernel, CPUs, cgroup version, the root's filesystem, the image."""
    from pyns.runtime.cgroups import detect

    try:
        cgroup = f"v{detect().version}"
    except Exception:  # noqa: BLE001 - a description, never a failure
        cgroup = "?"
    return {"kernel": platform.release(), "cpus": os.cpu_count(), "cgroup": cgroup, "root": ws.root,
            "root_fs": ws.filesystem(), "image": ws.image, "image_id": ws.image_id}


def _phase_rows(traces: list[dict[str, int]]) -> list[dict[str, Any]]:
    return [{"event": name, "label": LABELS[name], **{f"{k}_ms": v for k, v in s.as_dict().items() if k != "n"},
             "n": s.n, "at_p50_ms": at} for name, s, at in breakdown(traces)]


def startup_target(result: Any) -> dict[str, Any] | None:
    """How many times faster pyns started than the target's peer, per round (None: the peer did not run).

    "met" is only judged for the configuration the target names (via CLI,
    network none); elsewhere the speed-up is informative and "met" is None.
    """
    from pyns.bench.startup import TARGET_FACTOR, TARGET_NETWORK, TARGET_PEER, TARGET_VIA

    if TARGET_PEER not in result.traces:
        return None
    speedups = ratios(result.totals_ms(TARGET_PEER), result.totals_ms("pyns"))
    if not speedups:
        return None
    p50 = summarize(speedups).p50
    applies = result.options.via == TARGET_VIA and result.options.network == TARGET_NETWORK
    return {"peer": TARGET_PEER, "factor": TARGET_FACTOR, "via": TARGET_VIA, "network": TARGET_NETWORK,
            "speedup_p50": p50, "applies": applies, "met": p50 >= TARGET_FACTOR if applies else None}


def startup_dict(result: Any) -> dict[str, Any]:
    """A StartupResult as plain data."""
    opts = result.options
    contenders = {name: {**summarize(result.totals_ms(name)).as_dict(), "runs_ms": result.totals_ms(name)}
                  for name in result.traces}
    ours = result.totals_ms("pyns")
    rel = {}
    for name in result.traces:
        if name != "pyns":
            per = ratios(ours, result.totals_ms(name))
            rel[name] = {**summarize(per).as_dict(), "per_round": per}
    return {
        "benchmark": "startup",
        "command": list(opts.command), "runs": opts.runs, "warmup": opts.warmup,
        "network": opts.network, "via": opts.via,
        "context": result.context,
        "contenders": contenders,
        "ratios": rel,
        "target": startup_target(result),
        "phases": _phase_rows(result.traces["pyns"]),
        "floor_phases": _phase_rows(result.traces["floor"]),
        "floor_argv": result.floor_argv,
        "skipped": [{"name": s.name, "reason": s.reason} for s in result.skipped],
        "notes": list(result.notes),
    }


SUMMARY_COLS = (("min", "min"), ("p50", "p50"), ("p90", "p90"), ("max", "max"), ("mean", "mean"))
PHASE_COLS = (("min_ms", "min"), ("p50_ms", "p50"), ("p90_ms", "p90"), ("max_ms", "max"), ("at_p50_ms", "at p50"))


def table(title: str, rows: list[tuple[str, dict[str, float]]], cols: tuple[tuple[str, str], ...],
          fmt: str = ".2f") -> list[str]:
    """A left-aligned name column, then right-aligned numbers; cols: (key in each row, header)."""
    width = max([len(title)] + [len(name) for name, _ in rows]) + 2
    lines = [f"{title:<{width}}" + "".join(f"{head:>9}" for _, head in cols)]
    for name, values in rows:
        lines.append(f"{name:<{width}}" + "".join(f"{values[key]:>9{fmt}}" for key, _ in cols))
    return lines


def _context_lines(d: dict[str, Any]) -> list[str]:
    c = d.get("context") or {}
    if not c:
        return []
    return [(f"host: kernel {c['kernel']}, {c['cpus']} CPUs, cgroup {c['cgroup']}; root {c['root']} "
             f"({c['root_fs']}); image {c['image']} ({c['image_id'][:19]})")]


def _footer(d: dict[str, Any]) -> list[str]:
    lines = []
    if d.get("skipped"):
        lines.append("skipped: " + "; ".join(f"{s['name']} ({s['reason']})" for s in d["skipped"]))
    lines += [f"note: {n}" for n in d.get("notes", [])]
    return lines


def startup_text(d: dict[str, Any]) -> str:
    """The start-up tables: end to end, ratios per round, pyns's phases."""
    cmd = " ".join(d["command"])
    lines = [(f"start-up: `{cmd}` in fresh containers, {d['runs']} runs (+{d['warmup']} warm-up), "
              f"network {d['network']}, pyns via {d['via']}")]
    lines += _context_lines(d)
    lines.append("")
    lines += table("end to end, ms", list(d["contenders"].items()), SUMMARY_COLS)
    lines.append("")
    lines += table("pyns / other, per round", [(f"pyns / {k}", v) for k, v in d["ratios"].items()],
                   SUMMARY_COLS[:4])
    lines += _startup_target_lines(d.get("target"))
    lines.append("")
    lines += table("pyns phases, ms (each since the previous event)", [(r["label"], r) for r in d["phases"]],
                   PHASE_COLS, ".3f")
    argv = [os.path.basename(d["floor_argv"][0]), *d["floor_argv"][1:]]
    lines.append(f"floor: a bare clone with the container's namespaces, execve `{' '.join(argv)}` (the image's "
                 "own binary), wait; no cgroup, no root filesystem")
    lines += _footer(d)
    return "\n".join(lines) + "\n"


def _startup_target_lines(t: dict[str, Any] | None) -> list[str]:
    if not t:
        return []
    got = f"{t['peer']} / pyns per round, p50: {t['speedup_p50']:.2f}x"
    if t["applies"]:
        return [f"target: pyns run >= {t['factor']:g}x faster than {t['peer']} run (CLI to CLI, network "
                f"{t['network']}): {got}, {'met' if t['met'] else 'not met'}"]
    return [f"{got} (the {t['factor']:g}x target is for --via {t['via']} --network {t['network']})"]


def _mean(values: list[int]) -> float:
    return sum(values) / len(values) if values else 0.0


def density_dict(result: Any) -> dict[str, Any]:
    """A DensityResult as plain data (bytes per container are means over the N)."""
    from pyns.bench import memory

    opts = result.options
    n = opts.count
    before, running, after = (result.meminfo.get(k, {}) for k in ("before", "running", "after"))

    def field_mean(rows: list[dict[str, int]], key: str) -> float:
        return _mean([r[key] for r in rows if key in r])

    per = {
        "monitor_rss": field_mean(result.monitors, "Rss"),
        "monitor_pss": field_mean(result.monitors, "Pss"),
        "container_rss": field_mean(result.containers, "Rss"),
        "container_pss": field_mean(result.containers, "Pss"),
        "cgroup_usage": field_mean(result.cgroups, "usage"),
        "cgroup_kernel": field_mean(result.cgroups, "kernel"),
        "kernel_delta": (memory.kernel_bytes(running) - memory.kernel_bytes(before)) / n,
        "system_delta": (memory.used_bytes(running) - memory.used_bytes(before)) / n,
    }
    return {
        "benchmark": "density",
        "count": n, "network": opts.network, "command": list(opts.command),
        "context": result.context,
        "timings_ms": {step: summarize(v).as_dict() for step, v in
                       (("start", result.start_ms), ("stop", result.stop_ms), ("remove", result.remove_ms)) if v},
        "wall_ms": dict(result.wall_ms),
        "per_container_bytes": per,
        "engine_per_container_bytes": per["monitor_pss"] + per["kernel_delta"],
        "left_after_remove_bytes": {
            "kernel": memory.kernel_bytes(after) - memory.kernel_bytes(before) if after else None,
            "system": memory.used_bytes(after) - memory.used_bytes(before) if after else None,
        },
    }


def _size(n: float | None) -> str:
    if n is None:
        return "?"
    for unit, scale in (("MiB", 1 << 20), ("KiB", 1 << 10)):
        if abs(n) >= scale:
            return f"{n / scale:.2f} {unit}"
    return f"{n:.0f} B"


MEMORY_ROWS = (
    ("monitor_pss", "pyns-monitor, PSS"),
    ("monitor_rss", "pyns-monitor, RSS"),
    ("kernel_delta", "kernel (slab, stacks, page tables, per-CPU): meminfo delta / N"),
    ("system_delta", "whole system (MemTotal - MemAvailable): delta / N"),
    ("container_pss", "the container's own process, PSS"),
    ("container_rss", "the container's own process, RSS"),
    ("cgroup_usage", "charged to the container's cgroup"),
    ("cgroup_kernel", "  of which kernel memory"),
)


def density_text(d: dict[str, Any]) -> str:
    lines = [(f"density: {d['count']} idle detached containers (`{' '.join(d['command'])}`), "
              f"network {d['network']}")]
    lines += _context_lines(d)
    lines.append("")
    steps = [(f"{step} (all {d['count']}: {d['wall_ms'][step]:.0f} ms)", s) for step, s in d["timings_ms"].items()]
    lines += table("per container, ms", steps, SUMMARY_COLS)
    lines.append("")
    per = d["per_container_bytes"]
    width = max(len(label) for _, label in MEMORY_ROWS) + 2
    lines.append("memory per container (mean over the N)")
    lines += [f"{label:<{width}}{_size(per[key]):>12}" for key, label in MEMORY_ROWS]
    lines.append(f"{'engine adds per container (monitor PSS + kernel delta)':<{width}}"
                 f"{_size(d['engine_per_container_bytes']):>12}")
    left = d["left_after_remove_bytes"]
    lines.append(f"after stop + rm of all: kernel {_size(left['kernel'])}, system {_size(left['system'])} "
                 "above the start (caches, deferred frees)")
    return "\n".join(lines) + "\n"


def throughput_dict(result: Any) -> dict[str, Any]:
    """A ThroughputResult as plain data; ratios are pyns's containers/s over the peer's (above 1: pyns faster)."""
    from pyns.bench.throughput import TARGET_FACTOR, TARGET_PEER

    opts = result.options
    contenders = {name: {"containers_per_s": b.per_second, "wall_s": b.wall_ms / 1000,
                         "mean_ms": b.wall_ms / len(b.each_ms), "per_container_ms": summarize(b.each_ms).as_dict(),
                         "each_ms": list(b.each_ms)}
                  for name, b in result.batches.items()}
    ours = contenders["pyns"]["containers_per_s"]
    rel = {name: ours / c["containers_per_s"] for name, c in contenders.items()
           if name != "pyns" and c["containers_per_s"] > 0}
    target = None
    if TARGET_PEER in rel:
        target = {"peer": TARGET_PEER, "factor": TARGET_FACTOR, "ratio": rel[TARGET_PEER],
                  "met": rel[TARGET_PEER] >= TARGET_FACTOR}
    return {
        "benchmark": "throughput",
        "command": list(opts.command), "count": opts.count, "warmup": opts.warmup, "network": opts.network,
        "context": result.context,
        "contenders": contenders,
        "ratios": rel,
        "target": target,
        "skipped": [{"name": s.name, "reason": s.reason} for s in result.skipped],
        "notes": list(result.notes),
    }


THROUGHPUT_COLS = (("containers_per_s", "ctrs/s"), ("wall_s", "wall s"), ("mean_ms", "mean ms"),
                   ("p50", "p50 ms"), ("p90", "p90 ms"), ("max", "max ms"))


def throughput_text(d: dict[str, Any]) -> str:
    """The throughput tables: each contender's rate and times, then pyns's rate over each peer's."""
    lines = [(f"throughput: `{' '.join(d['command'])}`, {d['count']} containers one after another per runtime "
              f"(+{d['warmup']} warm-up), each started, exited and removed; network {d['network']}")]
    lines += _context_lines(d)
    lines.append("")
    rows = [(name, {**c, **c["per_container_ms"]}) for name, c in d["contenders"].items()]
    lines += table("sequential", rows, THROUGHPUT_COLS)
    if d["ratios"]:
        lines.append("")
        lines += table("pyns / other, containers/s", [(f"pyns / {k}", {"r": v}) for k, v in d["ratios"].items()],
                       (("r", "ratio"),))
    t = d.get("target")
    if t:
        lines.append(f"target: pyns >= {t['factor']:g}x {t['peer']}'s containers/s: {t['ratio']:.2f}x, "
                     f"{'met' if t['met'] else 'not met'}")
    lines += _footer(d)
    return "\n".join(lines) + "\n"
