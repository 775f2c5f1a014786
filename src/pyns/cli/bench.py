"""`pyns bench`: start-up and density measurements (rendering only; pyns.bench measures)."""
from __future__ import annotations

import json
from typing import Any

import click

BENCH_CONTEXT = {"help_option_names": ["--help"], "max_content_width": 100}


_IMAGE_HELP = "Image to run, pulled if the root lacks it (default: busybox imported from busybox-static)."


def _split(value: str) -> tuple[str, ...]:
    return tuple(p.strip() for p in value.split(",") if p.strip())


def _emit(data: dict[str, Any], as_json: bool, text: Any) -> None:
    click.echo(json.dumps(data, indent=2) if as_json else text(data), nl=as_json)


def _root_option(f: Any) -> Any:
    return click.option("--root", "bench_root", default=None, metavar="DIR",
                        help="Reuse this engine root (default: a throw-away one, removed afterwards).")(f)


@click.group(context_settings=BENCH_CONTEXT)
def bench() -> None:
    """Measure container start-up and density."""


@bench.command(context_settings={**BENCH_CONTEXT, "allow_interspersed_args": False})
@click.option("--runs", default=30, show_default=True, help="Measured rounds.")
@click.option("--warmup", default=3, show_default=True, help="Rounds run first and not counted.")
@click.option("--image", default=None, help=_IMAGE_HELP)
@click.option("--network", type=click.Choice(["none", "bridge"]), default="none", show_default=True)
@click.option("--via", type=click.Choice(["library", "cli"]), default="library", show_default=True,
              help="library: containers.run in this process; cli: a `pyns run --rm` process per run.")
@click.option("--compare", default="", metavar="PEERS",
              help="Comma-separated peers run alternately with pyns: runc,crun,docker,podman.")
@click.option("--json", "as_json", is_flag=True, help="Print the results as JSON.")
@_root_option
@click.argument("command", nargs=-1)
def startup(runs: int, warmup: int, image: str | None, network: str, via: str, compare: str, as_json: bool,
            bench_root: str | None, command: tuple[str, ...]) -> None:
    """Start fresh containers running COMMAND (default /bin/true): min/p50/p90/max,
    ratios to the peers per round, and pyns's per-phase breakdown."""
    from pyns.bench import report
    from pyns.bench.startup import DEFAULT_COMMAND, StartupOptions, prepare_host, run_startup
    from pyns.bench.workspace import open_workspace

    opts = StartupOptions(runs=runs, warmup=warmup, network=network, via=via, compare=_split(compare),
                          command=command or DEFAULT_COMMAND)
    opts.check()
    notes = prepare_host(opts)
    with open_workspace(bench_root, image, bridge=network == "bridge") as ws:
        result = run_startup(ws, opts)
        result.notes[:0] = notes
        result.context = report.host_context(ws)
    _emit(report.startup_dict(result), as_json, report.startup_text)


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
    from pyns.bench.workspace import open_workspace

    opts = DensityOptions(count=count, network=network, command=command or IDLE_COMMAND)
    opts.check()
    with open_workspace(bench_root, image, bridge=network == "bridge") as ws:
        result = run_density(ws, opts)
        result.context = report.host_context(ws)
    _emit(report.density_dict(result), as_json, report.density_text)


def register(group: click.Group) -> None:
    group.add_command(bench)
