"""The CLI's verb table matches what each command module registers."""
from __future__ import annotations

import importlib

import click

from pyns.cli.group import COMMANDS, cli


def test_every_verb_comes_from_its_module_and_nothing_is_missing():
    registered: dict[str, str] = {}
    for module in set(COMMANDS.values()):
        group = click.Group()
        importlib.import_module(f"pyns.cli.{module}").register(group)
        for name in group.commands:
            registered[name] = module
    assert registered == COMMANDS


def test_help_lists_every_verb():
    from click.testing import CliRunner

    out = CliRunner().invoke(cli, ["--help"]).output
    for verb in COMMANDS:
        assert f"  {verb} " in out or f"  {verb}\n" in out
