"""Run layer downloads in parallel: forked worker processes, or one at a time.

Unpacking a layer is CPU work in Python (tar parsing, decompression glue,
hashing), so threads do not help: with several downloads in threads the
GIL is handed back and forth on every socket read and a pull gets slower
than doing the layers one by one. Separate processes run truly in
parallel. Workers are forked (cheap: nothing to import or re-resolve) and
stay alive until the pull ends, so the temp dirs they unpacked into keep
a live owner pid until the parent has published them.

Forking is only safe when the process has no other threads (a lock held by
another thread would stay locked forever in the child), so embedders with
threads get the sequential path. Each worker talks to the parent over a
pipe: progress events and the finished :class:`PendingLayer` (or the
exception) go up, job numbers come down. On failure the parent SIGTERMs the
workers, whose handler raises inside the download so that every temp file
and dir is removed on the way out.
"""
from __future__ import annotations

import os
import signal
import threading
from collections.abc import Callable, Iterator, Sequence
from multiprocessing.connection import Connection, Pipe, wait
from typing import Any, cast

from pyns.errors import PynsError, RegistryError
from pyns.images.download import Cancelled, LayerDownloader, LayerJob
from pyns.images.layers import PendingLayer
from pyns.images.progress import ProgressEvent, Reporter


def can_fork() -> bool:
    """True when forking cannot inherit a lock some other thread holds."""
    return threading.active_count() == 1 and hasattr(os, "fork")


def run_sequential(downloader: LayerDownloader, jobs: Sequence[tuple[int, LayerJob]]
                   ) -> Iterator[tuple[int, PendingLayer]]:
    for index, job in jobs:
        yield index, downloader.run(job)


def _raise_cancelled(signum: int, frame: Any) -> None:
    raise Cancelled("pull cancelled")


def _child(conn: Connection, downloader: LayerDownloader, jobs: dict[int, LayerJob]) -> None:
    """Worker main loop (never returns)."""
    code = 0
    try:
        signal.signal(signal.SIGTERM, _raise_cancelled)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        downloader.client.transport.after_fork()
        downloader.report = Reporter(lambda event: conn.send(("event", event)))
        while True:
            index = conn.recv()
            if index is None:
                break
            try:
                conn.send(("done", index, downloader.run(jobs[index])))
            except Cancelled:
                break
            except BaseException as e:  # noqa: BLE001 - reported to the parent, which re-raises
                conn.send(("error", index, _picklable(e)))
    except BaseException:  # noqa: BLE001 - a dying worker must not run the parent's code
        code = 1
    finally:
        os._exit(code)


def _picklable(error: BaseException) -> BaseException:
    return error if isinstance(error, PynsError) else RegistryError(f"{type(error).__name__}: {error}")


class ForkedWorkers:
    """Up to ``count`` forked workers pulling jobs; results come back in completion order."""

    def __init__(self, downloader: LayerDownloader, count: int, forward: Callable[[ProgressEvent], None]) -> None:
        self.downloader = downloader
        self.count = count
        self.forward = forward
        self.workers: dict[int, Connection] = {}  # pid -> parent end

    def run(self, jobs: Sequence[tuple[int, LayerJob]]) -> Iterator[tuple[int, PendingLayer]]:
        """Yield ``(index, pending)`` as layers finish; the caller publishes them."""
        queue = list(jobs)
        by_index = dict(queue)
        idle: list[Connection] = []
        busy: set[Connection] = set()
        try:
            for _ in range(min(self.count, len(queue))):
                idle.append(self._spawn(by_index))
            left = len(queue)
            while left:
                while idle and queue:
                    conn = idle.pop()
                    conn.send(queue.pop(0)[0])
                    busy.add(conn)
                for ready in wait(list(busy)):
                    conn = cast(Connection, ready)
                    message = self._receive(conn)
                    if message[0] == "event":
                        self.forward(message[1])
                        continue
                    busy.discard(conn)
                    idle.append(conn)
                    left -= 1
                    if message[0] == "error":
                        raise message[2]
                    yield message[1], message[2]
        except BaseException:
            self.stop(signal.SIGTERM)
            raise

    def _spawn(self, jobs: dict[int, LayerJob]) -> Connection:
        parent, child = Pipe()
        pid = os.fork()
        if pid == 0:  # pragma: no cover - runs in the child
            parent.close()
            _child(child, self.downloader, jobs)
        child.close()
        self.workers[pid] = parent
        return parent

    def _receive(self, conn: Connection) -> tuple[Any, ...]:
        try:
            return conn.recv()  # type: ignore[no-any-return]
        except (EOFError, OSError):
            raise RegistryError("a layer download worker died unexpectedly") from None

    def stop(self, sig: int | None = None) -> None:
        """End every worker (politely, or with ``sig``) and reap it."""
        for pid, conn in self.workers.items():
            try:
                if sig is None:
                    conn.send(None)
                else:
                    os.kill(pid, sig)
            except (OSError, ValueError):
                pass
        for pid, conn in self.workers.items():
            try:
                os.waitpid(pid, 0)
            except ChildProcessError:
                pass
            conn.close()
        self.workers.clear()
