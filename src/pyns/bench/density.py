"""The density benchmark: N idle detached containers at once.

What a detached pyns container costs while it idles is its monitor (a
small static C process; no daemon, no Python stays) plus kernel objects
(namespaces, mounts, cgroup directories; a netns and veth with a bridge).
After one warm-up container (first-use costs such as compiling the
seccomp program are not density), this starts N containers one after the
other under their monitors, lets them settle, reads the monitors' and
containers' memory and the kernel's totals, then stops (SIGKILL: ``stop -t 0``, an idle ``sleep`` as pid 1
ignores SIGTERM anyway) and removes them, timing each step.
"""
from __future__ import annotations

import time
from typing import Any, Callable

from pyns.bench import memory
from pyns.bench.stats import time_each
from pyns.bench.workspace import Workspace
from pyns.errors import InvalidArgument
from pyns.records import field, record

IDLE_COMMAND = ("sleep", "86400")


@record
class DensityOptions:
    count: int = 10
    network: str = "none"
    command: tuple[str, ...] = IDLE_COMMAND
    settle: float = 0.5  # seconds between the last start and the reading

    def check(self) -> None:
        if self.count < 1:
            raise InvalidArgument("--count must be at least 1")
        if self.network not in ("none", "bridge"):
            raise InvalidArgument("--network must be none or bridge")


@record
class DensityResult:
    options: DensityOptions
    start_ms: list[float] = field(default_factory=list)
    stop_ms: list[float] = field(default_factory=list)
    remove_ms: list[float] = field(default_factory=list)
    wall_ms: dict[str, float] = field(default_factory=dict)  # step -> all N
    monitors: list[dict[str, int]] = field(default_factory=list)    # smaps_rollup per monitor
    containers: list[dict[str, int]] = field(default_factory=list)  # smaps_rollup per container init
    cgroups: list[dict[str, int]] = field(default_factory=list)     # charged memory per container
    meminfo: dict[str, dict[str, int]] = field(default_factory=dict)  # before / running / after
    context: dict[str, Any] = field(default_factory=dict)


def _timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    t = time.perf_counter()
    out = fn()
    return out, (time.perf_counter() - t) * 1000


def _start(ws: Workspace, opts: DensityOptions) -> Any:
    return ws.engine.containers.run(ws.image, list(opts.command), detach=True, network_mode=opts.network)


def _read(ws: Workspace, cid: str, result: DensityResult) -> None:
    from pyns.runtime.cgroups import detect

    state = ws.engine.manager.store.state(cid)
    result.monitors.append(memory.process_memory(int(state.get("OwnerPid", 0))))
    result.containers.append(memory.process_memory(int(state.get("Pid", 0))))
    result.cgroups.append(memory.cgroup_memory(detect().open(cid).dirs))


def run_density(ws: Workspace, opts: DensityOptions) -> DensityResult:
    opts.check()
    result = DensityResult(opts)
    containers: list[Any] = []
    _start(ws, opts).remove(force=True)  # warm-up: first-use costs (seccomp program, bridge) are not density
    time.sleep(opts.settle)
    result.meminfo["before"] = memory.meminfo()
    try:
        t0 = time.perf_counter()
        for _ in range(opts.count):
            c, ms = _timed(lambda: _start(ws, opts))
            containers.append(c)
            result.start_ms.append(ms)
        result.wall_ms["start"] = (time.perf_counter() - t0) * 1000
        time.sleep(opts.settle)
        result.meminfo["running"] = memory.meminfo()
        for c in containers:
            _read(ws, c.id, result)
        result.stop_ms, result.wall_ms["stop"] = time_each(lambda c: c.stop(timeout=0), containers)
        result.remove_ms, result.wall_ms["remove"] = time_each(lambda c: c.remove(), containers)
        containers.clear()
        time.sleep(opts.settle)
        result.meminfo["after"] = memory.meminfo()
    finally:
        for c in containers:
            c.remove(force=True)
    return result
