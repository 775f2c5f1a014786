"""Network verbs: ``network create|ls|inspect|rm|prune|connect|disconnect``."""
from __future__ import annotations

import click

from pyns.cli.common import engine, for_each, inspect_each


def _manager(ctx: click.Context):  # -> pyns.network.manager.NetworkManager
    return engine(ctx).networks


@click.group("network")
def network() -> None:
    """Manage networks."""


@network.command("create")
@click.option("-d", "--driver", default="bridge", show_default=True, help="Driver to manage the Network")
@click.option("--subnet", default=None, help="Subnet in CIDR format that represents a network segment")
@click.option("--gateway", default=None, help="IPv4 Gateway for the master subnet")
@click.option("--internal", is_flag=True, help="Restrict external access to the network")
@click.option("-l", "--label", "labels", multiple=True, help="Set metadata on a network")
@click.argument("name")
@click.pass_context
def create(ctx: click.Context, driver: str, subnet: str | None, gateway: str | None, internal: bool,
           labels: tuple[str, ...], name: str) -> None:
    """Create a network."""
    from pyns.errors import InvalidArgument
    from pyns.options import parse_label

    if driver != "bridge":
        raise InvalidArgument(f'plugin "{driver}" not found')
    net = _manager(ctx).create(name, subnet, gateway, internal, dict(parse_label(text) for text in labels))
    click.echo(net.id)


@network.command("ls")
@click.option("-q", "--quiet", is_flag=True, help="Only display network IDs")
@click.option("--no-trunc", is_flag=True, help="Do not truncate the output")
@click.pass_context
def ls(ctx: click.Context, quiet: bool, no_trunc: bool) -> None:
    """List networks."""
    from pyns import formatting

    mgr = _manager(ctx)
    mgr.ensure_default()  # docker always lists bridge, host and none
    nets = sorted(mgr.list(), key=lambda n: n.name)
    ids = [n.id if no_trunc else n.short_id for n in nets]
    if quiet:
        click.echo("".join(i + "\n" for i in ids), nl=False)
        return
    rows = [[i, n.name, n.driver, "local"] for i, n in zip(ids, nets, strict=True)]
    click.echo(formatting.render_table(["NETWORK ID", "NAME", "DRIVER", "SCOPE"], rows), nl=False)


@network.command("inspect")
@click.option("-f", "--format", "fmt", default=None, help="Format the output using the given Go template")
@click.argument("names", metavar="NETWORK...", nargs=-1, required=True)
@click.pass_context
def inspect(ctx: click.Context, fmt: str | None, names: tuple[str, ...]) -> None:
    """Display detailed information on one or more networks."""

    mgr = _manager(ctx)
    ctx.exit(inspect_each(names, mgr.inspect_network, "network", fmt))


@network.command("rm")
@click.argument("names", metavar="NETWORK...", nargs=-1, required=True)
@click.pass_context
def rm(ctx: click.Context, names: tuple[str, ...]) -> None:
    """Remove one or more networks."""
    mgr = _manager(ctx)

    def remove(name: str) -> str:
        mgr.remove(name)
        return name

    ctx.exit(for_each(names, remove))


@network.command("prune")
@click.option("-f", "--force", is_flag=True, help="Do not prompt for confirmation")
@click.pass_context
def prune(ctx: click.Context, force: bool) -> None:
    """Remove all unused networks."""
    if not force and not click.confirm(
            "WARNING! This will remove all custom networks not used by at least one container.\n"
            "Are you sure you want to continue?", default=False):
        return
    removed = _manager(ctx).prune()
    if removed:
        click.echo("Deleted Networks:\n" + "".join(n + "\n" for n in removed), nl=False)


def register(group: click.Group) -> None:
    group.add_command(network)


@network.command("connect")
@click.option("--alias", "aliases", multiple=True, help="Add network-scoped alias for the container")
@click.argument("name")
@click.argument("container")
@click.pass_context
def connect(ctx: click.Context, aliases: tuple[str, ...], name: str, container: str) -> None:
    """Connect a container to a network."""
    eng = engine(ctx)
    eng.manager.connect(eng.containers.get(container).id, name, list(aliases))


@network.command("disconnect")
@click.option("-f", "--force", is_flag=True, help="Force the container to disconnect from a network")
@click.argument("name")
@click.argument("container")
@click.pass_context
def disconnect(ctx: click.Context, force: bool, name: str, container: str) -> None:
    """Disconnect a container from a network."""
    eng = engine(ctx)
    eng.manager.disconnect(eng.containers.get(container).id, name)
