"""Dockerfile word handling: splitting on unquoted blanks and ``$VAR`` expansion.

``--change`` lines (and later the Dockerfile builder) must treat quotes,
backslashes and variables exactly as docker does, or ``ENV A="x y"`` and
``ENV B=$A`` would produce different images here than there. Splitting
keeps quotes in the words; :func:`expand` removes them afterwards, which is
the two-step order docker uses (parse first, expand at dispatch).
"""
from __future__ import annotations

from collections.abc import Mapping

from pyns.errors import InvalidArgument

ESCAPE = "\\"
_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")


def split_words(text: str, escape: str = ESCAPE) -> list[str]:
    """Split ``text`` on whitespace outside quotes; quotes and escapes are kept.

    An escape outside quotes protects the next character (even a quote or a
    blank); inside double quotes it protects the next one too; inside single
    quotes nothing is special. An escape as the very last character is
    dropped. Quoted empty strings (``""``) still produce a word.
    """
    words: list[str] = []
    word: list[str] = []
    in_word = False
    quote = ""
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if quote:
            if ch == quote:
                quote = ""
            elif ch == escape and quote != "'":
                if i + 1 == n:
                    i += 1
                    continue
                word.append(ch)
                i += 1
                ch = text[i]
            word.append(ch)
        elif ch.isspace():
            if in_word:
                words.append("".join(word))
                word, in_word = [], False
        else:
            in_word = True
            if ch in "'\"":
                quote = ch
            elif ch == escape:
                if i + 1 == n:
                    i += 1
                    continue
                word.append(ch)
                i += 1
                ch = text[i]
            word.append(ch)
        i += 1
    if in_word:
        words.append("".join(word))
    return words


class _Expander:
    """One pass over a word: quote removal, escapes and ``$`` substitution."""

    def __init__(self, text: str, env: Mapping[str, str], escape: str) -> None:
        self.text = text
        self.env = env
        self.escape = escape
        self.pos = 0

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def next(self) -> str:
        ch = self.peek()
        self.pos += 1
        return ch

    def run(self, stop: str = "") -> str:
        out: list[str] = []
        while self.pos < len(self.text):
            ch = self.peek()
            if stop and ch == stop:
                break
            self.pos += 1
            if ch == "'":
                out.append(self._single_quoted())
            elif ch == '"':
                out.append(self._double_quoted())
            elif ch == "$":
                out.append(self._dollar())
            elif ch == self.escape:
                out.append(self.next())  # empty at end of word: a trailing escape vanishes
            else:
                out.append(ch)
        return "".join(out)

    def _single_quoted(self) -> str:
        end = self.text.find("'", self.pos)
        if end < 0:
            raise InvalidArgument("unexpected end of statement while looking for matching single-quote")
        value = self.text[self.pos:end]
        self.pos = end + 1
        return value

    def _double_quoted(self) -> str:
        out: list[str] = []
        while True:
            if self.pos >= len(self.text):
                raise InvalidArgument("unexpected end of statement while looking for matching double-quote")
            ch = self.next()
            if ch == '"':
                return "".join(out)
            if ch == "$":
                out.append(self._dollar())
            elif ch == self.escape and self.peek() in ('"', "$", self.escape) and self.peek():
                out.append(self.next())
            elif ch == self.escape and not self.peek():
                continue
            else:
                out.append(ch)

    def _name(self) -> str:
        start = self.pos
        while self.peek() and self.peek() in _NAME_CHARS:
            self.pos += 1
        return self.text[start:self.pos]

    def _dollar(self) -> str:
        if self.peek() == "{":
            self.pos += 1
            return self._braced()
        name = self._name()
        if not name:
            return "$"
        return self.env.get(name, "")

    def _braced(self) -> str:
        name = self._name()
        if not name:
            raise InvalidArgument("bad substitution: missing variable name")
        ch = self.next()
        if ch == "}":
            return self.env.get(name, "")
        colon = ch == ":"
        if colon:
            ch = self.next()
        if ch not in ("-", "+", "?"):
            raise InvalidArgument(f"unsupported modifier ({ch}) in substitution")
        word = self.run(stop="}")
        if self.next() != "}":
            raise InvalidArgument("missing '}' in substitution")
        is_set = name in self.env and (not colon or self.env[name] != "")
        if ch == "-":
            return self.env[name] if is_set else word
        if ch == "+":
            return word if is_set else ""
        if not is_set:
            raise InvalidArgument(f"{name}: {word or 'is not allowed to be unset'}")
        return self.env[name]


def expand(word: str, env: Mapping[str, str], escape: str = ESCAPE) -> str:
    """Remove quotes, apply escapes and substitute ``$VAR``/``${VAR[:-+?]word}``.

    Unset variables expand to the empty string, as in docker.
    """
    return _Expander(word, env, escape).run()


def env_map(env: list[str] | None) -> dict[str, str]:
    """Turn a config ``Env`` list (``K=V``) into a dict, later entries winning."""
    result: dict[str, str] = {}
    for item in env or []:
        key, _, value = item.partition("=")
        result[key] = value
    return result
