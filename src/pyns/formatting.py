"""Docker's human-readable output: durations, sizes, timestamps, ps columns, tables.

Everything here reproduces what the docker CLI prints, down to Go's float
formatting and the CLI's tabwriter, so pyns output can be compared with
docker's line by line. Pure functions: callers pass "now" explicitly.
"""
from __future__ import annotations

import math
import re
import unicodedata
from datetime import datetime, timedelta, timezone

from pyns.errors import InvalidArgument
from pyns.options._go import quote as go_quote

__all__ = [
    "bytes_size", "container_status", "created_ago", "display_width", "ellipsis", "go_quote",
    "human_duration", "human_size", "is_zero_time", "join_command", "parse_rfc3339", "parse_rfc3339_ns",
    "render_table", "rfc3339_nano", "short_id", "tabwrite", "truncate_command", "ZERO_TIME",
]

_NS = 10**9
_MAX_NS = (1 << 63) - 1
_MIN_NS = -(1 << 63)
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
ZERO_TIME = datetime(1, 1, 1, tzinfo=timezone.utc)
"""Go's zero time.Time; docker prints it as "0001-01-01T00:00:00Z"."""


# --- durations --------------------------------------------------------------

def _to_ns(value: float | timedelta) -> int:
    """A duration in Go nanoseconds, saturating like time.Sub does."""
    if isinstance(value, timedelta):
        ns = (value.days * 86400 + value.seconds) * _NS + value.microseconds * 1000
    elif math.isnan(value):
        ns = 0
    elif math.isinf(value):
        ns = _MAX_NS if value > 0 else _MIN_NS
    else:
        ns = round(value * _NS)
    return max(_MIN_NS, min(_MAX_NS, ns))


def _go_unit(ns: int, unit: int) -> float:
    """Duration.Seconds/Minutes/Hours: whole units plus the float remainder."""
    whole = abs(ns) // unit * (1 if ns >= 0 else -1)
    return float(whole) + float(ns - whole * unit) / float(unit)


def human_duration(seconds: float | timedelta) -> str:
    """go-units HumanDuration ("Less than a second", "About an hour", "3 weeks")."""
    ns = _to_ns(seconds)
    secs = int(_go_unit(ns, _NS))
    if secs < 1:
        return "Less than a second"
    if secs == 1:
        return "1 second"
    if secs < 60:
        return f"{secs} seconds"
    minutes = int(_go_unit(ns, 60 * _NS))
    if minutes == 1:
        return "About a minute"
    if minutes < 60:
        return f"{minutes} minutes"
    hours_f = _go_unit(ns, 3600 * _NS)
    hours = int(hours_f + 0.5)
    if hours == 1:
        return "About an hour"
    if hours < 48:
        return f"{hours} hours"
    if hours < 24 * 7 * 2:
        return f"{hours // 24} days"
    if hours < 24 * 30 * 2:
        return f"{hours // 24 // 7} weeks"
    if hours < 24 * 365 * 2:
        return f"{hours // 24 // 30} months"
    return f"{int(hours_f) // 24 // 365} years"


# --- sizes ------------------------------------------------------------------

_DECIMAL_UNITS = ("B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB")
_BINARY_UNITS = ("B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB", "ZiB", "YiB")


def _go_g(value: float, precision: int) -> str:
    """fmt's %.*g, including Go's spelling of infinities and NaN."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return "%.*g" % (precision, value)


def _custom_size(size: float, base: float, units: tuple[str, ...], precision: int) -> str:
    try:
        size = float(size)
    except OverflowError:  # ints beyond float64 are +/-Inf for Go too
        size = math.inf if size > 0 else -math.inf
    i = 0
    while size >= base and i < len(units) - 1:
        size /= base
        i += 1
    return _go_g(size, precision) + units[i]


def human_size(size: float, precision: int = 4) -> str:
    """go-units HumanSizeWithPrecision (decimal units); precision 4 is HumanSize.

    4261251 -> "4.261MB". The docker CLI's SIZE columns (images, ps -s,
    system df) use precision 3: human_size(4261251, 3) -> "4.26MB".
    """
    return _custom_size(size, 1000.0, _DECIMAL_UNITS, precision)


def bytes_size(size: float) -> str:
    """go-units BytesSize (binary units, %.4g): 1536 -> "1.5KiB", as in docker stats."""
    return _custom_size(size, 1024.0, _BINARY_UNITS, 4)


# --- timestamps -------------------------------------------------------------

_RFC3339 = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.([0-9]+))?(Z|[+-][0-9]{2}:[0-9]{2})",
    re.ASCII,
)


def _utc_ns(dt: datetime) -> int:
    """Nanoseconds since the epoch; naive datetimes are taken as UTC."""
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    delta = dt - _EPOCH
    return (delta.days * 86400 + delta.seconds) * _NS + delta.microseconds * 1000


def rfc3339_nano(value: datetime | int | None) -> str:
    """Go's time.RFC3339Nano, as docker inspect prints Created/StartedAt.

    ``value`` is a datetime (naive = UTC; microsecond precision) or an int of
    nanoseconds since the epoch (full precision). Trailing zeros of the
    fraction are dropped and a whole second has no fraction, exactly like
    Go: "2026-11-28T17:55:16.1234Z". None gives Go's zero time.
    """
    if value is None:
        return "0001-01-01T00:00:00Z"
    if isinstance(value, datetime):
        offset = value.utcoffset() if value.tzinfo is not None else None
        ns = _utc_ns(value)
    else:
        offset, ns = None, int(value)
    seconds, frac = divmod(ns, _NS)
    local = _EPOCH + timedelta(seconds=seconds) + (offset or timedelta(0))
    text = (f"{local.year:04d}-{local.month:02d}-{local.day:02d}"
            f"T{local.hour:02d}:{local.minute:02d}:{local.second:02d}")
    if frac:
        text += "." + f"{frac:09d}".rstrip("0")
    if not offset:
        return text + "Z"
    minutes = int(offset.total_seconds()) // 60
    sign = "+" if minutes >= 0 else "-"
    return text + f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def parse_rfc3339_ns(text: str) -> int:
    """Nanoseconds since the epoch for an RFC 3339 time with any fraction length.

    Digits beyond nanoseconds are truncated, as Go does.
    """
    if not isinstance(text, str):
        raise InvalidArgument(f"invalid timestamp: {text!r}")
    match = _RFC3339.fullmatch(text)
    if not match:
        raise InvalidArgument(f"invalid timestamp: {text!r}")
    year, month, day, hour, minute, second = (int(g) for g in match.groups()[:6])
    zone = match.group(8)
    try:
        tz = timezone.utc
        if zone != "Z":
            hours, minutes = int(zone[1:3]), int(zone[4:6])
            if hours > 23 or minutes > 59:
                raise ValueError(zone)
            sign = -1 if zone[0] == "-" else 1
            tz = timezone(sign * timedelta(hours=hours, minutes=minutes))
        dt = datetime(year, month, day, hour, minute, second, tzinfo=tz)
    except ValueError:
        raise InvalidArgument(f"invalid timestamp: {text!r}") from None
    frac = int((match.group(7) or "0")[:9].ljust(9, "0"))
    return _utc_ns(dt) + frac


def parse_rfc3339(text: str) -> datetime:
    """An aware UTC datetime for an RFC 3339 timestamp (fraction cut to µs)."""
    ns = parse_rfc3339_ns(text)
    return _EPOCH + timedelta(microseconds=ns // 1000)


def is_zero_time(dt: datetime | None) -> bool:
    """True for None and Go's zero time (docker's "never")."""
    return dt is None or _utc_ns(dt) == _utc_ns(ZERO_TIME)


def _seconds_between(earlier: datetime, later: datetime) -> timedelta:
    return timedelta(microseconds=(_utc_ns(later) - _utc_ns(earlier)) // 1000)


def created_ago(created: datetime | int | float, now: datetime) -> str:
    """docker ps/images CREATED: "5 seconds ago".

    Docker's API reports Created in whole seconds, so sub-second parts of
    ``created`` (a datetime or epoch seconds) are dropped first.
    """
    epoch = _utc_ns(created) // _NS if isinstance(created, datetime) else math.floor(created)
    return human_duration(_seconds_between(_EPOCH + timedelta(seconds=epoch), now)) + " ago"


def container_status(state: str, exit_code: int, started_at: datetime | None,
                     finished_at: datetime | None, now: datetime, health: str | None = None) -> str:
    """docker ps STATUS for a container whose State.Status is ``state``.

    ``state`` is one of created, running, paused, restarting, removing,
    exited, dead; ``health`` is "starting", "healthy" or "unhealthy" when a
    healthcheck exists. Mirrors moby's State.String().
    """
    if state in ("running", "paused", "restarting"):
        if state == "paused":
            return f"Up {human_duration(_seconds_between(started_at or ZERO_TIME, now))} (Paused)"
        if state == "restarting":
            return f"Restarting ({exit_code}) {human_duration(_seconds_between(finished_at or ZERO_TIME, now))} ago"
        up = f"Up {human_duration(_seconds_between(started_at or ZERO_TIME, now))}"
        if health:
            return f"{up} ({'health: starting' if health == 'starting' else health})"
        return up
    if state == "removing":
        return "Removal In Progress"
    if state == "dead":
        return "Dead"
    if is_zero_time(started_at):
        return "Created"
    if is_zero_time(finished_at):
        return ""
    assert finished_at is not None
    return f"Exited ({exit_code}) {human_duration(_seconds_between(finished_at, now))} ago"


# --- ps columns -------------------------------------------------------------

def short_id(identifier: str) -> str:
    """stringid.TruncateID: drop "algo:" and keep 12 characters."""
    _, colon, rest = identifier.partition(":")
    return (rest if colon else identifier)[:12]


def join_command(path: str, args: list[str]) -> str:
    """The daemon's Command string for ps: args with a space get single quotes."""
    if not args:
        return path
    return path + " " + " ".join(f"'{a}'" if " " in a else a for a in args)


def _char_width(ch: str) -> int:
    """golang.org/x/text/width, as Ellipsis uses it: 2 for wide/fullwidth."""
    return 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1


def _runes(text: str) -> str:
    """Go's []rune conversion: bytes that were not UTF-8 become U+FFFD."""
    return "".join("\ufffd" if 0xD800 <= ord(c) <= 0xDFFF else c for c in text)


def ellipsis(text: str, max_width: int) -> str:
    """The CLI's formatter.Ellipsis: cut to ``max_width`` columns ending in "…"."""
    if max_width <= 0:
        return ""
    if max_width == 1:
        return _runes(text[:1])
    if all(ord(c) < 0x80 or 0xDC80 <= ord(c) <= 0xDCFF for c in text):
        if len(text) <= max_width:
            return text
        return _runes(text[: max_width - 1]) + "…"
    widths = []
    total = 0
    for ch in text:
        total += _char_width(ch)
        widths.append(total)
    if total <= max_width:
        return text
    for i in range(len(widths) - 1):
        if widths[i] <= max_width - 1 < widths[i + 1]:
            return _runes(text[: i + 1]) + "…"
    return text


def truncate_command(command: str, limit: int | None = 20) -> str:
    """docker ps COMMAND: Ellipsis(cmd, 20) then strconv.Quote; ``None`` = --no-trunc."""
    return go_quote(command if limit is None else ellipsis(command, limit))


# --- tables -----------------------------------------------------------------

def display_width(text: str) -> int:
    """Columns a string takes in a terminal (go-runewidth, non-East-Asian locale)."""
    width = 0
    for ch in text:
        code = ord(ch)
        if code < 0x20 or 0x7F <= code < 0xA0 or unicodedata.category(ch) in ("Mn", "Me", "Cf"):
            continue
        width += 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1
    return width


def _format_block(lines: list[list[str]], min_width: int, padding: int) -> list[str]:
    """text/tabwriter's elastic tabstops for one flushed block of lines."""
    out: list[list[str]] = [[] for _ in lines]

    def emit(line0: int, line1: int, widths: list[int]) -> None:
        for i in range(line0, line1):
            cells = lines[i]
            for j, cell in enumerate(cells):
                out[i].append(cell)
                if j < len(widths) and j < len(cells) - 1:
                    out[i].append(" " * (widths[j] - display_width(cell)))

    def fmt(line0: int, line1: int, widths: list[int]) -> None:
        column = len(widths)
        this = line0
        while this < line1:
            if column >= len(lines[this]) - 1:
                this += 1
                continue
            emit(line0, this, widths)
            line0 = this
            width = min_width
            while this < line1 and column < len(lines[this]) - 1:
                width = max(width, display_width(lines[this][column]) + padding)
                this += 1
            fmt(line0, this, widths + [width])
            line0 = this
        emit(line0, line1, widths)

    fmt(0, len(lines), [])
    return ["".join(parts) for parts in out]


def tabwrite(text: str, min_width: int = 10, padding: int = 3) -> str:
    """Align tab-separated text like the docker CLI's tabwriter (min width 10,
    padding 3, spaces): cells end at tabs, the last cell of a line is never
    padded, and a line of one cell or a form feed starts a new block."""
    result: list[str] = []
    for chunk in text.split("\f"):
        raw_lines = chunk.split("\n")
        lines = [line.replace("\v", "\t").split("\t") for line in raw_lines]
        formatted = _format_block(lines, min_width, padding)
        result.append("\n".join(formatted))
    return "\f".join(result)


def render_table(headers: list[str], rows: list[list[str]]) -> str:
    """A docker-style table: header row, then rows, each ending in "\\n".

    Columns are left-aligned and padded to max(10, widest cell + 3); the last
    column is not padded. Cells should not contain tabs or newlines.
    """
    text = "".join("\t".join(row) + "\n" for row in [headers, *rows])
    return tabwrite(text)
