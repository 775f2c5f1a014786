"""``--cpus`` as docker reads it: a rational number turned into nano CPUs.

Docker parses the value with Go's ``big.Rat.SetString`` and multiplies by
1e9; the result must be an integer ("value is too precise" otherwise). We
accept the forms people use: decimals with an optional exponent ("1.5",
"2e-1") and fractions ("3/2"). Go also accepts base prefixes and digit
underscores ("0x1p-1", "1_000"); those are refused here.
"""
from __future__ import annotations

import re

from pyns.errors import InvalidArgument

_DECIMAL = re.compile(r"([+-]?)([0-9]*)(?:\.([0-9]*))?(?:[eE]([+-]?[0-9]+))?")
_FRACTION = re.compile(r"([+-]?[0-9]+)/([0-9]+)")
_NANO = 10**9
_MAX = (1 << 63) - 1
_MAX_EXP = 10**6  # big.Rat refuses larger decimal exponents


def _rational_nanos(text: str) -> int:
    """Exact nano CPUs for ``text``; InvalidArgument with docker's wording."""
    bad = InvalidArgument(f"failed to parse {text} as a rational number")
    frac = _FRACTION.fullmatch(text)
    if frac:
        if max(len(g.lstrip("+-").lstrip("0")) for g in frac.groups()) > 1000:
            raise InvalidArgument(f"invalid value: {text}: number of CPUs is out of range")
        num, den = int(frac.group(1)), int(frac.group(2))
        if den == 0:
            raise bad
        if (num * _NANO) % den:
            raise InvalidArgument("value is too precise")
        return num * _NANO // den
    dec = _DECIMAL.fullmatch(text)
    if not dec or not (dec.group(2) or dec.group(3)):
        raise bad
    sign, whole, fraction, exp = dec.group(1), dec.group(2), dec.group(3) or "", dec.group(4) or "0"
    digits = (whole + fraction).lstrip("0")
    if len(exp.lstrip("+-").lstrip("0")) > 18:  # Go's exponent is an int64
        raise bad
    if not digits:
        return 0
    shift = int(exp) - len(fraction)
    if abs(shift) > _MAX_EXP:
        raise bad
    stripped = digits.rstrip("0")
    shift += len(digits) - len(stripped) + 9
    if shift < 0:
        raise InvalidArgument("value is too precise")
    if shift > 19 or len(stripped) > 19:
        raise InvalidArgument(f"invalid value: {text}: number of CPUs is out of range")
    value: int = int(stripped) * 10**shift
    return -value if sign == "-" else value


def _range_error(ncpu: int | None) -> InvalidArgument:
    """The daemon's message; it names the host's CPU count when known."""
    if ncpu is None:
        return InvalidArgument("Range of CPUs is from 0.01 to the number of CPUs available")
    return InvalidArgument(f"Range of CPUs is from 0.01 to {ncpu}.00, as there are only {ncpu} CPUs available")


def parse_cpus(value: str | int | float, ncpu: int | None = None) -> int:
    """Nano CPUs from ``--cpus``/``nano_cpus``-style input ("1.5" -> 1500000000).

    Negative values are refused (docker's daemon does the same), and when
    ``ncpu`` (the host's CPU count) is given, so are values above it. 0 means
    "no limit" as in docker. Ints and floats count CPUs (the SDK's
    ``nano_cpus`` is already in nanos and needs no parsing).
    """
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise InvalidArgument(f"failed to parse {value} as a rational number")
    if isinstance(value, int):
        nanos = value * _NANO
    else:
        text = value if isinstance(value, str) else repr(value)
        nanos = _rational_nanos(text)
    if nanos < 0 or (ncpu is not None and nanos > ncpu * _NANO):
        raise _range_error(ncpu)
    if nanos > _MAX:
        raise InvalidArgument(f"invalid value: {value}: number of CPUs is out of range")
    return nanos
