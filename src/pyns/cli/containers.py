"""Container verbs as click commands: run, create, start, stop, restart,
kill, rm, ps, logs, inspect, wait, top, exec, attach, export, port. Each
declares its flags; the bodies are in running.py and lifecycle.py, free of
click, so the fast path (quick.py) can call them too."""
from __future__ import annotations

from typing import Any

import click

from pyns.cli import lifecycle, running


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
def run(ctx: click.Context, **kw: Any) -> None:
    """Create and run a new container from an image."""
    ctx.exit(running.run(ctx.find_root().obj, **kw))


@click.command(context_settings=RUN_CONTEXT)
@_run_options
@click.pass_context
def create(ctx: click.Context, **kw: Any) -> None:
    """Create a new container."""
    ctx.exit(running.create(ctx.find_root().obj, **kw))


@click.command()
@click.option("-a", "--attach", is_flag=True, help="Attach STDOUT/STDERR and forward signals")
@click.argument("containers", nargs=-1, required=True)
@click.pass_context
def start(ctx: click.Context, **kw: Any) -> None:
    """Start one or more stopped containers."""
    ctx.exit(lifecycle.start(ctx.find_root().obj, **kw))


@click.command()
@click.option("-t", "--time", "timeout", type=int, default=None, help="Seconds to wait before killing the container")
@click.option("-s", "--signal", "sig", default=None, help="Signal to send to the container")
@click.argument("containers", nargs=-1, required=True)
@click.pass_context
def stop(ctx: click.Context, **kw: Any) -> None:
    """Stop one or more running containers."""
    ctx.exit(lifecycle.stop(ctx.find_root().obj, **kw))


@click.command()
@click.option("-t", "--time", "timeout", type=int, default=None, help="Seconds to wait before killing the container")
@click.argument("containers", nargs=-1, required=True)
@click.pass_context
def restart(ctx: click.Context, **kw: Any) -> None:
    """Restart one or more containers."""
    ctx.exit(lifecycle.restart(ctx.find_root().obj, **kw))


@click.command()
@click.option("-s", "--signal", "sig", default="KILL", show_default=True, help="Signal to send to the container")
@click.argument("containers", nargs=-1, required=True)
@click.pass_context
def kill(ctx: click.Context, **kw: Any) -> None:
    """Kill one or more running containers."""
    ctx.exit(lifecycle.kill(ctx.find_root().obj, **kw))


@click.command()
@click.option("-f", "--force", is_flag=True, help="Force the removal of a running container (uses SIGKILL)")
@click.option("-v", "--volumes", is_flag=True, help="Remove anonymous volumes associated with the container")
@click.argument("containers", nargs=-1, required=True)
@click.pass_context
def rm(ctx: click.Context, **kw: Any) -> None:
    """Remove one or more containers."""
    ctx.exit(lifecycle.rm(ctx.find_root().obj, **kw))


@click.command()
@click.option("-a", "--all", "all_", is_flag=True, help="Show all containers (default shows just running)")
@click.option("-q", "--quiet", is_flag=True, help="Only display container IDs")
@click.option("--no-trunc", is_flag=True, help="Don't truncate output")
@click.option("-n", "--last", type=int, default=-1, help="Show n last created containers (includes all states)")
@click.option("-l", "--latest", is_flag=True, help="Show the latest created container (includes all states)")
@click.option("--format", "fmt", default=None, help="Format output: table, json, or a Go template")
@click.pass_context
def ps(ctx: click.Context, **kw: Any) -> None:
    """List containers."""
    ctx.exit(lifecycle.ps(ctx.find_root().obj, **kw))


@click.command()
@click.option("-f", "--follow", is_flag=True, help="Follow log output")
@click.option("-n", "--tail", default="all", help='Number of lines to show from the end of the logs (default "all")')
@click.option("-t", "--timestamps", is_flag=True, help="Show timestamps")
@click.argument("container")
@click.pass_context
def logs(ctx: click.Context, **kw: Any) -> None:
    """Fetch the logs of a container."""
    ctx.exit(lifecycle.logs(ctx.find_root().obj, **kw))


@click.command()
@click.option("-f", "--format", "fmt", default=None, help="Format output using a Go template")
@click.option("--type", "kind", type=click.Choice(["container", "image"]), default=None, help="Return JSON for specified type")
@click.argument("names", nargs=-1, required=True)
@click.pass_context
def inspect(ctx: click.Context, **kw: Any) -> None:
    """Return low-level information on containers and images."""
    ctx.exit(lifecycle.inspect(ctx.find_root().obj, **kw))


@click.command()
@click.argument("containers", nargs=-1, required=True)
@click.pass_context
def wait(ctx: click.Context, **kw: Any) -> None:
    """Block until one or more containers stop, then print their exit codes."""
    ctx.exit(lifecycle.wait(ctx.find_root().obj, **kw))


@click.command(context_settings={"allow_interspersed_args": False})
@click.argument("container")
@click.argument("ps_args", nargs=-1, type=click.UNPROCESSED)
@click.pass_context
def top(ctx: click.Context, **kw: Any) -> None:
    """Display the running processes of a container."""
    ctx.exit(lifecycle.top(ctx.find_root().obj, **kw))


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
def exec_(ctx: click.Context, **kw: Any) -> None:
    """Execute a command in a running container."""
    ctx.exit(lifecycle.exec_(ctx.find_root().obj, **kw))


@click.command()
@click.option("--no-stdin", is_flag=True, help="Do not attach STDIN")
@click.option("--detach-keys", default=None, help="Override the key sequence for detaching a container")
@click.argument("container")
@click.pass_context
def attach(ctx: click.Context, **kw: Any) -> None:
    """Attach local standard input, output, and error streams to a running container."""
    ctx.exit(lifecycle.attach(ctx.find_root().obj, **kw))


@click.command()
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Write to a file, instead of STDOUT")
@click.argument("container")
@click.pass_context
def export(ctx: click.Context, **kw: Any) -> None:
    """Export a container's filesystem as a tar archive."""
    ctx.exit(lifecycle.export(ctx.find_root().obj, **kw))


@click.command()
@click.argument("container")
@click.argument("private_port", required=False)
@click.pass_context
def port(ctx: click.Context, **kw: Any) -> None:
    """List port mappings or a specific mapping for the container."""
    ctx.exit(lifecycle.port(ctx.find_root().obj, **kw))


def register(group: click.Group) -> None:
    for cmd in (run, create, start, stop, restart, kill, rm, ps, logs, inspect, wait, top, exec_, attach, export, port):
        group.add_command(cmd)
