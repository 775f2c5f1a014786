"""Read a container's json-file log: entries, tail, follow.

The log is written by the C supervisor, one JSON object per line:
``{"log": "...", "stream": "stdout"|"stderr", "time": RFC3339Nano}``.
"""
from __future__ import annotations

import json
import os
import time

from pyns.records import record

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (see pyns/__init__.py)
if TYPE_CHECKING:
    from typing import Callable, Iterator


@record
class LogEntry:
    stream: str
    time: str
    data: bytes


def _parse(line: bytes) -> LogEntry | None:
    try:
        obj = json.loads(line.decode("utf-8", "replace"))
        return LogEntry(obj.get("stream", "stdout"), obj.get("time", ""), obj.get("log", "").encode("utf-8", "surrogateescape"))
    except (ValueError, AttributeError):
        return None


def read_entries(path: str, tail: int | None = None) -> list[LogEntry]:
    try:
        with open(path, "rb") as f:
            lines = f.read().splitlines()
    except FileNotFoundError:
        return []
    entries = [e for e in map(_parse, lines) if e is not None]
    if tail is not None:
        entries = entries[-tail:] if tail > 0 else []
    return entries


def follow(path: str, tail: int | None, running: Callable[[], bool], poll: float = 0.05) -> Iterator[LogEntry]:
    """Existing entries (tail applied), then new ones until the container stops."""
    pos = 0
    try:
        pos = os.path.getsize(path)
    except OSError:
        pass
    yield from read_entries(path, tail)
    buf = b""
    while True:
        alive = running()
        try:
            with open(path, "rb") as f:
                f.seek(pos)
                chunk = f.read()
        except FileNotFoundError:
            chunk = b""
        if chunk:
            pos += len(chunk)
            buf += chunk
            *lines, buf = buf.split(b"\n")
            for ln in lines:
                e = _parse(ln)
                if e:
                    yield e
            continue
        if not alive:
            return
        time.sleep(poll)
