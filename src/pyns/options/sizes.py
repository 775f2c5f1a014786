"""Memory sizes as docker reads them (``-m 64m``, ``--memory-swap -1``).

Follows go-units ``RAMInBytes`` (the current, regex-free version): a number
Go's ParseFloat accepts, then an optional suffix ``b``, ``k``, ``kb``,
``kib`` ... ``p`` in any case, binary multiples, an optional single space
between the two. The product is truncated to an integer like Go's int64().
"""
from __future__ import annotations

import math
import re

from pyns.errors import InvalidArgument

_UNITS = {"k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40, "p": 1 << 50}
_DECIMAL = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_HEX = re.compile(r"[+-]?0[xX](?:[0-9a-fA-F]+\.?[0-9a-fA-F]*|\.[0-9a-fA-F]+)[pP][+-]?[0-9]+")
_MAX = (1 << 63) - 1


def _parse_float(num: str) -> float | None:
    """strconv.ParseFloat(num, 64) minus underscores; None when Go would fail."""
    try:
        if _DECIMAL.fullmatch(num):
            value = float(num)
        elif _HEX.fullmatch(num):
            value = float.fromhex(num)
        else:
            return None
    except (OverflowError, ValueError):
        return None
    return value if math.isfinite(value) else None


def _invalid(text: str) -> InvalidArgument:
    return InvalidArgument(f"invalid size: '{text}'")


def _to_int(size: float, text: str) -> int:
    # Go's int64() of an out-of-range float is undefined; refuse instead.
    if size >= 2.0**63:
        raise _invalid(text)
    return int(size)


def ram_in_bytes(text: str) -> int:
    """go-units RAMInBytes for a string; errors carry docker's messages."""
    num, space, suffix = text.partition(" ")
    if not space:
        sep = max(text.rfind(c) for c in "0123456789.")
        if sep == -1:
            raise _invalid(text)
        num, suffix = text[: sep + 1], text[sep + 1 :]
    size = _parse_float(num)
    if size is None or size < 0:
        raise _invalid(text)
    if not suffix:
        return _to_int(size, text)
    if len(suffix.encode("utf-8", "surrogatepass")) > 3:
        raise InvalidArgument(f"invalid suffix: '{suffix}'")
    low = suffix.lower()
    if low[0] == "b":
        if len(low) > 1:
            raise InvalidArgument(f"invalid suffix: '{low}'")
        return _to_int(size, text)
    if low[0] not in _UNITS or (len(low) == 2 and low[1] != "b") or (len(low) == 3 and low[1:] != "ib") or len(low) > 3:
        raise InvalidArgument(f"invalid suffix: '{low}'")
    return _to_int(size * float(_UNITS[low[0]]), text)


def parse_memory(value: str | int) -> int:
    """A memory limit in bytes from a CLI string or an SDK int (``mem_limit``).

    Ints are taken as bytes, like docker-py does; negative ints, bools and
    other types are refused.
    """
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise InvalidArgument(f"invalid size: '{value}'")
    if isinstance(value, int):
        if not 0 <= value <= _MAX:
            raise _invalid(str(value))
        return value
    return ram_in_bytes(value)


def parse_memory_swap(value: str | int) -> int:
    """Like :func:`parse_memory`, plus docker's ``-1`` meaning unlimited swap."""
    if value == "-1" or (value == -1 and not isinstance(value, bool)):
        return -1
    return parse_memory(value)
