"""Container verbs: run, create, start, stop, restart, kill, rm, ps, logs,
inspect, wait, top. Each parses flags, calls the engine, renders."""
from __future__ import annotations

import contextlib
import datetime as dt
import os
import sys
from typing import Any

import click

from pyns.cli import running
from pyns.cli.common import engine, fail, for_each, inspect_each, stream_logs
from pyns.errors import PynsError


def _run_options(f):  # noqa: ANN001 - click decorator stack
    opts = [
        click.option("-e", "--env", "env", multiple=True, help="Set environment variables"),
        click.option("--env-file", multiple=True, type=click.Path(dir_okay=False), help="Read in a file of environment variables"),
        click.option("-w", "--workdir", help="Working directory inside the container"),
        click.option("-u", "--user", help="Username or UID (format: <name|uid>[:<group|gid>])"),
        click.option("-h", "--hostname", help="Container host name"),
        click.option("--entrypoint", help="Overwrite the default ENTRYPOINT of the image"),
        click.option("-v", "--volume", "volumes", multiple=True, help="Bind mount a volume"),
        click.option("--tmpfs", multiple=True, help="Mount a tmpfs directory"),
        click.option("--read-only", is_flag=True, help="Mount the container's root filesystem as read only"),
        click.option("-m", "--memory", help="Memory limit"),
        click.option("--memory-swap", help="Swap limit equal to memory plus swap: '-1' to enable unlimited swap"),
        click.option("--cpus", help="Number of CPUs"),
        click.option("-c", "--cpu-shares", type=int, help="CPU shares (relative weight)"),
        click.option("--pids-limit", type=int, help="Tune container pids limit (set -1 for unlimited)"),
        click.option("--cpuset-cpus", help="CPUs in which to allow execution (0-3, 0,1)"),
        click.option("--cpuset-mems", help="MEMs in which to allow execution (0-3, 0,1)"),
        click.option("--network", "--net", "network", help="Connect a container to a network (bridge, none, host, container:NAME, NAME)"),
        click.option("--network-alias", multiple=True, help="Add network-scoped alias for the container"),
        click.option("-p", "--publish", multiple=True, help="Publish a container's port(s) to the host"),
        click.option("-P", "--publish-all", is_flag=True, help="Publish all exposed ports to random ports"),
        click.option("--pid", "pid_mode", help="PID namespace to use (host)"),
        click.option("--ipc", "ipc_mode", help="IPC mode to use (private, host)"),
        click.option("--uts", "uts_mode", help="UTS namespace to use (host)"),
        click.option("--cgroupns", help="Cgroup namespace to use (host, private)"),
        click.option("--userns", "userns_mode", help="User namespace to use (host: no remapping)"),
        click.option("--stop-signal", help="Signal to stop the container"),
        click.option("--stop-timeout", type=int, help="Timeout (in seconds) to stop a container"),
        click.option("--init", is_flag=True, default=None, help="Run an init inside the container that forwards signals and reaps processes"),
        click.option("--privileged", is_flag=True, help="Give extended privileges to this container"),
        click.option("--cap-add", multiple=True, help="Add Linux capabilities"),
        click.option("--cap-drop", multiple=True, help="Drop Linux capabilities"),
        click.option("--security-opt", multiple=True, help="Security Options"),
        click.option("--ulimit", multiple=True, help="Ulimit options"),
        click.option("--sysctl", multiple=True, help="Sysctl options"),
        click.option("-l", "--label", multiple=True, help="Set meta data on a container"),
        click.option("--name", help="Assign a name to the container"),
        click.option("--pull", "pull_policy", type=click.Choice(["missing", "always", "never"]), default="missing",
                     show_default=True, help="Pull image before running"),
        click.option("--platform", default=None, help="Set platform if server is multi-platform capable"),
        click.option("-i", "--interactive", is_flag=True, help="Keep STDIN open even if not attached"),
        click.option("-t", "--tty", is_flag=True, help="Allocate a pseudo-TTY"),
        click.option("--detach-keys", default=None, help="Override the key sequence for detaching a container"),
        click.option("--rm", is_flag=True, help="Automatically remove the container when it exits"),
        click.argument("image"),
        click.argument("command", nargs=-1, type=click.UNPROCESSED),
    ]
    for o in reversed(opts):
        f = o(f)
    return f


RUN_CONTEXT = {"allow_interspersed_args": False, "ignore_unknown_options": False}


@click.command(context_settings=RUN_CONTEXT)
@click.option("-d", "--detach", is_flag=True, help="Run container in background and print container ID")
@_run_options
@click.pass_context
def run(ctx: click.Context, detach: bool, image: str, command: tuple[str, ...], **o: Any) -> None:
    """Create and run a new container from an image."""
    ctx.exit(running.run(ctx.find_root().obj, detach, image, command, o))


@click.command(context_settings=RUN_CONTEXT)
@_run_options
@click.pass_context
def create(ctx: click.Context, image: str, command: tuple[str, ...], **o: Any) -> None:
    """Create a new container."""
    click.echo(running.create(engine(ctx), image, command, o).id)


@click.command()
@click.option("-a", "--attach", is_flag=True, help="Attach STDOUT/STDERR and forward signals")
@click.argument("containers", nargs=-1, required=True)
@click.pass_context
def start(ctx: click.Context, attach: bool, containers: tuple[str, ...]) -> None:
    """Start one or more stopped containers."""
    eng = engine(ctx)
    if attach:
        if len(containers) != 1:
            fail("you cannot start and attach multiple containers at once")
        c = eng.containers.get(containers[0])
        c.start()
        stream_logs(c, follow=True, tail=None, timestamps=False)
        ctx.exit(c.wait()["StatusCode"])

    def one(ref: str) -> str:
        eng.containers.get(ref).start()
        return ref

    ctx.exit(for_each(containers, one))


@click.command()
@click.option("-t", "--time", "timeout", type=int, default=None, help="Seconds to wait before killing the container")
@click.option("-s", "--signal", "sig", default=None, help="Signal to send to the container")
@click.argument("containers", nargs=-1, required=True)
@click.pass_context
def stop(ctx: click.Context, timeout: int | None, sig: str | None, containers: tuple[str, ...]) -> None:
    """Stop one or more running containers."""
    eng = engine(ctx)

    def one(ref: str) -> str:
        eng.manager.stop(eng.containers.get(ref).id, timeout, sig)
        return ref

    ctx.exit(for_each(containers, one))


@click.command()
@click.option("-t", "--time", "timeout", type=int, default=None, help="Seconds to wait before killing the container")
@click.argument("containers", nargs=-1, required=True)
@click.pass_context
def restart(ctx: click.Context, timeout: int | None, containers: tuple[str, ...]) -> None:
    """Restart one or more containers."""
    eng = engine(ctx)

    def one(ref: str) -> str:
        eng.containers.get(ref).restart(timeout)
        return ref

    ctx.exit(for_each(containers, one))


@click.command()
@click.option("-s", "--signal", "sig", default="KILL", show_default=True, help="Signal to send to the container")
@click.argument("containers", nargs=-1, required=True)
@click.pass_context
def kill(ctx: click.Context, sig: str, containers: tuple[str, ...]) -> None:
    """Kill one or more running containers."""
    eng = engine(ctx)

    def one(ref: str) -> str:
        eng.containers.get(ref).kill(sig)
        return ref

    ctx.exit(for_each(containers, one))


@click.command()
@click.option("-f", "--force", is_flag=True, help="Force the removal of a running container (uses SIGKILL)")
@click.option("-v", "--volumes", is_flag=True, help="Remove anonymous volumes associated with the container")
@click.argument("containers", nargs=-1, required=True)
@click.pass_context
def rm(ctx: click.Context, force: bool, volumes: bool, containers: tuple[str, ...]) -> None:
    """Remove one or more containers."""
    eng = engine(ctx)

    def one(ref: str) -> str:
        eng.containers.get(ref).remove(v=volumes, force=force)
        return ref

    ctx.exit(for_each(containers, one))


@click.command()
@click.option("-a", "--all", "all_", is_flag=True, help="Show all containers (default shows just running)")
@click.option("-q", "--quiet", is_flag=True, help="Only display container IDs")
@click.option("--no-trunc", is_flag=True, help="Don't truncate output")
@click.option("-n", "--last", type=int, default=-1, help="Show n last created containers (includes all states)")
@click.option("-l", "--latest", is_flag=True, help="Show the latest created container (includes all states)")
@click.option("--format", "fmt", default=None, help="Format output: table, json, or a Go template")
@click.pass_context
def ps(ctx: click.Context, all_: bool, quiet: bool, no_trunc: bool, last: int, latest: bool, fmt: str | None) -> None:
    """List containers."""
    eng = engine(ctx)
    if latest:
        last = 1
    cs = eng.containers.list(all=all_ or last > 0)
    if last > 0:
        cs = cs[:last]
    if quiet:
        for c in cs:
            click.echo(c.id if no_trunc else c.short_id)
        return
    from pyns.cli import render

    now = dt.datetime.now(dt.timezone.utc)
    rows = [render.container_row(c.attrs, now, no_trunc) for c in cs]
    if fmt == "json":
        click.echo(render.json_lines(rows), nl=False)
    elif fmt and fmt != "table":
        for r in rows:
            click.echo(render.go_template(fmt, r))
    else:
        click.echo(render.ps_table(rows), nl=False)


@click.command()
@click.option("-f", "--follow", is_flag=True, help="Follow log output")
@click.option("-n", "--tail", default="all", help='Number of lines to show from the end of the logs (default "all")')
@click.option("-t", "--timestamps", is_flag=True, help="Show timestamps")
@click.argument("container")
@click.pass_context
def logs(ctx: click.Context, follow: bool, tail: str, timestamps: bool, container: str) -> None:
    """Fetch the logs of a container."""
    c = engine(ctx).containers.get(container)
    n = None
    if tail != "all":
        try:
            n = int(tail)
        except ValueError:
            fail(f'invalid value for "tail": {tail!r}')
        if n is not None and n < 0:
            n = None
    stream_logs(c, follow, n, timestamps)


@click.command()
@click.option("-f", "--format", "fmt", default=None, help="Format output using a Go template")
@click.option("--type", "kind", type=click.Choice(["container", "image"]), default=None, help="Return JSON for specified type")
@click.argument("names", nargs=-1, required=True)
@click.pass_context
def inspect(ctx: click.Context, fmt: str | None, kind: str | None, names: tuple[str, ...]) -> None:
    """Return low-level information on containers and images."""
    eng = engine(ctx)

    def lookup(name: str) -> Any:
        if kind in (None, "container"):
            try:
                return eng.containers.get(name).attrs
            except PynsError:
                if kind == "container":
                    raise
        return eng.images.get(name).attrs

    ctx.exit(inspect_each(names, lookup, "object", fmt))


@click.command()
@click.argument("containers", nargs=-1, required=True)
@click.pass_context
def wait(ctx: click.Context, containers: tuple[str, ...]) -> None:
    """Block until one or more containers stop, then print their exit codes."""
    eng = engine(ctx)

    def one(ref: str) -> str:
        return str(eng.containers.get(ref).wait()["StatusCode"])

    ctx.exit(for_each(containers, one))


@click.command(context_settings={"allow_interspersed_args": False})
@click.argument("container")
@click.argument("ps_args", nargs=-1, type=click.UNPROCESSED)
@click.pass_context
def top(ctx: click.Context, container: str, ps_args: tuple[str, ...]) -> None:
    """Display the running processes of a container."""
    from pyns import formatting

    res = engine(ctx).containers.get(container).top(" ".join(ps_args) or None)
    click.echo(formatting.render_table(res["Titles"], res["Processes"]), nl=False)


@click.command("exec", context_settings={"allow_interspersed_args": False})
@click.option("-d", "--detach", is_flag=True, help="Detached mode: run command in the background")
@click.option("-i", "--interactive", is_flag=True, help="Keep STDIN open even if not attached")
@click.option("-t", "--tty", is_flag=True, help="Allocate a pseudo-TTY")
@click.option("-e", "--env", "env", multiple=True, help="Set environment variables")
@click.option("--env-file", multiple=True, type=click.Path(dir_okay=False), help="Read in a file of environment variables")
@click.option("-w", "--workdir", help="Working directory inside the container")
@click.option("-u", "--user", help="Username or UID (format: <name|uid>[:<group|gid>])")
@click.argument("container")
@click.argument("command", nargs=-1, required=True, type=click.UNPROCESSED)
@click.pass_context
def exec_(ctx: click.Context, detach: bool, interactive: bool, tty: bool, env: tuple[str, ...],
          env_file: tuple[str, ...], workdir: str | None, user: str | None, container: str,
          command: tuple[str, ...]) -> None:
    """Execute a command in a running container."""
    from pyns import options

    eng = engine(ctx)
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
    ctx.exit(code or 0)


@click.command()
@click.option("--no-stdin", is_flag=True, help="Do not attach STDIN")
@click.option("--detach-keys", default=None, help="Override the key sequence for detaching a container")
@click.argument("container")
@click.pass_context
def attach(ctx: click.Context, no_stdin: bool, detach_keys: str | None, container: str) -> None:
    """Attach local standard input, output, and error streams to a running container."""
    from pyns.containers import attach as attach_mod

    eng = engine(ctx)
    c = eng.containers.get(container)
    if not c.attrs["State"]["Running"]:
        fail("You cannot attach to a stopped container, start it first")
    keys = attach_mod.parse_detach_keys(detach_keys) if detach_keys else attach_mod.DEFAULT_DETACH_KEYS
    tty = bool(c.attrs["Config"].get("Tty"))
    stdin = None if no_stdin or not c.attrs["Config"].get("OpenStdin") else 0
    how = attach_mod.attach(eng.manager.attach_socket(c.id), stdin, 1, tty, keys)
    if how == "detached":
        click.echo("read escape sequence", err=True)
        ctx.exit(0)
    ctx.exit(c.wait()["StatusCode"])


@click.command()
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Write to a file, instead of STDOUT")
@click.argument("container")
@click.pass_context
def export(ctx: click.Context, output: str | None, container: str) -> None:
    """Export a container's filesystem as a tar archive."""
    eng = engine(ctx)
    c = eng.containers.get(container)
    if output is None and sys.stdout.isatty():
        fail("cowardly refusing to save to a terminal. Use the -o flag or redirect")
    if output is None:
        sys.stdout.flush()
        eng.manager.export(c.id, sys.stdout.fileno())
        return
    fd = os.open(output, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o644)
    try:
        eng.manager.export(c.id, fd)
    finally:
        os.close(fd)


@click.command()
@click.argument("container")
@click.argument("private_port", required=False)
@click.pass_context
def port(ctx: click.Context, container: str, private_port: str | None) -> None:
    """List port mappings or a specific mapping for the container."""
    from pyns.network import settings

    eng = engine(ctx)
    c = eng.containers.get(container)
    lines = settings.port_lines(eng.manager.ports(c.id), private_port)
    if private_port and not lines:
        fail(f"No public port '{private_port if '/' in private_port else private_port + '/tcp'}' published for {container}", 1)
    for line in lines:
        click.echo(line)


def register(group: click.Group) -> None:
    for cmd in (run, create, start, stop, restart, kill, rm, ps, logs, inspect, wait, top, exec_, attach, export, port):
        group.add_command(cmd)
