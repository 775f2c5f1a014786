"""Small helpers shared by the CLI command modules."""
from __future__ import annotations

import os
import sys
from typing import Any, Callable, Iterable

import click

from pyns.errors import PynsError


def engine(ctx: click.Context):  # -> pyns.engine.Engine
    from pyns.engine import Engine

    obj = ctx.find_root().obj
    eng = Engine(obj["root"], obj.get("run_root"), userns_remap=obj.get("userns_remap") or "")
    path = os.environ.get("PYNS_TIMINGS")
    if path:  # pyns bench --via cli: this process's instants, written at exit
        import atexit

        from pyns.cli import STARTED_NS
        from pyns.containers.launch import write_timings

        eng.manager.launcher.timings = marks = {"cli": STARTED_NS}
        atexit.register(write_timings, path, marks)
    return eng


def for_each(targets: Iterable[str], action: Callable[[str], str | None]) -> int:
    """Run action on every target like docker does for multi-target verbs:
    print what it returns, report each failure on stderr, exit 1 if any failed."""
    failed = False
    for t in targets:
        try:
            out = action(t)
            if out is not None:
                click.echo(out)
        except PynsError as e:
            click.echo(f"Error: {e}", err=True)
            failed = True
    return 1 if failed else 0


def inspect_each(names: Iterable[str], lookup: Callable[[str], Any], what: str, template: str | None) -> int:
    """The ``inspect`` verbs: every name looked up, misses reported one line
    each ("Error: No such <what>: x"), the found ones rendered together."""
    from pyns.cli import render

    found, failed = [], False
    for name in names:
        try:
            found.append(lookup(name))
        except PynsError:
            click.echo(f"Error: No such {what}: {name}", err=True)
            failed = True
    click.echo(render.inspected(found, template), nl=False)
    return 1 if failed else 0


def fail(message: str, code: int = 125) -> None:
    click.echo(f"Error: {message}", err=True)
    sys.exit(code)
