"""Image verbs: pull, push, images, import, rmi, tag, save, load, history, search, login/logout, image *."""
from __future__ import annotations

import datetime as dt
import sys
from typing import Any

import click

from pyns.cli import pulling
from pyns.cli.common import engine, for_each, inspect_each
from pyns.cli.pulling import ProgressPrinter


@click.command()
@click.option("--platform", default=None, help="Set platform if server is multi-platform capable (os/arch[/variant])")
@click.option("-q", "--quiet", is_flag=True, help="Suppress verbose output")
@click.argument("name", metavar="NAME[:TAG|@DIGEST]")
@click.pass_context
def pull(ctx: click.Context, **kw: Any) -> None:
    """Download an image from a registry."""
    ctx.exit(pulling.pull(ctx.find_root().obj, **kw))


@click.command()
@click.option("-a", "--all-tags", is_flag=True, help="Push all tags of an image to the repository")
@click.option("-q", "--quiet", is_flag=True, help="Suppress verbose output")
@click.argument("name", metavar="NAME[:TAG]")
@click.pass_context
def push(ctx: click.Context, all_tags: bool, quiet: bool, name: str) -> None:
    """Upload an image to a registry."""
    from pyns.images.reference import parse

    eng = engine(ctx)
    ref = parse(name)
    if all_tags:
        if ref.tag is not None or ref.digest is not None:
            raise click.UsageError("tag can't be used with --all-tags/-a")
        targets = sorted(t for img in eng.image_store.list() for t in img.repo_tags
                         if parse(t).repository() == ref.repository())
        if not targets:
            from pyns.errors import ImageNotFound

            raise ImageNotFound(f"An image does not exist locally with the tag: {ref.familiar()}")
    else:
        if ref.tag is None and ref.digest is None and not quiet:
            click.echo("Using default tag: latest")
        targets = [ref.with_default_tag().string()]
    for target in targets:
        result = eng.images.push(target, progress=None if quiet else ProgressPrinter())
        if not quiet:
            click.echo(result.line())
    if quiet:
        click.echo(ref.repository().string() if all_tags else ref.with_default_tag().string())


def _image_rows(imgs: list[Any], digests: bool, no_trunc: bool, want: Any) -> list[list[str]]:
    """docker images rows: one per tag, plus digest-only rows, ``<none>`` for dangling images."""
    from pyns import formatting
    from pyns.images.reference import parse

    now = dt.datetime.now(dt.timezone.utc)
    rows: list[list[str]] = []
    for img in imgs:
        iid = img.id if no_trunc else img.short_id
        tail = [iid, formatting.created_ago(img.created, now), formatting.human_size(img.size, 3)]
        tags = [parse(t) for t in img.repo_tags]
        digested = [parse(d) for d in img.repo_digests]
        entries: list[tuple[str, str, str]] = []
        for t in tags:
            digest = next((d.digest for d in digested if d.repository() == t.repository()), None)
            entries.append((t.familiar_name(), t.tag or "", digest or "<none>"))
        tagged_repos = {t.repository() for t in tags}
        entries += [(d.familiar_name(), "<none>", d.digest or "") for d in digested
                    if d.repository() not in tagged_repos]
        if not entries:
            entries = [("<none>", "<none>", "<none>")]
        for repo, tag_, digest in entries:
            if want is not None and repo != want.familiar_name():
                continue
            rows.append([repo, tag_, *([digest] if digests else []), *tail])
    return rows


def _filtered(imgs: list[Any], filters: tuple[str, ...]) -> list[Any]:
    """``--filter dangling=true|false``, ``reference=PATTERN``, ``label=KEY[=VALUE]``."""
    import fnmatch

    from pyns.errors import InvalidArgument

    for f in filters:
        key, sep, value = f.partition("=")
        if not sep:
            raise InvalidArgument(f"bad format of filter (expected name=value): {f}")
        if key == "dangling":
            if value.lower() not in ("true", "false", "1", "0"):
                raise InvalidArgument(f"invalid filter 'dangling={value}'")
            dangling = value.lower() in ("true", "1")
            imgs = [i for i in imgs if (not i.repo_tags) == dangling]
        elif key == "reference":
            imgs = [i for i in imgs if any(fnmatch.fnmatchcase(t, value) or fnmatch.fnmatchcase(t.rsplit(":", 1)[0], value)
                                           for t in i.repo_tags)]
        elif key == "label":
            name, has_value, want = value.partition("=")
            imgs = [i for i in imgs if name in i.labels and (not has_value or i.labels[name] == want)]
        else:
            raise InvalidArgument(f"invalid filter '{key}'")
    return imgs


@click.command("images")
@click.option("-a", "--all", "all_", is_flag=True, help="Show all images")
@click.option("-q", "--quiet", is_flag=True, help="Only show image IDs")
@click.option("--digests", is_flag=True, help="Show digests")
@click.option("-f", "--filter", "filters", multiple=True, help="Filter output based on conditions provided")
@click.option("--no-trunc", is_flag=True, help="Don't truncate output")
@click.argument("repository", required=False)
@click.pass_context
def images(ctx: click.Context, all_: bool, quiet: bool, digests: bool, filters: tuple[str, ...], no_trunc: bool,
           repository: str | None) -> None:
    """List images."""
    from pyns import formatting
    from pyns.images.reference import parse

    want = parse(repository) if repository else None
    everything = [h.image for h in engine(ctx).images.list()]
    if not all_:  # docker hides untagged intermediate images (a build's steps) unless -a
        parents = {i.parent for i in everything if i.parent}
        everything = [i for i in everything if i.repo_tags or i.repo_digests or i.id not in parents]
    imgs = _filtered(everything, filters)
    rows = _image_rows(imgs, digests, no_trunc, want)
    id_col = 3 if digests else 2
    if quiet:
        seen: list[str] = []
        for r in rows:
            if r[id_col] not in seen:
                seen.append(r[id_col])
        click.echo("".join(i + "\n" for i in seen), nl=False)
        return
    headers = ["REPOSITORY", "TAG", *(["DIGEST"] if digests else []), "IMAGE ID", "CREATED", "SIZE"]
    click.echo(formatting.render_table(headers, rows), nl=False)


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


@click.command("inspect")
@click.option("-f", "--format", "fmt", default=None, help="Format output using a Go template")
@click.argument("names", metavar="IMAGE...", nargs=-1, required=True)
@click.pass_context
def image_inspect(ctx: click.Context, fmt: str | None, names: tuple[str, ...]) -> None:
    """Display detailed information on one or more images."""
    coll = engine(ctx).images
    ctx.exit(inspect_each(names, lambda name: coll.get(name).attrs, "image", fmt))


@click.command()
@click.option("-H", "--human", type=bool, default=True, show_default=True,
              help="Print sizes and dates in human readable format")
@click.option("--no-trunc", is_flag=True, help="Don't truncate output")
@click.option("-q", "--quiet", is_flag=True, help="Only show image IDs")
@click.argument("image")
@click.pass_context
def history(ctx: click.Context, human: bool, no_trunc: bool, quiet: bool, image: str) -> None:
    """Show the history of an image."""
    from pyns import formatting

    entries = engine(ctx).images.get(image).history()
    short = (lambda i: i) if no_trunc else (lambda i: i if i.startswith("<") else i.split(":", 1)[-1][:12])
    if quiet:
        click.echo("".join(short(e.id) + "\n" for e in entries), nl=False)
        return
    now = dt.datetime.now(dt.timezone.utc)
    rows = []
    for e in entries:
        if human:
            created = formatting.created_ago(e.created, now) if e.created else "N/A"
            size = formatting.human_size(e.size, 3)
        else:
            created = formatting.rfc3339_nano(e.created) if e.created else "N/A"
            size = str(e.size)
        created_by = e.created_by.replace("\t", " ")
        rows.append([short(e.id), created, created_by if no_trunc else formatting.ellipsis(created_by, 45),
                     size, e.comment])
    click.echo(formatting.render_table(["IMAGE", "CREATED", "CREATED BY", "SIZE", "COMMENT"], rows), nl=False)


@click.command("prune")
@click.option("-a", "--all", "all_", is_flag=True, help="Remove all unused images, not just dangling ones")
@click.option("-f", "--force", is_flag=True, help="Do not prompt for confirmation")
@click.pass_context
def image_prune(ctx: click.Context, all_: bool, force: bool) -> None:
    """Remove unused images."""
    from pyns import formatting

    if not force:
        what = "images without at least one container associated to them" if all_ else "dangling images"
        click.echo(f"WARNING! This will remove all {what}.")
        if not click.confirm("Are you sure you want to continue?", default=False, prompt_suffix=" "):
            return
    report = engine(ctx).images.prune(all_)
    if report.lines:
        click.echo("Deleted Images:")
        click.echo("\n".join(report.lines) + "\n")
    click.echo(f"Total reclaimed space: {formatting.human_size(report.reclaimed, 3)}")


@click.command()
@click.option("-f", "--filter", "filters", multiple=True, help="Filter output based on conditions provided")
@click.option("--limit", default=25, show_default=True, help="Max number of search results")
@click.option("--no-trunc", is_flag=True, help="Don't truncate output")
@click.argument("term")
@click.pass_context
def search(ctx: click.Context, filters: tuple[str, ...], limit: int, no_trunc: bool, term: str) -> None:
    """Search Docker Hub (or a private registry's catalog) for images."""
    from pyns import formatting
    from pyns.errors import InvalidArgument

    results = engine(ctx).images.search(term, limit)
    for f in filters:
        key, _, value = f.partition("=")
        if key == "stars" and value.isdigit():
            results = [r for r in results if r.stars >= int(value)]
        elif key == "is-official" and value.lower() in ("true", "false"):
            results = [r for r in results if r.official == (value.lower() == "true")]
        elif key == "is-automated" and value.lower() in ("true", "false"):
            results = [r for r in results if r.automated == (value.lower() == "true")]
        else:
            raise InvalidArgument(f"invalid filter '{f}'")
    rows = [[r.name, r.description if no_trunc else formatting.ellipsis(r.description.replace("\n", " "), 45),
             str(r.stars), "[OK]" if r.official else ""] for r in results]
    click.echo(formatting.render_table(["NAME", "DESCRIPTION", "STARS", "OFFICIAL"], rows), nl=False)


@click.command()
@click.option("-o", "--output", default=None, help="Write to a file, instead of STDOUT")
@click.argument("names", metavar="IMAGE...", nargs=-1, required=True)
@click.pass_context
def save(ctx: click.Context, output: str | None, names: tuple[str, ...]) -> None:
    """Save one or more images to a tar archive (streamed to STDOUT by default)."""
    import os
    import tempfile

    from pyns.errors import InvalidArgument

    coll = engine(ctx).images
    if output is None:
        if sys.stdout.isatty():
            raise InvalidArgument("cowardly refusing to save to a terminal. Use the -o flag or redirect")
        coll.save(list(names), sys.stdout.buffer)
        sys.stdout.buffer.flush()
        return
    directory = os.path.dirname(os.path.abspath(output))
    fd, tmp = tempfile.mkstemp(prefix=".pyns-save-", dir=directory)
    try:
        with os.fdopen(fd, "wb") as out:
            coll.save(list(names), out)
        os.chmod(tmp, 0o644)
        os.rename(tmp, output)
    except BaseException:
        os.unlink(tmp)
        raise


@click.command()
@click.option("-i", "--input", "input_", default=None, help="Read from tar archive file, instead of STDIN")
@click.option("-q", "--quiet", is_flag=True, help="Suppress the load output")
@click.pass_context
def load(ctx: click.Context, input_: str | None, quiet: bool) -> None:
    """Load images from a tar archive (docker save or OCI layout) or STDIN."""
    from pyns.errors import InvalidArgument

    coll = engine(ctx).images
    if input_ is None:
        if sys.stdin.isatty():
            raise InvalidArgument("requested load from stdin, but stdin is empty")
        lines = coll.load(sys.stdin.buffer)
    else:
        try:
            f = open(input_, "rb")
        except OSError as e:
            raise InvalidArgument(f"open {input_}: {e.strerror.lower() if e.strerror else e}") from None
        with f:
            lines = coll.load(f)
    if not quiet:
        click.echo("\n".join(lines))


@click.command()
@click.option("-u", "--username", default=None, help="Username")
@click.option("-p", "--password", default=None, help="Password")
@click.option("--password-stdin", is_flag=True, help="Take the password from stdin")
@click.argument("server", required=False)
@click.pass_context
def login(ctx: click.Context, username: str | None, password: str | None, password_stdin: bool,
          server: str | None) -> None:
    """Log in to a registry (default: Docker Hub); credentials are kept 0600 in pyns's config."""
    from pyns.errors import InvalidArgument

    if password_stdin:
        if password:
            raise InvalidArgument("--password and --password-stdin are mutually exclusive")
        if not username:
            raise InvalidArgument("Must provide --username with --password-stdin")
        password = sys.stdin.read().rstrip("\r\n")
    elif password:
        click.echo("WARNING! Using --password via the CLI is insecure. Use --password-stdin.", err=True)
    if not username or not password:
        if not sys.stdin.isatty():
            raise InvalidArgument("Cannot perform an interactive login from a non TTY device")
        username = username or click.prompt("Username")
        password = password or click.prompt("Password", hide_input=True)
    click.echo(engine(ctx).images.login(username or "", password or "", server))


@click.command()
@click.argument("server", required=False)
@click.pass_context
def logout(ctx: click.Context, server: str | None) -> None:
    """Log out from a registry."""
    click.echo(engine(ctx).images.logout(server))


@click.group("image")
def image_group() -> None:
    """Manage images."""


def register(group: click.Group) -> None:
    for cmd in (pull, push, images, import_, rmi, tag, history, search, save, load, login, logout):
        group.add_command(cmd)
    for name, cmd in (("ls", images), ("list", images), ("rm", rmi), ("inspect", image_inspect),
                      ("prune", image_prune), ("pull", pull), ("push", push), ("tag", tag),
                      ("history", history), ("save", save), ("load", load), ("import", import_)):
        image_group.add_command(cmd, name=name)
    group.add_command(image_group)
