"""Dockerfile text to raw instructions: directives, comments, continuations, heredocs.

This is the first of two parsing passes (the second, :mod:`instructions`,
gives each keyword its argument shape). It follows docker's line rules:

* parser directives (``# escape=``, ``# syntax=``, ``# check=``) only at
  the very top; the first comment, blank line or instruction ends them,
  and an unknown directive is just a comment;
* a line whose first non-blank character is ``#`` is a comment, also in
  the middle of a continued instruction;
* the escape character (``\\`` or ``` ` ```) at the end of a line, maybe
  followed by blanks, continues the instruction; blank continuation lines
  are skipped; continuation lines keep their leading blanks;
* ``<<EOF`` / ``<<-EOF`` / ``<<"EOF"`` in RUN, COPY and ADD read the
  following lines up to the delimiter as a here-document.

Every instruction remembers the line it starts on, so later errors can
say ``Dockerfile:7: ...``. Pure: text in, values out.
"""
from __future__ import annotations

import re

from pyns.errors import BuildError
from pyns.images.changes import split_flags
from pyns.images.shellwords import split_words
from pyns.records import record

DEFAULT_ESCAPE = "\\"
HEREDOC_KEYWORDS = frozenset({"RUN", "COPY", "ADD"})
KNOWN_DIRECTIVES = frozenset({"escape", "syntax", "check"})
_DIRECTIVE_RE = re.compile(r"^#[ \t]*([a-zA-Z][a-zA-Z0-9]*)[ \t]*=[ \t]*(.+?)[ \t]*$")
_HEREDOC_RE = re.compile(r"^(\d*)<<(-?)([^<]+)$")


def located(name: str, line: int, message: str) -> BuildError:
    """A BuildError that names the file and line, ``Dockerfile:7: message``."""
    return BuildError(f"{name}:{line}: {message}")


@record(frozen=True)
class Heredoc:
    """A here-document: its delimiter, body, and whether ``$VAR`` in it is expanded.

    ``content`` ends with a newline after every line, as docker keeps it;
    with ``<<-`` leading tabs are already stripped.
    """

    name: str
    content: str
    expand: bool
    chomp: bool = False


@record(frozen=True)
class Node:
    """One instruction as written: keyword (upper case), ``--flags``, the rest.

    ``original`` is the logical line (continuations joined), which the
    build log shows as ``Step N/M : <original>``.
    """

    keyword: str
    flags: tuple[str, ...]
    args: str
    line: int
    end_line: int
    original: str
    heredocs: tuple[Heredoc, ...] = ()


@record(frozen=True)
class ParsedFile:
    escape: str
    directives: dict[str, str]
    nodes: tuple[Node, ...]


def _directives(lines: list[str], name: str) -> tuple[dict[str, str], int]:
    """Leading parser directives and the index of the first line after them."""
    found: dict[str, str] = {}
    for index, raw in enumerate(lines):
        m = _DIRECTIVE_RE.match(raw)
        if m is None or m.group(1).lower() not in KNOWN_DIRECTIVES:
            return found, index
        key = m.group(1).lower()
        if key in found:
            raise located(name, index + 1, f"only one {key} parser directive can be used")
        found[key] = m.group(2)
    return found, len(lines)


def _escape_token(directives: dict[str, str], name: str) -> str:
    escape = directives.get("escape", DEFAULT_ESCAPE)
    if escape not in ("\\", "`"):
        raise located(name, 1, f"invalid escape token '{escape}' does not match ` or \\")
    return escape


def _is_comment(raw: str) -> bool:
    return raw.lstrip().startswith("#")


class _Lines:
    """A cursor over the physical lines (0-based index, 1-based numbers in errors)."""

    def __init__(self, lines: list[str], start: int, escape: str) -> None:
        self.lines = lines
        self.pos = start
        self.continuation = re.compile(re.escape(escape) + r"[ \t]*$")

    def done(self) -> bool:
        return self.pos >= len(self.lines)

    def take(self) -> str:
        line = self.lines[self.pos]
        self.pos += 1
        return line

    def trim_continuation(self, text: str) -> tuple[str, bool]:
        """(text without the continuation mark, whether the instruction goes on)."""
        m = self.continuation.search(text)
        if m is None:
            return text, False
        return text[:m.start()], True

    def logical_line(self, first: str) -> str:
        """The instruction starting with ``first``: continuation lines joined."""
        text, more = self.trim_continuation(first.lstrip())
        while more and not self.done():
            raw = self.take()
            if _is_comment(raw) or not raw.strip():
                continue
            part, more = self.trim_continuation(raw)
            text += part
        return text

    def heredoc(self, name: str, chomp: bool, expand: bool, file_name: str, line: int) -> Heredoc:
        body: list[str] = []
        while not self.done():
            raw = self.take()
            candidate = raw.lstrip("\t") if chomp else raw
            if candidate == name:
                return Heredoc(name, "".join(b + "\n" for b in body), expand, chomp)
            body.append(candidate)
        raise located(file_name, line, f"unterminated heredoc: missing delimiter {name!r}")


def heredoc_markers(args: str, escape: str = DEFAULT_ESCAPE) -> list[tuple[str, bool, bool]]:
    """(name, chomp, expand) for each ``<<NAME`` word of a RUN/COPY/ADD argument."""
    markers = []
    for word in split_words(args, escape):
        m = _HEREDOC_RE.match(word)
        if m is None:
            continue
        raw_name = m.group(3)
        quoted = any(q in raw_name for q in "'\"")
        name = raw_name.replace('"', "").replace("'", "") if quoted else raw_name
        if name:
            markers.append((name, m.group(2) == "-", not quoted))
    return markers


def parse(text: str, name: str = "Dockerfile") -> ParsedFile:
    """Split a Dockerfile into :class:`Node` s; raises BuildError naming the line."""
    text = text.removeprefix("\ufeff")
    lines = [line.removesuffix("\r") for line in text.split("\n")]
    directives, start = _directives(lines, name)
    escape = _escape_token(directives, name)
    cursor = _Lines(lines, start, escape)
    nodes: list[Node] = []
    while not cursor.done():
        first_index = cursor.pos
        raw = cursor.take()
        if not raw.strip() or _is_comment(raw):
            continue
        logical = cursor.logical_line(raw).strip()
        if not logical:
            continue
        line_no = first_index + 1
        parts = logical.split(None, 1)
        keyword = parts[0].upper()
        rest = parts[1] if len(parts) > 1 else ""
        flags, args = split_flags(rest)
        heredocs: list[Heredoc] = []
        if keyword in HEREDOC_KEYWORDS:
            for doc_name, chomp, expand in heredoc_markers(args, escape):
                heredocs.append(cursor.heredoc(doc_name, chomp, expand, name, line_no))
        nodes.append(Node(keyword, flags, args.strip(), line_no, cursor.pos, logical, tuple(heredocs)))
    return ParsedFile(escape, directives, tuple(nodes))
