"""Raw nodes to typed instructions: each keyword's flags and argument shape, checked.

Everything that can be checked without an image or a context is checked
here, before the first step runs (docker does the same), and every error
names the line. Values stay *unexpanded*: ``$VAR`` depends on ENV and ARG
values known only while building, so substitution happens at dispatch.

The config-only instructions share their grammar with ``import --change``:
ENV/LABEL pairs, HEALTHCHECK and ONBUILD validation come from
:mod:`pyns.images.changes` rather than being parsed twice.
"""
from __future__ import annotations

import re
from typing import Any

from pyns.build.parser import Node, located
from pyns.build.parser import parse as parse_lines
from pyns.build.words import exec_form
from pyns.errors import BuildError, InvalidArgument
from pyns.images import changes
from pyns.images.shellwords import split_words
from pyns.records import field, record

_STAGE_NAME_RE = re.compile(r"[a-z][a-z0-9\-_.]*")
_UNSUPPORTED = {"mount": "--mount", "security": "--security", "parents": "--parents", "exclude": "--exclude",
                "keep-git-dir": "--keep-git-dir"}
# flag name -> True for booleans (``--link`` or ``--link=false``), False for strings
FLAGS: dict[str, dict[str, bool]] = {
    "FROM": {"platform": False},
    "RUN": {"network": False, "mount": False, "security": False},
    "COPY": {"from": False, "chown": False, "chmod": False, "link": True, "parents": True, "exclude": False},
    "ADD": {"chown": False, "chmod": False, "checksum": False, "link": True, "keep-git-dir": True},
    "HEALTHCHECK": {"interval": False, "timeout": False, "start-period": False, "start-interval": False,
                    "retries": False},
}


@record(frozen=True)
class Instruction:
    """Common part: the raw node (keyword, line, original text)."""

    node: Node

    @property
    def keyword(self) -> str:
        return self.node.keyword

    @property
    def line(self) -> int:
        return self.node.line

    @property
    def original(self) -> str:
        return self.node.original


@record(frozen=True)
class From(Instruction):
    image: str
    stage_name: str | None
    platform: str | None


@record(frozen=True)
class Command(Instruction):
    """RUN, CMD, ENTRYPOINT: ``args`` is the exec-form list, or ``[text]`` for the shell form."""

    args: tuple[str, ...]
    exec_form: bool
    network: str | None = None


@record(frozen=True)
class Copy(Instruction):
    """COPY and ADD (``add`` set): sources as written, heredoc sources by name."""

    sources: tuple[str, ...]
    dest: str
    add: bool
    from_: str | None = None
    chown: str | None = None
    chmod: str | None = None
    checksum: str | None = None


@record(frozen=True)
class Pairs(Instruction):
    """ENV and LABEL: raw (key, value) pairs."""

    pairs: tuple[tuple[str, str], ...]


@record(frozen=True)
class Arg(Instruction):
    """ARG: (name, raw default or None) pairs."""

    pairs: tuple[tuple[str, str | None], ...]


@record(frozen=True)
class Value(Instruction):
    """WORKDIR, USER, STOPSIGNAL, MAINTAINER, EXPOSE: the raw argument text."""

    value: str


@record(frozen=True)
class Volume(Instruction):
    paths: tuple[str, ...]
    json: bool


@record(frozen=True)
class Shell(Instruction):
    shell: tuple[str, ...]


@record(frozen=True)
class Healthcheck(Instruction):
    """The docker ``Healthcheck`` config the instruction sets (no substitution applies)."""

    config: dict[str, Any] = field(hash=False, compare=False)


@record(frozen=True)
class Onbuild(Instruction):
    """The trigger, as written after ONBUILD, replayed in builds FROM this image."""

    trigger: str


def _flags(node: Node) -> dict[str, str | bool]:
    """Parse ``--name[=value]`` flags with docker's BFlags errors."""
    allowed = FLAGS.get(node.keyword, {})
    values: dict[str, str | bool] = {}
    for raw in node.flags:
        name, eq, value = raw.partition("=")
        if name not in allowed:
            raise InvalidArgument(f"unknown flag: {name}")
        if name in values:
            raise InvalidArgument(f"duplicate flag specified: {name}")
        if allowed[name]:
            if eq and value.lower() not in ("true", "false"):
                raise InvalidArgument(f"expecting boolean value for flag {name}, not: {value}")
            values[name] = not eq or value.lower() == "true"
        else:
            if not eq:
                raise InvalidArgument(f"missing a value on flag: {name}")
            values[name] = value
    for name, shown in _UNSUPPORTED.items():
        if values.get(name):
            raise InvalidArgument(f"the {shown} option is not supported by the pyns builder")
    return values


def _change(node: Node) -> changes.Instruction:
    """The same instruction in the shape ``import --change`` parses."""
    return changes.Instruction(node.keyword, node.flags, node.args, node.original)


def _at_least_one(node: Node) -> None:
    if not node.args.strip():
        raise InvalidArgument(f"{node.keyword} requires at least one argument")


def _from(node: Node, flags: dict[str, Any]) -> From:
    words = node.args.split()
    name = None
    if len(words) == 3 and words[1].lower() == "as":
        name = words[2].lower()
        if not _STAGE_NAME_RE.fullmatch(name):
            raise InvalidArgument(f"invalid name for build stage: {name!r}, name can't start with a number "
                                  "or contain symbols")
    elif len(words) != 1:
        raise InvalidArgument("FROM requires either one or three arguments")
    return From(node, words[0], name, flags.get("platform"))


def _command(node: Node, flags: dict[str, Any]) -> Command:
    listed = None if node.heredocs else exec_form(node.args)
    if listed is not None:
        if node.keyword == "RUN" and not listed:
            raise InvalidArgument("RUN requires at least one argument")
        return Command(node, tuple(listed), True, flags.get("network"))
    _at_least_one(node)
    return Command(node, (node.args,), False, flags.get("network"))


def _copy(node: Node, flags: dict[str, Any]) -> Copy:
    listed = None if node.heredocs else exec_form(node.args)
    words = listed if listed is not None else node.args.split()
    if len(words) < 2:
        raise InvalidArgument(f"{node.keyword} requires at least two arguments, but only one was provided. "
                              "Destination could not be determined.")
    add = node.keyword == "ADD"
    return Copy(node, tuple(words[:-1]), words[-1], add, flags.get("from"), flags.get("chown"),
                flags.get("chmod"), flags.get("checksum"))


def _pairs(node: Node, flags: dict[str, Any]) -> Pairs:
    return Pairs(node, tuple(changes._name_values(_change(node))))


def _arg(node: Node, flags: dict[str, Any]) -> Arg:
    words = split_words(node.args)
    if not words:
        raise InvalidArgument("ARG requires at least one argument")
    pairs = []
    for word in words:
        name, eq, value = word.partition("=")
        if not name:
            raise InvalidArgument(f"ARG names can not be blank: {word}")
        pairs.append((name, value if eq else None))
    return Arg(node, tuple(pairs))


def _value(node: Node, flags: dict[str, Any]) -> Value:
    text = node.args.strip()
    if node.keyword in ("USER", "STOPSIGNAL") and len(text.split()) != 1:
        raise InvalidArgument(f"{node.keyword} requires exactly one argument")
    if node.keyword in ("WORKDIR", "MAINTAINER") and not text:
        raise InvalidArgument(f"{node.keyword} requires exactly one argument")
    if node.keyword == "EXPOSE":
        _at_least_one(node)
    return Value(node, text)


def _volume(node: Node, flags: dict[str, Any]) -> Volume:
    listed = exec_form(node.args)
    paths = listed if listed is not None else node.args.split()
    if not paths:
        raise InvalidArgument("VOLUME requires at least one argument")
    if any(not p.strip() for p in paths):
        raise InvalidArgument("VOLUME specified can not be an empty string")
    return Volume(node, tuple(paths), listed is not None)


def _shell(node: Node, flags: dict[str, Any]) -> Shell:
    listed = exec_form(node.args)
    if listed is None:
        raise InvalidArgument("SHELL requires the arguments to be in JSON form")
    if not listed:
        raise InvalidArgument("SHELL requires at least one argument")
    return Shell(node, tuple(listed))


def _healthcheck(node: Node, flags: dict[str, Any]) -> Healthcheck:
    applier = changes._Applier({})
    applier.do_healthcheck(_change(node))
    return Healthcheck(node, applier.config["Healthcheck"])


def _onbuild(node: Node, flags: dict[str, Any]) -> Onbuild:
    changes._Applier({}).do_onbuild(_change(node))
    trigger = re.sub(r"(?i)^\s*ONBUILD\s*", "", node.original)
    try:
        subs = parse_lines(trigger, "ONBUILD").nodes
    except BuildError as e:
        raise InvalidArgument(str(e)) from None
    for sub in subs:  # a typo in a trigger is reported now, not in the child build
        to_instruction(sub)
    return Onbuild(node, trigger)


_BUILDERS = {
    "FROM": _from, "RUN": _command, "CMD": _command, "ENTRYPOINT": _command, "COPY": _copy, "ADD": _copy,
    "ENV": _pairs, "LABEL": _pairs, "ARG": _arg, "WORKDIR": _value, "USER": _value, "STOPSIGNAL": _value,
    "MAINTAINER": _value, "EXPOSE": _value, "VOLUME": _volume, "SHELL": _shell, "HEALTHCHECK": _healthcheck,
    "ONBUILD": _onbuild,
}


def to_instruction(node: Node) -> Instruction:
    """Type and check one node; InvalidArgument (without a line) on errors."""
    builder = _BUILDERS.get(node.keyword)
    if builder is None:
        raise InvalidArgument(f"unknown instruction: {node.keyword}")
    return builder(node, _flags(node))


def from_node(node: Node, file_name: str) -> Instruction:
    """:func:`to_instruction` with errors located at the node's line."""
    try:
        return to_instruction(node)
    except InvalidArgument as e:
        raise located(file_name, node.line, str(e)) from None
