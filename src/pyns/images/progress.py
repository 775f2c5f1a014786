"""Progress of pulls and pushes as docker's status messages.

The engine reports what docker's daemon streams to its CLI (``Pulling fs
layer``, ``Downloading`` with byte counts, ``Pull complete``, ``Pushed``...)
as :class:`ProgressEvent` objects to an optional callback; the CLI renders
them as per-layer progress bars on a terminal or as plain lines otherwise,
and library users can ignore them or forward them.
"""
from __future__ import annotations

import threading
import time
from collections.abc import Callable

from pyns.records import record


@record(frozen=True)
class ProgressEvent:
    """One status message. ``id`` is a layer's short digest (12 hex) or a tag, "" for
    image-wide lines; ``current``/``total`` are byte counts for Downloading/Pushing."""

    status: str
    id: str = ""
    current: int | None = None
    total: int | None = None

    @property
    def is_progress(self) -> bool:
        """A byte-count update (shown as a bar on terminals, skipped in plain output)."""
        return self.current is not None


ProgressCallback = Callable[[ProgressEvent], None]
_MIN_INTERVAL = 0.1


class Reporter:
    """Serialises events from worker threads and throttles byte-count updates."""

    def __init__(self, callback: ProgressCallback | None) -> None:
        self._callback = callback
        self._lock = threading.Lock()
        self._last: dict[str, float] = {}

    def __call__(self, status: str, id: str = "") -> None:
        if self._callback is not None:
            with self._lock:
                self._callback(ProgressEvent(status, id))

    def forward(self, event: ProgressEvent) -> None:
        """Pass on an event made elsewhere (a worker process)."""
        if self._callback is not None:
            with self._lock:
                self._callback(event)

    def bytes(self, status: str, id: str, current: int, total: int | None) -> None:
        """A byte-count update, at most every 100 ms per id (and always the last one)."""
        if self._callback is None:
            return
        now = time.monotonic()
        if current != total and now - self._last.get(id, 0.0) < _MIN_INTERVAL:
            return
        self._last[id] = now
        with self._lock:
            self._callback(ProgressEvent(status, id, current, total))


def short_digest(digest: str) -> str:
    """The 12 hex digits docker shows for a layer."""
    return digest.split(":", 1)[-1][:12]
