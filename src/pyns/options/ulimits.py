"""``--ulimit name=soft[:hard]`` as go-units ParseUlimit reads it.

Values are kept as docker keeps them: -1 means unlimited (RLIM_INFINITY
once converted to the unsigned kernel type). Names map to the Linux
RLIMIT_* numbers through :mod:`resource`.
"""
from __future__ import annotations

import resource
from typing import NamedTuple

from pyns.errors import InvalidArgument
from pyns.options._go import parse_int64

# docker's list ("as" is deliberately absent there); RLIMIT_LOCKS is
# missing from Python's resource module, 10 is its Linux number.
ULIMIT_NAMES = ("core", "cpu", "data", "fsize", "locks", "memlock", "msgqueue", "nice",
                "nofile", "nproc", "rss", "rtprio", "rttime", "sigpending", "stack")


def rlimit_number(name: str) -> int:
    """The RLIMIT_* constant for a docker ulimit name."""
    if name not in ULIMIT_NAMES:
        raise InvalidArgument(f"invalid ulimit type: {name}")
    return int(getattr(resource, "RLIMIT_" + name.upper(), 10))


class Ulimit(NamedTuple):
    """A parsed ulimit; ``resource`` is its RLIMIT_* number."""

    name: str
    soft: int
    hard: int

    @property
    def resource(self) -> int:
        return rlimit_number(self.name)

    def __str__(self) -> str:
        return f"{self.name}={self.soft}:{self.hard}"


def parse_ulimit(text: str) -> Ulimit:
    """``nofile=1024:2048`` -> Ulimit("nofile", 1024, 2048); ``nproc=512`` sets both."""
    if not isinstance(text, str):
        raise InvalidArgument(f"invalid ulimit argument: {text!r}")
    name, has_value, value = text.partition("=")
    if not has_value:
        raise InvalidArgument(f"invalid ulimit argument: {text}")
    rlimit_number(name)
    soft_text, has_hard, hard_text = value.partition(":")
    try:
        hard = parse_int64(hard_text) if has_hard else None
        soft = parse_int64(soft_text)
    except ValueError as err:
        raise InvalidArgument(str(err)) from None
    if hard is None:
        hard = soft
    if hard != -1:
        if soft == -1:
            raise InvalidArgument(
                f"ulimit soft limit must be less than or equal to hard limit: soft: -1 (unlimited), hard: {hard}")
        if soft > hard:
            raise InvalidArgument(f"ulimit soft limit must be less than or equal to hard limit: {soft} > {hard}")
    return Ulimit(name, soft, hard)
