"""Small re-implementations of Go standard-library behaviour.

Docker's parsers are written in Go, and several of their edge cases come from
Go's ``strconv``, ``path`` and ``unicode`` packages rather than from docker's
own code. Matching docker exactly therefore means matching those helpers;
they live here so every option parser agrees on them.
"""
from __future__ import annotations

import posixpath
import re
import unicodedata

# unicode.IsSpace: Latin-1 spaces plus the Unicode White_Space property.
# Python's str.isspace() also accepts U+001C..U+001F, which Go does not.
GO_SPACE = "\t\n\v\f\r \x85\xa0\u1680" + "".join(map(chr, range(0x2000, 0x200B))) + "\u2028\u2029\u202f\u205f\u3000"

_INT_RE = re.compile(r"[+-]?[0-9]+")
INT64_MIN = -(1 << 63)
INT64_MAX = (1 << 63) - 1


def atoi(text: str) -> int | None:
    """strconv.Atoi/ParseInt(s, 10, 64): an optional sign and ASCII digits.

    Returns None on a syntax error; the caller decides about ranges because
    Go reports them as a different error.
    """
    if not _INT_RE.fullmatch(text):
        return None
    return int(text)


def parse_int64(text: str, what: str = "ParseInt") -> int:
    """strconv.ParseInt(s, 10, 64) with Go's own error text."""
    value = atoi(text)
    if value is None:
        raise ValueError(f"strconv.{what}: parsing {quote(text)}: invalid syntax")
    if not INT64_MIN <= value <= INT64_MAX:
        raise ValueError(f"strconv.{what}: parsing {quote(text)}: value out of range")
    return value


def clean_path(path: str) -> str:
    """path.Clean: like posixpath.normpath, but a leading "//" is not kept."""
    if path == "":
        return "."
    cleaned = posixpath.normpath(path)
    if cleaned.startswith("//"):
        cleaned = "/" + cleaned.lstrip("/")
    return cleaned


def upper(text: str) -> str:
    """strings.ToUpper uses simple (one rune to one rune) case mappings only."""
    out = []
    for ch in text:
        up = ch.upper()
        out.append(up if len(up) == 1 else ch)
    return "".join(out)


def _is_print(ch: str) -> bool:
    """strconv.IsPrint: letters, marks, numbers, punctuation, symbols, ASCII space."""
    if ch == " ":
        return True
    return unicodedata.category(ch)[0] in "LMNPS"


_SIMPLE_ESCAPES = {"\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\v": "\\v"}


def quote(text: str) -> str:
    """strconv.Quote, which docker uses for %q and for the ps COMMAND column.

    Lone surrogates stand for bytes that were not valid UTF-8 (Python's
    surrogateescape); Go prints such bytes as \\xNN, so we do too.
    """
    out = ['"']
    for ch in text:
        code = ord(ch)
        if ch in '"\\':
            out.append("\\" + ch)
        elif 0xD800 <= code <= 0xDFFF:
            raw = bytes([code - 0xDC00]) if 0xDC80 <= code <= 0xDCFF else ch.encode("utf-8", "surrogatepass")
            out.extend(f"\\x{b:02x}" for b in raw)
        elif _is_print(ch):
            out.append(ch)
        elif ch in _SIMPLE_ESCAPES:
            out.append(_SIMPLE_ESCAPES[ch])
        elif code < 0x20 or code == 0x7F:
            out.append(f"\\x{code:02x}")
        elif code < 0x10000:
            out.append(f"\\u{code:04x}")
        else:
            out.append(f"\\U{code:08x}")
    out.append('"')
    return "".join(out)
