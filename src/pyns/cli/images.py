"""Image verbs: images, import, rmi, tag."""
from __future__ import annotations

import datetime as dt
import sys
from typing import Any

import click

from pyns.cli.common import engine, for_each


@click.command("images")
@click.option("-a", "--all", "all_", is_flag=True, help="Show all images")
@click.option("-q", "--quiet", is_flag=True, help="Only show image IDs")
@click.option("--no-trunc", is_flag=True, help="Don't truncate output")
@click.argument("repository", required=False)
@click.pass_context
def images(ctx: click.Context, all_: bool, quiet: bool, no_trunc: bool, repository: str | None) -> None:
    """List images."""
    from pyns import formatting
    from pyns.images.reference import parse

    now = dt.datetime.now(dt.timezone.utc)
    rows: list[list[str]] = []
    want = parse(repository).familiar().split(":")[0] if repository else None
    for h in engine(ctx).images.list():
        img = h.image
        iid = img.id if no_trunc else img.short_id
        tags = list(img.repo_tags) or ["<none>:<none>"]
        for t in tags:
            repo, _, tag = t.rpartition(":")
            if want and repo != want:
                continue
            rows.append([repo, tag, iid, formatting.created_ago(img.created, now), formatting.human_size(img.size, 3)])
    if quiet:
        seen: list[str] = []
        for r in rows:
            if r[2] not in seen:
                seen.append(r[2])
        click.echo("".join(i + "\n" for i in seen), nl=False)
        return
    click.echo(formatting.render_table(["REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE"], rows), nl=False)


@click.command("import")
@click.option("-c", "--change", "changes", multiple=True, help="Apply Dockerfile instruction to the created image")
@click.option("-m", "--message", default="", help="Set commit message for imported image")
@click.argument("source")
@click.argument("repository", required=False)
@click.pass_context
def import_(ctx: click.Context, changes: tuple[str, ...], message: str, source: str, repository: str | None) -> None:
    """Import the contents from a tarball (file, URL or -) to create an image."""
    coll = engine(ctx).images
    src: Any = sys.stdin.buffer if source == "-" else source
    img = coll.import_image(src, repository, list(changes), message)
    click.echo(img.id)


@click.command()
@click.option("-f", "--force", is_flag=True, help="Force removal of the image")
@click.argument("images_", metavar="IMAGE...", nargs=-1, required=True)
@click.pass_context
def rmi(ctx: click.Context, force: bool, images_: tuple[str, ...]) -> None:
    """Remove one or more images."""
    coll = engine(ctx).images
    ctx.exit(for_each(images_, lambda ref: "\n".join(coll.remove(ref, force=force))))


@click.command()
@click.argument("source")
@click.argument("target")
@click.pass_context
def tag(ctx: click.Context, source: str, target: str) -> None:
    """Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE."""
    coll = engine(ctx).images
    coll.get(source).tag(target)


def register(group: click.Group) -> None:
    for cmd in (images, import_, rmi, tag):
        group.add_command(cmd)
