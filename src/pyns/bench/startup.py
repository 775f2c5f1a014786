"""The start-up benchmark: fresh containers running one short command.

Every round runs each contender once: pyns (through the library or the
CLI), the physical floor, then each peer; the order rotates from round to
round so that no one always runs right after another's teardown (the
kernel finishes namespace teardown in deferred work that lands on
whoever runs next). Ratios pyns/peer are taken per round, where both ran
under the same conditions.
"""
from __future__ import annotations

import os
import shlex
import subprocess
import sys
import time
from typing import Any, Callable, Sequence

from pyns.bench import peers as peers_mod
from pyns.bench.events import total_ns
from pyns.bench.floor import Floor, floor_argv
from pyns.bench.probe import TIMINGS_ENV, Probe, read_timings
from pyns.bench.workspace import Workspace
from pyns.errors import InvalidArgument, PynsError
from pyns.records import field, record

DEFAULT_COMMAND = ("/bin/true",)
#: Issue 6's start-up target: `pyns run --rm --network none IMAGE true` at least FACTOR times
#: faster than `docker run` of the same, both through their CLIs (what a user types and waits for).
TARGET_PEER, TARGET_FACTOR, TARGET_VIA, TARGET_NETWORK = "docker", 10.0, "cli", "none"
NETWORKS = ("none", "bridge")
VIAS = ("library", "cli")


def check_comparison(count_flag: str, count: int, warmup: int, network: str, compare: Sequence[str]) -> None:
    """The options every benchmark that runs pyns beside its peers shares, checked before anything is made."""
    if count < 1 or warmup < 0:
        raise InvalidArgument(f"{count_flag} must be at least 1 and --warmup at least 0")
    if network not in NETWORKS:
        raise InvalidArgument(f"--network must be one of {', '.join(NETWORKS)}")
    peers_mod.check_names(compare)


@record
class StartupOptions:
    runs: int = 30
    warmup: int = 3
    network: str = "none"
    via: str = "library"
    compare: tuple[str, ...] = ()
    command: tuple[str, ...] = DEFAULT_COMMAND

    def check(self) -> None:
        check_comparison("--runs", self.runs, self.warmup, self.network, self.compare)
        if self.via not in VIAS:
            raise InvalidArgument(f"--via must be one of {', '.join(VIAS)}")


@record
class StartupResult:
    options: StartupOptions
    traces: dict[str, list[dict[str, int]]]  # contender -> one trace per measured round
    floor_argv: list[str]
    skipped: list[peers_mod.Skipped] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    context: dict[str, Any] = field(default_factory=dict)

    def totals_ms(self, name: str) -> list[float]:
        return [total_ns(t) / 1e6 for t in self.traces[name]]


def _pyns_env(ws: Workspace, timings: str) -> dict[str, str]:
    """The CLI's environment: this pyns (PYTHONPATH), this root, a timings file."""
    import pyns

    pkg_parent = os.path.dirname(os.path.dirname(os.path.abspath(pyns.__file__)))
    path = [pkg_parent] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    return dict(os.environ, PYNS_ROOT=ws.root, PYTHONPATH=os.pathsep.join(path), **{TIMINGS_ENV: timings})


class PynsRunner:
    """pyns itself, through the library (in this process) or the CLI (a process per run)."""

    name = "pyns"

    def __init__(self, ws: Workspace, opts: StartupOptions) -> None:
        self.ws = ws
        self.opts = opts
        self.probe = Probe()
        self.probe.attach(ws.engine.manager.launcher, ws.engine.manager)
        self.timings = os.path.join(ws.scratch, "timings.jsonl")
        self.cli = [*cli_command(), "--root", ws.root, "run", "--rm", "--network", opts.network,
                    ws.image, *opts.command]
        self.env = _pyns_env(ws, self.timings)

    def run(self) -> dict[str, int]:
        return self._library() if self.opts.via == "library" else self._cli()

    def _library(self) -> dict[str, int]:
        self.probe.begin()
        self.ws.engine.containers.run(self.ws.image, list(self.opts.command), remove=True,
                                      network_mode=self.opts.network)
        self.probe.mark("end")
        return self.probe.trace()

    def _cli(self) -> dict[str, int]:
        if os.path.exists(self.timings):
            os.unlink(self.timings)
        begin = time.monotonic_ns()
        proc = subprocess.run(self.cli, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, env=self.env, check=False)
        end = time.monotonic_ns()
        if proc.returncode != 0:
            raise PynsError(f"bench: pyns run failed ({proc.returncode}): {proc.stderr.decode(errors='replace').strip()}")
        return {**read_timings(self.timings), "begin": begin, "end": end}

    def close(self) -> None:
        self.probe.detach()


def cli_command() -> list[str]:
    """How a user starts pyns: the installed `pyns` command of this Python
    (bin/pyns, which starts the interpreter with -S), else `python -m`."""
    import sysconfig

    script = os.path.join(sysconfig.get_path("scripts"), "pyns")
    if os.access(script, os.X_OK):
        return [script]
    return [sys.executable, "-m", "pyns.cli.main"]


class FloorRunner:
    name = "floor"

    def __init__(self, floor: Floor) -> None:
        self.floor = floor

    def run(self) -> dict[str, int]:
        return self.floor.run()

    def close(self) -> None:
        self.floor.close()


def _floor(ws: Workspace, opts: StartupOptions, notes: list[str]) -> Floor:
    from pyns.containers.launch import namespaces_for

    argv = floor_argv(ws.layers(), list(opts.command))
    if argv is None:
        argv = list(opts.command)
        notes.append(f"floor: {opts.command[0]} is not in the image; the floor runs the host's")
    return Floor(argv, namespaces_for({"NetworkMode": opts.network}))


def _rounds(runners: list[Any], opts: StartupOptions, traces: dict[str, list[dict[str, int]]],
            progress: Callable[[int, int], None] | None) -> None:
    total = opts.warmup + opts.runs
    for i in range(total):
        k = i % len(runners)
        for runner in runners[k:] + runners[:k]:
            trace = runner.run()
            if i >= opts.warmup:
                traces[runner.name].append(trace)
        if progress:
            progress(i + 1, total)


def run_startup(ws: Workspace, opts: StartupOptions,
                progress: Callable[[int, int], None] | None = None) -> StartupResult:
    """Run the benchmark in ws; the traces of every contender, rounds aligned."""
    opts.check()
    notes: list[str] = []
    runners: list[Any] = []
    try:
        runners.append(PynsRunner(ws, opts))
        floor = _floor(ws, opts, notes)
        runners.append(FloorRunner(floor))
        skipped = peers_mod.add_peers(runners, ws, opts.compare, list(opts.command), opts.network)
        traces: dict[str, list[dict[str, int]]] = {r.name: [] for r in runners}
        _rounds(runners, opts, traces, progress)
    finally:
        for r in runners:
            r.close()
    if opts.via == "cli":
        notes.append(f"cli: each run is `{shlex.join(runners[0].cli)}`")
    notes += peers_mod.notes([r.name for r in runners], opts.network)
    if not cgroup_favors_dynmods():
        notes.append(CGROUP_JOIN_NOTE)
    return StartupResult(opts, traces, floor.argv, skipped, notes)


CGROUP_JOIN_NOTE = ("cgroup favordynmods is off on this host: a container's first cgroup.procs write waits an RCU "
                    "grace period unless another was just made ('cgroup joined'); `mount -o remount,favordynmods` "
                    "on a cgroup mount removes that wait for every runtime, at some cost to fork/exit host-wide")


def cgroup_favors_dynmods(mountinfo: str = "/proc/self/mountinfo") -> bool:
    """Whether a cgroup hierarchy is mounted with favordynmods: the kernel's
    threadgroup lock then never waits a grace period on a migration, which
    is what the 'cgroup joined' phase mostly measures here."""
    try:
        with open(mountinfo, encoding="utf-8") as f:
            for line in f:
                fields = line.split(" - ", 1)
                if len(fields) == 2 and fields[1].split()[0] in ("cgroup", "cgroup2") \
                        and "favordynmods" in fields[1].split()[-1].split(","):
                    return True
    except OSError:
        pass
    return False

