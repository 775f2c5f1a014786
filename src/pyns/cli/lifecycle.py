"""The bodies of the container verbs but run/create (see running.py): start,
stop, restart, kill, rm, ps, logs, inspect, wait, top, exec, attach, export,
port. Each takes the global options' dict and the verb's parameters as
click sets them, and returns the exit code.

Free of click, like running.py: pyns.cli.containers declares the click
commands over these, and the fast path (pyns.cli.quick) calls them
directly when it can parse argv itself. Output goes through print(),
flushed as click.echo flushes.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import os
import sys

from pyns.cli.common import engine, fail, for_each, inspect_each, stream_logs
from pyns.errors import PynsError

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (see pyns/__init__.py)
if TYPE_CHECKING:
    from typing import Any


def start(obj: dict[str, Any], attach: bool, containers: tuple[str, ...]) -> int:
    """Start one or more stopped containers."""
    eng = engine(obj)
    if attach:
        if len(containers) != 1:
            fail("you cannot start and attach multiple containers at once")
        c = eng.containers.get(containers[0])
        c.start()
        stream_logs(c, follow=True, tail=None, timestamps=False)
        return c.wait()["StatusCode"]

    def one(ref: str) -> str:
        eng.containers.get(ref).start()
        return ref

    return for_each(containers, one)


def stop(obj: dict[str, Any], timeout: int | None, sig: str | None, containers: tuple[str, ...]) -> int:
    """Stop one or more running containers."""
    eng = engine(obj)

    def one(ref: str) -> str:
        eng.manager.stop(eng.containers.get(ref).id, timeout, sig)
        return ref

    return for_each(containers, one)


def restart(obj: dict[str, Any], timeout: int | None, containers: tuple[str, ...]) -> int:
    """Restart one or more containers."""
    eng = engine(obj)

    def one(ref: str) -> str:
        eng.containers.get(ref).restart(timeout)
        return ref

    return for_each(containers, one)


def kill(obj: dict[str, Any], sig: str, containers: tuple[str, ...]) -> int:
    """Kill one or more running containers."""
    eng = engine(obj)

    def one(ref: str) -> str:
        eng.containers.get(ref).kill(sig)
        return ref

    return for_each(containers, one)


def rm(obj: dict[str, Any], force: bool, volumes: bool, containers: tuple[str, ...]) -> int:
    """Remove one or more containers."""
    eng = engine(obj)

    def one(ref: str) -> str:
        eng.containers.get(ref).remove(v=volumes, force=force)
        return ref

    return for_each(containers, one)


def ps(obj: dict[str, Any], all_: bool, quiet: bool, no_trunc: bool, last: int, latest: bool,
       fmt: str | None) -> int:
    """List containers."""
    eng = engine(obj)
    if latest:
        last = 1
    cs = eng.containers.list(all=all_ or last > 0)
    if last > 0:
        cs = cs[:last]
    if quiet:
        for c in cs:
            print(c.id if no_trunc else c.short_id, flush=True)
        return 0
    from pyns.cli import render

    now = dt.datetime.now(dt.timezone.utc)
    rows = [render.container_row(c.attrs, now, no_trunc) for c in cs]
    if fmt == "json":
        print(render.json_lines(rows), end="", flush=True)
    elif fmt and fmt != "table":
        for r in rows:
            print(render.go_template(fmt, r), flush=True)
    else:
        print(render.ps_table(rows), end="", flush=True)
    return 0


def logs(obj: dict[str, Any], follow: bool, tail: str, timestamps: bool, container: str) -> int:
    """Fetch the logs of a container."""
    c = engine(obj).containers.get(container)
    n = None
    if tail != "all":
        try:
            n = int(tail)
        except ValueError:
            fail(f'invalid value for "tail": {tail!r}')
        if n is not None and n < 0:
            n = None
    stream_logs(c, follow, n, timestamps)
    return 0


def inspect(obj: dict[str, Any], fmt: str | None, kind: str | None, names: tuple[str, ...]) -> int:
    """Return low-level information on containers and images."""
    eng = engine(obj)

    def lookup(name: str) -> Any:
        if kind in (None, "container"):
            try:
                return eng.containers.get(name).attrs
            except PynsError:
                if kind == "container":
                    raise
        return eng.images.get(name).attrs

    return inspect_each(names, lookup, "object", fmt)


def wait(obj: dict[str, Any], containers: tuple[str, ...]) -> int:
    """Block until one or more containers stop, then print their exit codes."""
    eng = engine(obj)

    def one(ref: str) -> str:
        return str(eng.containers.get(ref).wait()["StatusCode"])

    return for_each(containers, one)


def top(obj: dict[str, Any], container: str, ps_args: tuple[str, ...]) -> int:
    """Display the running processes of a container."""
    from pyns import formatting

    res = engine(obj).containers.get(container).top(" ".join(ps_args) or None)
    print(formatting.render_table(res["Titles"], res["Processes"]), end="", flush=True)
    return 0


def exec_(obj: dict[str, Any], detach: bool, interactive: bool, tty: bool, env: tuple[str, ...],
          env_file: tuple[str, ...], workdir: str | None, user: str | None, container: str,
          command: tuple[str, ...]) -> int:
    """Execute a command in a running container."""
    from pyns import options

    eng = engine(obj)
    c = eng.containers.get(container)
    envs: list[str] = []
    for path in env_file:
        with open(path, encoding="utf-8") as fh:
            envs += options.parse_env_file(fh.read(), os.environ.get)
    envs += options.parse_env(list(env), os.environ.get)
    sys.stdout.flush()
    from pyns.containers.attach import raw_terminal, terminal_size

    with raw_terminal(0) if (tty and interactive) else contextlib.nullcontext():
        code = eng.manager.exec_run(c.id, list(command), user, workdir, envs, detach=detach,
                                    stdin=0 if interactive else -1, tee_out=sys.stdout.fileno(),
                                    tee_err=sys.stderr.fileno(), forward_signals=True, tty=tty,
                                    winsize=terminal_size(0) if tty else None)
    return code or 0


def attach(obj: dict[str, Any], no_stdin: bool, detach_keys: str | None, container: str) -> int:
    """Attach local standard input, output, and error streams to a running container."""
    from pyns.containers import attach as attach_mod

    eng = engine(obj)
    c = eng.containers.get(container)
    if not c.attrs["State"]["Running"]:
        fail("You cannot attach to a stopped container, start it first")
    keys = attach_mod.parse_detach_keys(detach_keys) if detach_keys else attach_mod.DEFAULT_DETACH_KEYS
    tty = bool(c.attrs["Config"].get("Tty"))
    stdin = None if no_stdin or not c.attrs["Config"].get("OpenStdin") else 0
    how = attach_mod.attach(eng.manager.attach_socket(c.id), stdin, 1, tty, keys)
    if how == "detached":
        print("read escape sequence", file=sys.stderr, flush=True)
        return 0
    return c.wait()["StatusCode"]


def export(obj: dict[str, Any], output: str | None, container: str) -> int:
    """Export a container's filesystem as a tar archive."""
    eng = engine(obj)
    c = eng.containers.get(container)
    if output is None and sys.stdout.isatty():
        fail("cowardly refusing to save to a terminal. Use the -o flag or redirect")
    if output is None:
        sys.stdout.flush()
        eng.manager.export(c.id, sys.stdout.fileno())
        return 0
    fd = os.open(output, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o644)
    try:
        eng.manager.export(c.id, fd)
    finally:
        os.close(fd)
    return 0


def port(obj: dict[str, Any], container: str, private_port: str | None) -> int:
    """List port mappings or a specific mapping for the container."""
    from pyns.network import settings

    eng = engine(obj)
    c = eng.containers.get(container)
    lines = settings.port_lines(eng.manager.ports(c.id), private_port)
    if private_port and not lines:
        fail(f"No public port '{private_port if '/' in private_port else private_port + '/tcp'}' published for {container}", 1)
    for line in lines:
        print(line, flush=True)
    return 0
