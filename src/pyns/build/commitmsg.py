"""History ``created_by`` strings, exactly as docker's classic builder writes them.

Tools (and people) read ``docker history``; matching docker's text keeps
pyns-built images looking like docker-built ones. The quirks reproduced:
metadata steps are ``<shell> #(nop)  CMD ...`` (two blanks: docker joins
``"#(nop) "`` and the text with a blank), while WORKDIR, COPY and ADD use
one; CMD/ENTRYPOINT print Go's ``%q`` of a string slice (``["sh" "-c"]``,
no commas); VOLUME and SHELL print Go's ``%v`` (``[/data]``); HEALTHCHECK
prints the Go struct. Pure.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pyns.options._go import quote

_HEALTH_DURATIONS = ("Interval", "Timeout", "StartPeriod", "StartInterval")
_UNITS = ((3_600_000_000_000, "h"), (60_000_000_000, "m"))


def nop(shell: Sequence[str], text: str) -> str:
    """A metadata-only step (ENV, CMD, LABEL, ...): ``/bin/sh -c #(nop)  TEXT``."""
    return " ".join([*shell, "#(nop) ", text])


def nop_one(shell: Sequence[str], text: str) -> str:
    """WORKDIR/COPY/ADD: ``/bin/sh -c #(nop) TEXT`` (one blank)."""
    return " ".join([*shell, "#(nop) " + text])


def go_q(items: Sequence[str]) -> str:
    """Go's ``fmt.Sprintf("%q", []string{...})``."""
    return "[" + " ".join(quote(i) for i in items) + "]"


def go_v(items: Sequence[str]) -> str:
    """Go's ``fmt.Sprintf("%v", []string{...})``."""
    return "[" + " ".join(items) + "]"


def go_duration(ns: int) -> str:
    """``time.Duration.String()``: ``0s``, ``1.5s``, ``1m30s``, ``250ms``."""
    if ns == 0:
        return "0s"
    sign = "-" if ns < 0 else ""
    ns = abs(ns)
    if ns < 1_000_000_000:
        for size, unit in ((1_000_000, "ms"), (1_000, "µs"), (1, "ns")):
            if ns >= size:
                return sign + _decimal(ns, size) + unit
    out = ""
    for size, unit in _UNITS:
        if ns >= size or out:
            out += f"{ns // size}{unit}"
            ns %= size
    return sign + out + _decimal(ns, 1_000_000_000) + "s"


def _decimal(value: int, unit: int) -> str:
    whole, frac = divmod(value, unit)
    if not frac:
        return str(whole)
    digits = str(frac).rjust(len(str(unit)) - 1, "0").rstrip("0")
    return f"{whole}.{digits}"


def go_rune(value: int) -> str:
    """Go's ``%q`` of an int (a quoted rune), as the Retries field prints."""
    ch = chr(value) if 0 <= value <= 0x10FFFF else "\ufffd"
    if ch == "'":
        return "'\\''"
    text = quote(ch)[1:-1]
    return f"'{text}'" if text != '\\"' else "'\"'"


def healthcheck(config: dict[str, Any]) -> str:
    """Go's ``%q`` of docker's ``*HealthConfig``."""
    fields = [go_q(config.get("Test") or [])]
    fields += [quote(go_duration(int(config.get(key) or 0))) for key in _HEALTH_DURATIONS]
    fields.append(go_rune(int(config.get("Retries") or 0)))
    return "&{" + " ".join(fields) + "}"
