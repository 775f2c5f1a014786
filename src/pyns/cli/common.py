"""Small helpers shared by the CLI command modules.

Free of click: the fast path (pyns.cli.quick) uses them without loading it.
"""
from __future__ import annotations

import os
import sys

from pyns.errors import PynsError

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (see pyns/__init__.py)
if TYPE_CHECKING:
    from typing import Any, Callable, Iterable


def engine(ctx: Any):  # -> pyns.engine.Engine
    """The engine the global options name; ctx is a click context or the
    global options' dict itself (the fast path has no context)."""
    from pyns.engine import Engine

    obj = ctx if isinstance(ctx, dict) else ctx.find_root().obj
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
                print(out, flush=True)
        except PynsError as e:
            print(f"Error: {e}", file=sys.stderr, flush=True)
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
            print(f"Error: No such {what}: {name}", file=sys.stderr, flush=True)
            failed = True
    print(render.inspected(found, template), end="", flush=True)
    return 1 if failed else 0


def fail(message: str, code: int = 125) -> None:
    print(f"Error: {message}", file=sys.stderr, flush=True)
    sys.exit(code)


def stream_logs(c: Any, follow: bool, tail: int | None, timestamps: bool) -> None:
    """A container's log entries to our stdout/stderr, as they were written."""
    from pyns.containers import logs as logs_mod

    path = c.attrs["LogPath"]
    entries = (logs_mod.follow(path, tail, lambda: c._m.is_running(c.id)) if follow
               else logs_mod.read_entries(path, tail))
    out, err = sys.stdout.buffer, sys.stderr.buffer
    for e in entries:
        stream = err if e.stream == "stderr" else out
        if timestamps:
            stream.write(e.time.encode() + b" ")
        stream.write(e.data)
        if follow:
            stream.flush()
    out.flush()
    err.flush()
