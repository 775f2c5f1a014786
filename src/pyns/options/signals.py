"""Signal names and numbers as docker accepts them (``kill -s``, ``--stop-signal``).

Docker (moby/sys/signal) accepts a decimal number, or a name in any case with
or without the "SIG" prefix, including SIGRTMIN+n / SIGRTMAX-n with docker's
fixed SIGRTMIN=34 and SIGRTMAX=64 (glibc's values, not the kernel's 32).
"""
from __future__ import annotations

import signal as _signal

from pyns.errors import InvalidArgument
from pyns.options._go import atoi, upper

_RTMIN, _RTMAX = 34, 64
_NAMES = (
    "ABRT ALRM BUS CHLD CLD CONT FPE HUP ILL INT IO IOT KILL PIPE POLL PROF PWR QUIT SEGV "
    "STKFLT STOP SYS TERM TRAP TSTP TTIN TTOU URG USR1 USR2 VTALRM WINCH XCPU XFSZ"
).split()

SIGNALS: dict[str, int] = {name: int(getattr(_signal, "SIG" + name)) for name in _NAMES}
SIGNALS["RTMIN"] = _RTMIN
SIGNALS["RTMAX"] = _RTMAX
SIGNALS.update({f"RTMIN+{i}": _RTMIN + i for i in range(1, 16)})
SIGNALS.update({f"RTMAX-{i}": _RTMAX - i for i in range(1, 15)})

_VALID_NUMBERS = frozenset(SIGNALS.values())


def parse_signal(text: str) -> int:
    """The signal number for ``text`` ("SIGTERM", "term", "15", "SIGRTMIN+3").

    Docker's parser takes any non-zero number; we also refuse numbers that
    are not Linux signals (docker's daemon does so when it sends them).
    """
    if not isinstance(text, str):
        raise InvalidArgument(f"invalid signal: {text!r}")
    number = atoi(text)
    if number is not None and -(1 << 63) <= number < (1 << 63):
        if number not in _VALID_NUMBERS:
            raise InvalidArgument(f"invalid signal: {text}")
        return number
    name = upper(text)
    if name.startswith("SIG"):
        name = name[3:]
    try:
        return SIGNALS[name]
    except KeyError:
        raise InvalidArgument(f"invalid signal: {text}") from None


def signal_name(number: int) -> str:
    """"SIGTERM" for 15: the canonical docker name (for inspect/StopSignal)."""
    for name, value in SIGNALS.items():
        if value == number and name not in ("CLD", "IOT", "POLL"):
            return "SIG" + name
    raise InvalidArgument(f"invalid signal: {number}")
