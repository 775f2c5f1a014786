"""``python -m pyns.bench startup|throughput|density ...``: the same as ``pyns bench ...``.

Goes through the pyns CLI's entry point (its error lines and exit codes)
when that CLI has the bench group; otherwise runs the group on its own,
with the same "Error: ..." line and exit code for engine errors.
"""
from __future__ import annotations

import sys

import click


def main(argv: list[str]) -> None:
    from pyns.cli import group as cli_main
    from pyns.cli.bench import bench

    if cli_main.cli.get_command(click.Context(cli_main.cli), "bench") is not None:
        cli_main.main(["bench", *argv])
        return
    from pyns.errors import PynsError

    try:
        bench.main(args=argv, prog_name="pyns bench")
    except PynsError as e:
        click.echo(f"Error: {e}", err=True)
        sys.exit(e.exit_code)


if __name__ == "__main__":
    main(sys.argv[1:])
