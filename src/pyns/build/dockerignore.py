"""``.dockerignore``: which context paths the build may not see.

Docker's rules (moby/patternmatcher): one Go pattern per line, ``#``
comments and blank lines skipped, surrounding whitespace trimmed, each
pattern cleaned like ``filepath.Clean`` with a leading ``/`` dropped;
``**`` matches any number of directories; a leading ``!`` makes an
exception. Every pattern is tried in order and the *last* one that
matches decides, and a pattern that matches a parent directory matches
everything below it. Pure: the caller reads the file.
"""
from __future__ import annotations

import posixpath
import re

from pyns.build.patterns import compile_pattern
from pyns.records import record


@record(frozen=True)
class Pattern:
    text: str
    exclusion: bool  # a "!" line: matching paths are put back
    regex: re.Pattern[str]

    def matches(self, path: str) -> bool:
        """The path itself or one of its parent directories matches."""
        if self.regex.fullmatch(path):
            return True
        parts = path.split("/")
        return any(self.regex.fullmatch("/".join(parts[:i])) for i in range(1, len(parts)))


def _clean(text: str) -> str:
    cleaned = posixpath.normpath(text) if text else "."
    if cleaned.startswith("//"):
        cleaned = "/" + cleaned.lstrip("/")
    if len(cleaned) > 1 and cleaned.startswith("/"):
        cleaned = cleaned[1:]
    return cleaned


def parse(text: str) -> list[Pattern]:
    """The patterns of a ``.dockerignore`` file, in order."""
    patterns = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        exclusion = line.startswith("!")
        if exclusion:
            line = line[1:].strip()
            if not line:
                continue
        cleaned = _clean(line)
        patterns.append(Pattern(cleaned, exclusion, compile_pattern(cleaned, double_star=True)))
    return patterns


class Matcher:
    """Answers "is this context path excluded?" for slash-separated relative paths."""

    def __init__(self, patterns: list[Pattern]) -> None:
        self.patterns = patterns
        self.has_exceptions = any(p.exclusion for p in patterns)

    @classmethod
    def from_text(cls, text: str) -> Matcher:
        return cls(parse(text))

    def excluded(self, path: str) -> bool:
        path = path.strip("/")
        if not path or path == ".":
            return False
        result = False
        for pattern in self.patterns:
            if pattern.exclusion != result:
                continue  # cannot change the outcome
            if pattern.matches(path):
                result = not pattern.exclusion
        return result

    def may_descend(self, directory: str) -> bool:
        """Whether walking into an excluded directory can still find included paths."""
        return self.has_exceptions or not self.excluded(directory)
