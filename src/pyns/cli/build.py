"""``pyns build``: docker's classic ``build`` verb over :func:`pyns.build.api.build`.

CONTEXT is a directory, or ``-``: a tar (maybe compressed) or a bare
Dockerfile on stdin, told apart by content as docker does. ``-f`` is
relative to the current directory (``-f -`` reads the Dockerfile from
stdin). The log streams to stdout; ``-q`` prints only the image id. A
failed RUN exits with the command's own code, other build errors with 1.
"""
from __future__ import annotations

import os
import shutil
import sys
import tempfile
from typing import IO, Any

import click

from pyns.cli.common import engine

_BUILD_ERROR_EXIT = 1


def _build_args(values: tuple[str, ...]) -> dict[str, str | None]:
    """``--build-arg K=V``; a bare ``K`` takes its value from this environment (or is dropped)."""
    out: dict[str, str | None] = {}
    for item in values:
        key, eq, value = item.partition("=")
        out[key] = value if eq else os.environ.get(key)
    return out


def _labels(values: tuple[str, ...]) -> dict[str, str]:
    from pyns.options.labels import parse_label

    return dict(parse_label(v) for v in values)


def _spool_stdin() -> IO[bytes]:
    spool = tempfile.SpooledTemporaryFile(max_size=16 << 20)  # noqa: SIM115 - returned to the caller
    shutil.copyfileobj(sys.stdin.buffer, spool)
    spool.seek(0)
    return spool  # type: ignore[return-value]


def _is_tar(stream: IO[bytes]) -> bool:
    """docker's test for a context on stdin: a (possibly compressed) tar, else a Dockerfile."""
    from pyns.build.context import looks_like_tar

    head = stream.read(1 << 16)
    stream.seek(0)
    return looks_like_tar(head)


@click.command()
@click.option("-t", "--tag", "tags", multiple=True, help="Name and optionally a tag in the 'name:tag' format")
@click.option("-f", "--file", "dockerfile", help="Name of the Dockerfile (default: 'PATH/Dockerfile')")
@click.option("--build-arg", "build_args", multiple=True, help="Set build-time variables")
@click.option("--no-cache", is_flag=True, help="Do not use cache when building the image")
@click.option("--pull", is_flag=True, help="Always attempt to pull a newer version of the image")
@click.option("--target", help="Set the target build stage to build")
@click.option("-q", "--quiet", is_flag=True, help="Suppress the build output and print image ID on success")
@click.option("--network", default="default", show_default=True, help="Networking mode for the RUN instructions")
@click.option("--label", "labels", multiple=True, help="Set metadata for an image")
@click.option("--iidfile", help="Write the image ID to the file")
@click.argument("context")
@click.pass_context
def build(ctx: click.Context, tags: tuple[str, ...], dockerfile: str | None, build_args: tuple[str, ...],
          no_cache: bool, pull: bool, target: str | None, quiet: bool, network: str, labels: tuple[str, ...],
          iidfile: str | None, context: str) -> None:
    """Build an image from a Dockerfile."""
    from pyns.build.api import build as run_build
    from pyns.errors import BuildError

    options: dict[str, Any] = {
        "tag": list(tags), "buildargs": _build_args(build_args), "nocache": no_cache, "pull": pull,
        "target": target, "network_mode": network, "labels": _labels(labels), "quiet": quiet,
        "log": lambda text: (sys.stdout.write(text), sys.stdout.flush()),
    }
    if context == "-" and dockerfile == "-":
        raise click.UsageError("invalid argument: can't use stdin for both build context and dockerfile")
    try:
        if context == "-":
            stdin = _spool_stdin()
            if _is_tar(stdin):
                result = run_build(engine(ctx), fileobj=stdin, custom_context=True, dockerfile=dockerfile, **options)
            else:
                result = run_build(engine(ctx), fileobj=stdin, **options)
        elif dockerfile == "-":
            text = sys.stdin.buffer.read().decode("utf-8", "surrogateescape")
            result = run_build(engine(ctx), path=context, dockerfile_text=text, **options)
        else:
            path = os.path.abspath(dockerfile) if dockerfile else None  # -f is relative to the current dir
            result = run_build(engine(ctx), path=context, dockerfile=path, **options)
    except BuildError as e:
        sys.stdout.flush()
        click.echo(f"Error: {e}", err=True)
        code = e.exit_code if e.exit_code not in (0, 125) else _BUILD_ERROR_EXIT
        sys.exit(code)
    if quiet:
        click.echo(result.image.id)
    if iidfile:
        with open(iidfile, "w", encoding="ascii") as f:
            f.write(result.image.id)


def register(group: click.Group) -> None:
    group.add_command(build)
