"""The sequential throughput benchmark: containers started, exited and removed per second.

Start-up measures one container in isolation; throughput asks what an
engine sustains when containers come one right after another, as a CI job
or a batch of short tasks sees it: each run also pays for the teardown the
previous one left to the kernel (namespace and cgroup release, deferred
frees). So each contender runs its containers back to back in blocks of
BLOCK, after its own warm-up, rather than taking turns per container as in
start-up (turns would bill one contender for another's leftovers). The
contenders take turns block by block, in a rotating order, so that a
machine whose speed drifts during the run (a shared VM) slows them alike;
one container in BLOCK follows another contender's.

pyns runs ``engine.containers.run(image, argv, remove=True)`` in this
process; runc and crun run ``RUNTIME run`` on an OCI bundle of the same
container (create, start, wait, delete, a config.json written per run),
docker and podman ``run --rm``: the peers of start-up (pyns.bench.peers).
"""
from __future__ import annotations

from typing import Any

from pyns.bench import peers as peers_mod
from pyns.bench.startup import DEFAULT_COMMAND, check_comparison
from pyns.bench.stats import time_each
from pyns.bench.workspace import Workspace
from pyns.records import field, record

#: Issue 6's target: pyns sustains at least FACTOR times PEER's containers per second.
TARGET_PEER, TARGET_FACTOR = "crun", 2.0
#: Containers a contender runs back to back before the next one takes its turn.
BLOCK = 25


@record
class ThroughputOptions:
    count: int = 100
    warmup: int = 5
    network: str = "none"
    compare: tuple[str, ...] = ()
    command: tuple[str, ...] = DEFAULT_COMMAND

    def check(self) -> None:
        check_comparison("--count", self.count, self.warmup, self.network, self.compare)


@record
class Batch:
    """One contender's measured batch: each container's time and the batch's wall time, ms."""

    each_ms: list[float]
    wall_ms: float

    @property
    def per_second(self) -> float:
        return len(self.each_ms) / (self.wall_ms / 1000) if self.wall_ms > 0 else 0.0


@record
class ThroughputResult:
    options: ThroughputOptions
    batches: dict[str, Batch]  # contender -> its batch, in the order they ran
    skipped: list[peers_mod.Skipped] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    context: dict[str, Any] = field(default_factory=dict)


class LibraryRunner:
    """pyns through its library, exactly as a user's program would call it (no probe attached)."""

    name = "pyns"

    def __init__(self, ws: Workspace, opts: ThroughputOptions) -> None:
        self.containers = ws.engine.containers
        self.image = ws.image
        self.argv = list(opts.command)
        self.network = opts.network

    def run(self) -> None:
        self.containers.run(self.image, self.argv, remove=True, network_mode=self.network)

    def close(self) -> None:
        pass


def run_batches(runners: list[Any], count: int, warmup: int, block: int = BLOCK) -> dict[str, Batch]:
    """Each runner's warm-up, then count runs each, in blocks taken in turns;
    a batch's wall time is the sum of its blocks'."""
    for runner in runners:
        for _ in range(warmup):
            runner.run()
    batches = {r.name: Batch([], 0.0) for r in runners}
    done = 0
    while done < count:
        n = min(block, count - done)
        k = (done // block) % len(runners)
        for runner in runners[k:] + runners[:k]:
            each, wall = time_each(lambda _: runner.run(), range(n))
            batches[runner.name].each_ms.extend(each)
            batches[runner.name].wall_ms += wall
        done += n
    return {r.name: batches[r.name] for r in runners}


def run_throughput(ws: Workspace, opts: ThroughputOptions) -> ThroughputResult:
    """Run every contender's batch in ws: pyns first, then the peers in the order given."""
    opts.check()
    runners: list[Any] = []
    try:
        runners.append(LibraryRunner(ws, opts))
        skipped = peers_mod.add_peers(runners, ws, opts.compare, list(opts.command), opts.network)
        batches = run_batches(runners, opts.count, opts.warmup)
    finally:
        for r in runners:
            r.close()
    notes = [(f"pyns: engine.containers.run(image, {list(opts.command)!r}, remove=True, "
              f"network_mode={opts.network!r}) in this process")]
    notes += peers_mod.notes(list(batches), opts.network)
    return ThroughputResult(opts, batches, skipped, notes)
