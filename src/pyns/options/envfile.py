"""Environment variables from ``--env-file``, ``-e`` and image configs.

The rules are docker's (``pkg/kvfile`` and ``opts.ValidateEnv`` in the CLI,
``ReplaceOrAppendEnvValues`` in the daemon), including the surprising ones:
values are never unquoted, ``KEY`` alone takes its value from the caller's
environment, and an ``-e KEY`` that is unset there stays a bare ``KEY``,
which later *removes* KEY from the container's environment.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable

from pyns.errors import InvalidArgument
from pyns.options._go import GO_SPACE

Lookup = Callable[[str], "str | None"]

_MAX_LINE = 64 * 1024  # bufio.MaxScanTokenSize: longer lines fail in docker too


def _lines(text: str | bytes) -> list[tuple[int, str]]:
    """Split like bufio.ScanLines (on \\n, one trailing \\r dropped), checking UTF-8."""
    raw = text if isinstance(text, bytes) else text.encode("utf-8", "surrogateescape" if _escapable(text) else "surrogatepass")
    chunks = raw.split(b"\n")
    if chunks and chunks[-1] == b"":
        chunks.pop()
    out = []
    for number, chunk in enumerate(chunks, start=1):
        if chunk.endswith(b"\r"):
            chunk = chunk[:-1]
        if len(chunk) >= _MAX_LINE:
            raise InvalidArgument("bufio.Scanner: token too long")
        try:
            line = chunk.decode("utf-8")
        except UnicodeDecodeError:
            listed = " ".join(str(b) for b in chunk)
            raise InvalidArgument(f"invalid utf8 bytes at line {number}: [{listed}]") from None
        out.append((number, line))
    return out


def _escapable(text: str) -> bool:
    """True unless the text holds surrogates that surrogateescape cannot encode."""
    return all(not 0xD800 <= ord(c) <= 0xDFFF or 0xDC80 <= ord(c) <= 0xDCFF for c in text)


def parse_env_file(text: str | bytes, lookup: Lookup | None) -> list[str]:
    """``KEY=VALUE`` lines of an env file (or label file) in docker's format.

    ``lookup(name)`` supplies values for bare ``KEY`` lines and returns None
    when unset (the line is then omitted); pass None to drop bare keys, as
    docker does for ``--label-file``.
    """
    if not isinstance(text, (str, bytes)):
        raise InvalidArgument(f"invalid env file content: {type(text).__name__}")
    result: list[str] = []
    for number, line in _lines(text):
        if number == 1 and line.startswith("\ufeff"):
            line = line[1:]
        line = line.lstrip(GO_SPACE)
        if not line or line[0] == "#":
            continue
        key, has_value, _ = line.partition("=")
        if not key:
            raise InvalidArgument(f"no variable name on line '{line}'")
        if " " in key or "\t" in key:
            raise InvalidArgument(f"variable '{key}' contains whitespaces")
        if has_value:
            result.append(line)
        elif lookup is not None:
            value = lookup(key)
            if value is not None:
                result.append(f"{key}={value}")
    return result


def parse_env(values: Iterable[str], lookup: Lookup | None) -> list[str]:
    """``-e`` values: ``K=V`` kept verbatim, ``K`` filled from ``lookup``.

    As in docker, a bare ``K`` that ``lookup`` does not know is kept as
    ``K``; :func:`replace_or_append_env` then treats it as "unset K".
    """
    if isinstance(values, (str, bytes)):
        raise InvalidArgument("invalid environment variables: expected a list of strings")
    result = []
    for value in values:
        if not isinstance(value, str):
            raise InvalidArgument(f"invalid environment variable: {value!r}")
        key, has_value, _ = value.partition("=")
        if not key:
            raise InvalidArgument(f"invalid environment variable: {value}")
        found = None if has_value or lookup is None else lookup(key)
        result.append(f"{key}={found}" if found is not None else value)
    return result


def merge_image_env(user_env: list[str], image_env: list[str]) -> list[str]:
    """Container Config.Env at create time: the user's entries, then the image's
    entries whose key the user did not mention (a bare ``K`` counts)."""
    user_keys = {entry.partition("=")[0] for entry in user_env}
    return list(user_env) + [e for e in image_env if e.partition("=")[0] not in user_keys]


def replace_or_append_env(defaults: list[str], overrides: list[str]) -> list[str]:
    """The daemon's ReplaceOrAppendEnvValues: ``K=V`` replaces or appends,
    bare ``K`` removes K from ``defaults`` (PATH, HOSTNAME, TERM at start)."""
    results = list(defaults)
    index = {entry.partition("=")[0]: i for i, entry in enumerate(defaults)}
    removed: set[int] = set()
    for value in overrides:
        key, has_value, _ = value.partition("=")
        if not has_value:
            if key in index:
                removed.add(index[key])
            continue
        if key in index:
            results[index[key]] = value
            removed.discard(index[key])
        else:
            results.append(value)
    return [entry for i, entry in enumerate(results) if i not in removed and entry != ""]
