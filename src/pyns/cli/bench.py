"""`pyns bench`: start-up, throughput and density measurements (rendering only; pyns.bench measures)."""
from __future__ import annotations

import json
from typing import Any, Callable

import click

BENCH_CONTEXT = {"help_option_names": ["--help"], "max_content_width": 100}


_IMAGE_HELP = "Image to run, pulled if the root lacks it (default: busybox imported from busybox-static)."
_COMPARE_HELP = "Comma-separated peers: runc,crun,docker,podman."


def _split(value: str) -> tuple[str, ...]:
    return tuple(p.strip() for p in value.split(",") if p.strip())


def _emit(data: dict[str, Any], as_json: bool, text: Any) -> None:
    click.echo(json.dumps(data, indent=2) if as_json else text(data), nl=as_json)


def _measure(opts: Any, run: Callable[[Any, Any], Any], image: str | None, bench_root: str | None, as_json: bool,
             to_dict: Callable[[Any], dict[str, Any]], to_text: Callable[[dict[str, Any]], str]) -> None:
    """What every bench command does around its measurement, in this order: refuse bad
    options before anything is made, set the host up for the peers (before any
    workspace: a mount namespace move needs a single thread), run in a workspace
    (its own bridge when the network is one), describe the host, print."""
    from pyns.bench import report
    from pyns.bench.peers import prepare_host
    from pyns.bench.workspace import open_workspace

    opts.check()
    notes = prepare_host(getattr(opts, "compare", ()))
    with open_workspace(bench_root, image, bridge=opts.network == "bridge") as ws:
        result = run(ws, opts)
        result.context = report.host_context(ws)
    if notes:
        result.notes[:0] = notes
    _emit(to_dict(result), as_json, to_text)


def _root_option(f: Any) -> Any:
    return click.option("--root", "bench_root", default=None, metavar="DIR",
                        help="Reuse this engine root (default: a throw-away one, removed afterwards).")(f)


@click.group(context_settings=BENCH_CONTEXT)
def bench() -> None:
    """Measure container start-up, throughput and density."""


@bench.command(context_settings={**BENCH_CONTEXT, "allow_interspersed_args": False})
@click.option("--runs", default=30, show_default=True, help="Measured rounds.")
@click.option("--warmup", default=3, show_default=True, help="Rounds run first and not counted.")
@click.option("--image", default=None, help=_IMAGE_HELP)
@click.option("--network", type=click.Choice(["none", "bridge"]), default="none", show_default=True)
@click.option("--via", type=click.Choice(["library", "cli"]), default="library", show_default=True,
              help="library: containers.run in this process; cli: a `pyns run --rm` process per run.")
@click.option("--compare", default="", metavar="PEERS",
              help=_COMPARE_HELP + " They run alternately with pyns, round by round.")
@click.option("--json", "as_json", is_flag=True, help="Print the results as JSON.")
@_root_option
@click.argument("command", nargs=-1)
def startup(runs: int, warmup: int, image: str | None, network: str, via: str, compare: str, as_json: bool,
            bench_root: str | None, command: tuple[str, ...]) -> None:
    """Start fresh containers running COMMAND (default /bin/true): min/p50/p90/max,
    ratios to the peers per round, and pyns's per-phase breakdown."""
    from pyns.bench import report
    from pyns.bench.startup import DEFAULT_COMMAND, StartupOptions, run_startup

    opts = StartupOptions(runs=runs, warmup=warmup, network=network, via=via, compare=_split(compare),
                          command=command or DEFAULT_COMMAND)
    _measure(opts, run_startup, image, bench_root, as_json, report.startup_dict, report.startup_text)


@bench.command(context_settings=BENCH_CONTEXT)
@click.option("--count", default=100, show_default=True, help="Measured containers per runtime.")
@click.option("--warmup", default=5, show_default=True, help="Containers run first per runtime and not counted.")
@click.option("--image", default=None, help=_IMAGE_HELP)
@click.option("--network", type=click.Choice(["none", "bridge"]), default="none", show_default=True)
@click.option("--compare", default="", metavar="PEERS",
              help=_COMPARE_HELP + " Each runs its own batch after pyns's.")
@click.option("--json", "as_json", is_flag=True, help="Print the results as JSON.")
@_root_option
def throughput(count: int, warmup: int, image: str | None, network: str, compare: str, as_json: bool,
               bench_root: str | None) -> None:
    """Containers started, exited and removed per second, one after another
    (`/bin/true`; pyns through the library with remove=True), beside the peers."""
    from pyns.bench import report
    from pyns.bench.throughput import ThroughputOptions, run_throughput

    opts = ThroughputOptions(count=count, warmup=warmup, network=network, compare=_split(compare))
    _measure(opts, run_throughput, image, bench_root, as_json, report.throughput_dict, report.throughput_text)


@bench.command(context_settings={**BENCH_CONTEXT, "allow_interspersed_args": False})
@click.option("--count", default=10, show_default=True, help="How many idle containers run at once.")
@click.option("--image", default=None, help=_IMAGE_HELP)
@click.option("--network", type=click.Choice(["none", "bridge"]), default="none", show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print the results as JSON.")
@_root_option
@click.argument("command", nargs=-1)
def density(count: int, image: str | None, network: str, as_json: bool, bench_root: str | None,
            command: tuple[str, ...]) -> None:
    """Start COUNT idle detached containers (default `sleep 86400`): memory the engine
    adds per container, then stop and remove them, timed."""
    from pyns.bench import report
    from pyns.bench.density import IDLE_COMMAND, DensityOptions, run_density

    opts = DensityOptions(count=count, network=network, command=command or IDLE_COMMAND)
    _measure(opts, run_density, image, bench_root, as_json, report.density_dict, report.density_text)


def register(group: click.Group) -> None:
    group.add_command(bench)
