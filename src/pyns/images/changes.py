"""``docker import/commit --change`` lines applied to an image's run config.

Only the instructions that change configuration (not the filesystem) are
valid, exactly docker's list: CMD, ENTRYPOINT, ENV, EXPOSE, HEALTHCHECK,
LABEL, ONBUILD, STOPSIGNAL, USER, VOLUME, WORKDIR. The input is treated as
a small Dockerfile (continuation lines, comments, JSON or shell form), all
lines are validated before any is applied, and the result uses the image
config key names (``Env``, ``Cmd``, ``ExposedPorts``, ...). Pure: no I/O.
"""
from __future__ import annotations

import copy
import json
import posixpath
import re
import signal as _signal
from collections.abc import Iterable
from typing import Any

from pyns.errors import InvalidArgument
from pyns.images.shellwords import env_map, expand, split_words
from pyns.records import record

VALID_COMMANDS = frozenset({"cmd", "entrypoint", "env", "expose", "healthcheck", "label", "onbuild",
                            "stopsignal", "user", "volume", "workdir"})
DEFAULT_SHELL = ["/bin/sh", "-c"]
_PROTOCOLS = ("tcp", "udp", "sctp")
_DURATION_UNITS = {"ns": 1, "us": 1_000, "µs": 1_000, "μs": 1_000, "ms": 1_000_000,
                   "s": 1_000_000_000, "m": 60_000_000_000, "h": 3_600_000_000_000}
_DURATION_RE = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)")
_HEALTH_FLAGS = {"interval": "Interval", "timeout": "Timeout", "start-period": "StartPeriod",
                 "start-interval": "StartInterval", "retries": "Retries"}


@record(frozen=True)
class Instruction:
    """One logical change line: ``name`` as typed, leading ``--flags``, the rest."""

    name: str
    flags: tuple[str, ...]
    args: str
    original: str

    @property
    def keyword(self) -> str:
        return self.name.lower()


def logical_lines(changes: Iterable[str]) -> list[str]:
    """Join continuation lines (trailing ``\\``) and drop blank and ``#`` comment lines."""
    lines: list[str] = []
    pending = ""
    for raw in "\n".join(changes).split("\n"):
        stripped = raw.strip()
        if pending and stripped.startswith("#"):
            continue
        if not pending and (not stripped or stripped.startswith("#")):
            continue
        if raw.rstrip().endswith("\\"):
            pending += raw.rstrip()[:-1]
            continue
        lines.append((pending + raw).strip())
        pending = ""
    if pending.strip():
        lines.append(pending.strip())
    return lines


def split_flags(rest: str) -> tuple[tuple[str, ...], str]:
    """Peel leading ``--flag[=value]`` words off an instruction (``--`` ends them)."""
    flags: list[str] = []
    while True:
        rest = rest.lstrip()
        if not rest.startswith("--"):
            return tuple(flags), rest
        word = re.split(r"\s", rest, maxsplit=1)[0]
        remainder = rest[len(word):]
        if word == "--":
            return tuple(flags), remainder.lstrip()
        flags.append(word[2:])
        rest = remainder


def parse(changes: Iterable[str]) -> list[Instruction]:
    """Parse and validate change lines without applying them."""
    result: list[Instruction] = []
    for line in logical_lines(changes):
        parts = line.split(None, 1)
        name, rest = parts[0], parts[1] if len(parts) > 1 else ""
        if name.lower() not in VALID_COMMANDS:
            raise InvalidArgument(f"{name} is not a valid change command")
        flags, args = split_flags(rest)
        if flags and name.lower() != "healthcheck":
            raise InvalidArgument(f"unknown flag: {flags[0].split('=', 1)[0]}")
        result.append(Instruction(name, flags, args.strip(), line))
    return result


NOT_STRING_ARRAY = "when using JSON array syntax, arrays must be comprised of strings only"


def exec_form(args: str, strict: bool = False) -> list[str] | None:
    """The exec-form list if ``args`` is a JSON array of strings, else None (the shell form).

    Like docker, text that does not parse as a JSON array is the shell form
    (``CMD [oops`` runs ``/bin/sh -c "[oops"``); a well-formed array holding
    anything but strings is the shell form for ``--change`` and, with
    ``strict`` (Dockerfiles), an error.
    """
    text = args.strip()
    if not text.startswith("["):
        return None
    try:
        value = json.loads(text)
    except ValueError:
        return None
    if not isinstance(value, list):
        return None
    if all(isinstance(v, str) for v in value):
        return value
    if strict:
        raise InvalidArgument(NOT_STRING_ARRAY)
    return None


def _command_line(inst: Instruction) -> list[str]:
    if not inst.args:
        raise InvalidArgument(f"{inst.name.upper()} requires at least one argument")
    listed = exec_form(inst.args)
    return listed if listed is not None else [*DEFAULT_SHELL, inst.args]


def _name_values(inst: Instruction) -> list[tuple[str, str]]:
    """``K=V K2=V2`` pairs, or the legacy ``K some value`` form (raw, unexpanded)."""
    words = split_words(inst.args)
    keyword = inst.name.upper()
    if not words:
        raise InvalidArgument(f"{keyword} requires at least one argument")
    if "=" not in words[0]:
        parts = re.split(r"[\t\v\f\r ]+", inst.args, maxsplit=1)
        if len(parts) < 2:
            raise InvalidArgument(f"{keyword} must have two arguments")
        return [(parts[0], parts[1])]
    pairs = []
    for word in words:
        if "=" not in word:
            raise InvalidArgument(
                f"Syntax error - can't find = in {json.dumps(word)}. Must be of the form: name=value")
        key, _, value = word.partition("=")
        pairs.append((key, value))
    return pairs


def parse_duration(text: str) -> int:
    """A Go duration (``1m30s``, ``500ms``, ``0``) in nanoseconds."""
    if text == "0":
        return 0
    pos, total = 0, 0.0
    sign = 1
    if text[:1] in "+-" and text:
        sign = -1 if text[0] == "-" else 1
        pos = 1
    if pos == len(text):
        raise InvalidArgument(f'time: invalid duration "{text}"')
    while pos < len(text):
        m = _DURATION_RE.match(text, pos)
        if m is None:
            raise InvalidArgument(f'time: invalid duration "{text}"')
        total += float(m.group(1)) * _DURATION_UNITS[m.group(2)]
        pos = m.end()
    return sign * int(round(total))


def port_specs(spec: str) -> list[str]:
    """Container ports named by an EXPOSE word: ``80``, ``80/udp``, ``8000-8010/tcp``."""
    port_part, slash, proto = spec.partition("/")
    proto = proto.lower() if slash else "tcp"
    if proto not in _PROTOCOLS:
        raise InvalidArgument(f"invalid proto: {proto}")
    port_part = port_part.rsplit(":", 1)[-1]  # ip:host:container forms expose the container port
    m = re.fullmatch(r"(\d{1,5})(?:-(\d{1,5}))?", port_part)
    if m is None:
        raise InvalidArgument(f"invalid containerPort: {port_part}")
    start, end = int(m.group(1)), int(m.group(2) or m.group(1))
    if not (0 < start <= 65535 and 0 < end <= 65535):
        raise InvalidArgument(f"invalid containerPort: {port_part}")
    if end < start:
        raise InvalidArgument(f"invalid range specified for container port: {port_part}")
    return [f"{p}/{proto}" for p in range(start, end + 1)]


def valid_signal(name: str) -> None:
    if name.isascii() and name.isdigit():  # "²".isdigit() is True, int("²") is not
        if int(name) == 0 or int(name) > _signal.SIGRTMAX:
            raise InvalidArgument(f"Invalid signal: {name}")
        return
    upper = name.upper().removeprefix("SIG")
    known = {s.name.removeprefix("SIG") for s in _signal.Signals}
    rt = re.fullmatch(r"RTM(IN|AX)([+-]\d+)?", upper)
    if upper in known or (rt and (rt.group(2) is None or abs(int(rt.group(2))) <= 15)):
        return
    raise InvalidArgument(f"Invalid signal: {name}")


class _Applier:
    """Dispatch state: the config being built and whether CMD was set."""

    def __init__(self, config: dict[str, Any]) -> None:
        self.config = config
        self.cmd_set = False

    def env(self) -> dict[str, str]:
        return env_map(self.config.get("Env"))

    def one_word(self, inst: Instruction, what: str = "exactly one argument") -> str:
        if not inst.args:
            raise InvalidArgument(f"{inst.name.upper()} requires {what}")
        return expand(inst.args, self.env())

    def apply(self, inst: Instruction) -> None:
        getattr(self, f"do_{inst.keyword}")(inst)

    def do_cmd(self, inst: Instruction) -> None:
        self.config["Cmd"] = _command_line(inst)
        self.cmd_set = True

    def do_entrypoint(self, inst: Instruction) -> None:
        self.config["Entrypoint"] = _command_line(inst)
        if not self.cmd_set:
            self.config["Cmd"] = None  # a new entrypoint invalidates an inherited CMD

    def do_env(self, inst: Instruction) -> None:
        before = self.env()
        env = list(self.config.get("Env") or [])
        for raw_key, raw_value in _name_values(inst):
            key, value = expand(raw_key, before), expand(raw_value, before)
            if not key:
                raise InvalidArgument("ENV names can not be blank")
            entry = f"{key}={value}"
            for i, existing in enumerate(env):
                if existing.partition("=")[0] == key:
                    env[i] = entry
                    break
            else:
                env.append(entry)
        self.config["Env"] = env

    def do_label(self, inst: Instruction) -> None:
        env = self.env()
        labels = dict(self.config.get("Labels") or {})
        for raw_key, raw_value in _name_values(inst):
            key = expand(raw_key, env)
            if not key:
                raise InvalidArgument("LABEL names can not be blank")
            labels[key] = expand(raw_value, env)
        self.config["Labels"] = labels

    def do_expose(self, inst: Instruction) -> None:
        words = split_words(inst.args)
        if not words:
            raise InvalidArgument("EXPOSE requires at least one argument")
        ports = dict(self.config.get("ExposedPorts") or {})
        env = self.env()
        for word in words:
            for port in port_specs(expand(word, env)):
                ports[port] = {}
        self.config["ExposedPorts"] = ports

    def do_onbuild(self, inst: Instruction) -> None:
        if not inst.args:
            raise InvalidArgument("ONBUILD requires at least one argument")
        trigger = inst.args.split(None, 1)[0].upper()
        if trigger == "ONBUILD":
            raise InvalidArgument("Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed")
        if trigger in ("MAINTAINER", "FROM"):
            raise InvalidArgument(f"{trigger} isn't allowed as an ONBUILD trigger")
        self.config["OnBuild"] = [*(self.config.get("OnBuild") or []), inst.args]

    def do_stopsignal(self, inst: Instruction) -> None:
        sig = self.one_word(inst)
        valid_signal(sig)
        self.config["StopSignal"] = sig

    def do_user(self, inst: Instruction) -> None:
        self.config["User"] = self.one_word(inst)

    def do_workdir(self, inst: Instruction) -> None:
        requested = self.one_word(inst)
        if not requested:
            raise InvalidArgument("cannot normalize nothing")
        current = self.config.get("WorkingDir") or ""
        if not requested.startswith("/"):
            requested = posixpath.join("/", current, requested)
        self.config["WorkingDir"] = posixpath.normpath(requested).replace("//", "/")

    def do_volume(self, inst: Instruction) -> None:
        listed = exec_form(inst.args)
        words = listed if listed is not None else inst.args.split()
        if not words:
            raise InvalidArgument("VOLUME requires at least one argument")
        volumes = dict(self.config.get("Volumes") or {})
        env = self.env()
        for word in words:
            path = (expand(word, env) if listed is None else word).strip()
            if not path:
                raise InvalidArgument("VOLUME specified can not be an empty string")
            volumes[path] = {}
        self.config["Volumes"] = volumes

    def do_healthcheck(self, inst: Instruction) -> None:
        args = inst.args
        if not args:
            raise InvalidArgument("HEALTHCHECK requires at least one argument")
        parts = args.split(None, 1)
        kind, rest = parts[0], parts[1] if len(parts) > 1 else ""
        kind_upper = kind.upper()
        if kind_upper == "NONE":
            if rest.strip() or inst.flags:
                raise InvalidArgument("HEALTHCHECK NONE takes no arguments")
            self.config["Healthcheck"] = {"Test": ["NONE"]}
            return
        if kind_upper != "CMD":
            raise InvalidArgument(f'Unknown type "{kind}" in HEALTHCHECK (try CMD)')
        rest = rest.strip()
        if not rest:
            raise InvalidArgument("Missing command after HEALTHCHECK CMD")
        listed = exec_form(rest)
        health: dict[str, Any] = {"Test": ["CMD", *listed] if listed is not None else ["CMD-SHELL", rest]}
        for flag in inst.flags:
            name, eq, value = flag.partition("=")
            if name not in _HEALTH_FLAGS or not eq:
                raise InvalidArgument(f"unknown flag: {name}" if name not in _HEALTH_FLAGS
                                      else f"missing a value on flag: {name}")
            key = _HEALTH_FLAGS[name]
            if name == "retries":
                if not re.fullmatch(r"-?\d+", value):
                    raise InvalidArgument(f'strconv.ParseInt: parsing "{value}": invalid syntax')
                if int(value) < 0:
                    raise InvalidArgument("--retries cannot be negative")
                number = int(value)
            else:
                number = parse_duration(value)
                if number < 0:
                    raise InvalidArgument(f"{key} cannot be negative")
                if 0 < number < 1_000_000:
                    raise InvalidArgument(f"{key} cannot be less than 1ms")
            if number:
                health[key] = number
        self.config["Healthcheck"] = health


def apply_changes(config: dict[str, Any] | None, changes: Iterable[str]) -> dict[str, Any]:
    """Return a copy of the run ``config`` with ``changes`` applied.

    Every line is validated before any is applied, so a bad line leaves no
    partially changed config. Raises :class:`~pyns.errors.InvalidArgument`.
    """
    instructions = parse(list(changes))
    applier = _Applier(copy.deepcopy(config) if config else {})
    for inst in instructions:
        applier.apply(inst)
    return applier.config
