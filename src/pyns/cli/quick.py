"""The fast path: the container verbs without importing click.

Importing click costs ~45 ms here, more than starting the container. So
for the verbs in pyns.cli.quickspec (every container verb, and pull) this
module parses argv itself, with click's parsing rules, from tables
generated out of the click commands (pyns.cli.quickgen writes them; a test
regenerates them and compares). It handles the plain cases only: any
option whose type, callback or shape it does not model, --help, --version, a bad value, an unknown option or a
missing argument makes parse() return None, and click then parses argv
and reports what is wrong. A test checks that for every argv this parser
accepts, click produces the same parameters.
"""
from __future__ import annotations

import os

from pyns.cli.quickspec import COMMANDS, GROUP

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (see pyns/__init__.py)
if TYPE_CHECKING:
    from typing import Any

    Params = dict[str, Any]


class Decline(Exception):
    """The argv is not a plain case: let click parse it."""


def _convert(kind: Any, value: str) -> Any:
    if kind == "str":
        return value
    if kind == "int":
        try:
            return int(value)
        except ValueError:
            raise Decline() from None
    if isinstance(kind, tuple) and value in kind:  # a click.Choice's choices
        return value
    raise Decline()


def _take(table: dict[str, Any], name: str, explicit: str | None, rest: list[str], params: Params) -> None:
    """Apply option `name` (with its value attached, or the next arg)."""
    spec = table["options"].get(name)
    if spec is None:
        raise Decline()
    dest, how, kind = spec
    if how == "flag":
        if explicit is not None:
            raise Decline()
        params[dest] = True
        return
    if how not in ("value", "multi"):
        raise Decline()
    if explicit is None:
        if not rest:
            raise Decline()
        explicit = rest.pop(0)
    value = _convert(kind, explicit)
    if how == "multi":
        params[dest] = (*params.get(dest, ()), value)
    else:
        params[dest] = value


def _short_cluster(table: dict[str, Any], arg: str, rest: list[str], params: Params) -> None:
    """-it, -eFOO=1, -dp 80:80: flags until one takes a value (the rest of arg or the next one)."""
    for i, ch in enumerate(arg[1:], start=1):
        spec = table["options"].get("-" + ch)
        if spec is None:
            raise Decline()
        if spec[1] == "flag":
            _take(table, "-" + ch, None, rest, params)
            continue
        _take(table, "-" + ch, arg[i + 1:] or None, rest, params)
        return


def parse_options(table: dict[str, Any], args: list[str]) -> tuple[Params, list[str]]:
    """Options, up to `--` and, unless the command takes options between
    its arguments (click's allow_interspersed_args), up to the first
    positional; returns what they set and the positionals in order."""
    params: Params = {}
    rest = list(args)
    positionals: list[str] = []
    while rest:
        arg = rest[0]
        if arg == "--":
            rest.pop(0)
            break
        if arg[:1] != "-" or len(arg) == 1:
            if not table["interspersed"]:
                break
            positionals.append(rest.pop(0))
            continue
        rest.pop(0)
        name, eq, value = arg.partition("=")
        if len(name) > 2 and name in table["options"]:  # a long option: --rm, --name=x, --net x
            _take(table, name, value if eq else None, rest, params)
        elif arg[:2] == "--":
            raise Decline()
        else:  # click reads any other -x... as a cluster of short options
            _short_cluster(table, arg, rest, params)
    return params, positionals + rest


def _with_defaults(table: dict[str, Any], params: Params) -> Params:
    out = dict(table["defaults"])
    for dest, (var, kind) in table["envvars"].items():
        if dest not in params and os.environ.get(var):  # click ignores an empty variable too
            out[dest] = _convert(kind, os.environ[var])
    out.update(params)
    return out


def parse_command(table: dict[str, Any], args: list[str]) -> Params:
    """One command's parameters as click would set them; Decline otherwise."""
    params, rest = parse_options(table, args)
    for name, nargs, required in table["arguments"]:
        if required and not rest:
            raise Decline()
        if nargs == 1:
            params[name] = rest.pop(0) if rest else None
        else:
            params[name], rest = tuple(rest), []
    if rest:
        raise Decline()
    return _with_defaults(table, params)


def parse(argv: list[str]) -> tuple[Params, str, Params] | None:
    """(global options, verb, the verb's parameters), or None for click to handle."""
    try:
        params, rest = parse_options(GROUP, argv)
        if not rest or rest[0] not in COMMANDS or (argv[:len(argv) - len(rest)][-1:] == ["--"]):
            return None
        return _with_defaults(GROUP, params), rest[0], parse_command(COMMANDS[rest[0]], rest[1:])
    except Decline:
        return None


# Where the click-free bodies live: pyns.cli.<module>, a function named after
# the verb. The container verbs not listed are in lifecycle.py; pull is the
# one fast verb that is not a container verb (quickgen reads this too).
BODIES = {"run": "running", "create": "running", "pull": "pulling"}


def call(obj: Params, verb: str, params: Params) -> int:
    """Run a parsed verb: its click-free body, with the parameters click would pass."""
    bodies = __import__(f"pyns.cli.{BODIES.get(verb, 'lifecycle')}", fromlist=["_"])
    return getattr(bodies, "exec_" if verb == "exec" else verb)(obj, **params)
