"""The `pyns` click group: global options, lazy verbs, and error -> exit code mapping.

Every engine error becomes one line on stderr, ``Error: ...``, and docker's
exit codes: 125 for an engine or usage error, 126/127 when the container's
command cannot be run, otherwise whatever the command itself returned.
"""
from __future__ import annotations

import importlib
import sys
from typing import NoReturn

import click

CONTEXT = {"help_option_names": ["--help"], "max_content_width": 100}

# Which module of pyns.cli defines each verb. Only the invoked verb's module
# is imported: `pyns run` never loads the image, build or network commands.
# (tests/unit/test_cli_commands.py checks this table against the modules.)
COMMANDS: dict[str, str] = {
    **{v: "containers" for v in ("run", "create", "start", "stop", "restart", "kill", "rm", "ps", "logs",
                                 "inspect", "wait", "top", "exec", "attach", "export", "port")},
    **{v: "images" for v in ("pull", "push", "images", "import", "rmi", "tag", "history", "search", "save",
                             "load", "login", "logout", "image")},
    "build": "build",
    "network": "networks",
    "bench": "bench",
}


class LazyGroup(click.Group):
    """A click group that imports a verb's module only when that verb runs."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        module = COMMANDS.get(name)
        if module is None:
            return None
        group = click.Group()
        importlib.import_module(f"pyns.cli.{module}").register(group)
        return group.commands.get(name)


@click.group(cls=LazyGroup, context_settings=CONTEXT)
@click.option("--root", envvar="PYNS_ROOT", default=None,
              help="Engine state directory (env PYNS_ROOT; default /var/lib/pyns, ~/.local/share/pyns rootless).")
@click.option("--run-root", envvar="PYNS_RUN", default=None,
              help="Directory for locks (env PYNS_RUN; default /run/pyns, or ROOT/run for another root).")
@click.option("--userns-remap", envvar="PYNS_USERNS_REMAP", default=None, metavar="default|USER[:GROUP]",
              help="Run new containers in a user namespace mapped to these subordinate ids (env PYNS_USERNS_REMAP).")
@click.version_option(package_name="pyns", prog_name="pyns")
@click.pass_context
def cli(ctx: click.Context, root: str | None, run_root: str | None, userns_remap: str | None) -> None:
    """A container engine for Linux, with docker's verbs."""
    ctx.obj = {"root": root, "run_root": run_root, "userns_remap": userns_remap}


def _click_main(argv: list[str] | None) -> object:
    """click's own errors as docker's: one ``Error: ...`` line, exit 125."""
    try:
        return cli.main(args=argv, prog_name="pyns", standalone_mode=False)
    except click.exceptions.Exit as e:
        sys.exit(e.exit_code)
    except click.exceptions.Abort:
        sys.exit(130)
    except click.UsageError as e:
        msg = e.format_message()
        hint = f"\nSee '{e.ctx.command_path} --help'." if e.ctx else ""
        click.echo(f"Error: {msg}{hint}", err=True)
        sys.exit(125)
    except click.ClickException as e:
        click.echo(f"Error: {e.format_message()}", err=True)
        sys.exit(125)


def main(argv: list[str] | None = None) -> NoReturn:
    """Parse and run argv (sys.argv[1:] when None) through click; exits."""
    from pyns.cli.main import exit_with

    exit_with(lambda: _click_main(argv))
