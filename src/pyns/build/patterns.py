"""Go's ``filepath.Match`` patterns, compiled to regular expressions.

COPY/ADD wildcards and ``.dockerignore`` lines are Go patterns, not
Python ``fnmatch`` ones: ``*`` and ``?`` never match ``/``, a class is
negated with ``^``, a backslash escapes the next character, and a
malformed pattern is an error rather than a literal. ``.dockerignore``
adds ``**`` (any number of directories, including none).
"""
from __future__ import annotations

import functools
import re

from pyns.errors import InvalidArgument

META = frozenset("*?[\\")


def has_magic(pattern: str) -> bool:
    """True when ``pattern`` holds a wildcard (docker's ``containsWildcards``)."""
    return any(ch in META for ch in pattern)


def _class(pattern: str, i: int) -> tuple[str, int]:
    """Translate the ``[...]`` starting at ``pattern[i] == '['``; returns (regex, next index)."""
    i += 1
    negate = i < len(pattern) and pattern[i] == "^"
    if negate:
        i += 1
    parts: list[str] = []
    while True:
        if i >= len(pattern):
            raise InvalidArgument(f"syntax error in pattern: {pattern}")
        if pattern[i] == "]" and parts:
            i += 1
            break
        lo, i = _class_char(pattern, i)
        if i < len(pattern) and pattern[i] == "-" and i + 1 < len(pattern) and pattern[i + 1] != "]":
            hi, i = _class_char(pattern, i + 1)
            if hi < lo:
                raise InvalidArgument(f"syntax error in pattern: {pattern}")
            parts.append(f"{re.escape(lo)}-{re.escape(hi)}")
        else:
            parts.append(re.escape(lo))
    body = "".join(parts)
    return (f"[^{body}]" if negate else f"[{body}]"), i


def _class_char(pattern: str, i: int) -> tuple[str, int]:
    ch = pattern[i]
    if ch == "\\":
        if i + 1 >= len(pattern):
            raise InvalidArgument(f"syntax error in pattern: {pattern}")
        return pattern[i + 1], i + 2
    if ch in "-]":
        raise InvalidArgument(f"syntax error in pattern: {pattern}")
    return ch, i + 1


def translate(pattern: str, double_star: bool = False) -> str:
    """The regex body for a Go pattern; ``double_star`` enables ``**`` (dockerignore)."""
    out: list[str] = []
    i, n = 0, len(pattern)
    while i < n:
        ch = pattern[i]
        if ch == "*":
            if double_star and pattern.startswith("**", i):
                i += 2
                if i < n and pattern[i] == "/":
                    out.append("(?:.*/)?")
                    i += 1
                else:
                    out.append(".*")
                continue
            out.append("[^/]*")
        elif ch == "?":
            out.append("[^/]")
        elif ch == "[":
            regex, i = _class(pattern, i)
            out.append(regex)
            continue
        elif ch == "\\":
            if i + 1 >= n:
                raise InvalidArgument(f"syntax error in pattern: {pattern}")
            i += 1
            out.append(re.escape(pattern[i]))
        else:
            out.append(re.escape(ch))
        i += 1
    return "".join(out)


@functools.lru_cache(maxsize=512)
def compile_pattern(pattern: str, double_star: bool = False) -> re.Pattern[str]:
    """A compiled full-match regex for ``pattern``; InvalidArgument if malformed."""
    return re.compile(translate(pattern, double_star), re.DOTALL)


def match(pattern: str, name: str) -> bool:
    """``filepath.Match(pattern, name)`` for slash-separated names."""
    return compile_pattern(pattern).fullmatch(name) is not None
