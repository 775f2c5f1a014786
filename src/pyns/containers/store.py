"""The container state store under ``<root>/containers/<id>/``.

Layout of one container directory:

    config.json   what the user asked for (docker's Config/HostConfig shape); written once
    state.json    lifecycle record written by the engine (status, pids, start time)
    exit.json     exit record written by the C supervisor (code, OOM, finish time)
    plan          the native plan of the last start (read by the monitor)
    <id>-json.log the container's output, docker json-file format
    hostname, hosts, resolv.conf
    rootfs/       mount point of the root (mounted only inside the container)
    diff/, work/  the overlay upper (the container's writable layer) and work dirs

Locks live in the run directory (``<run>/locks``): the store-wide one and
one per container. Names are unique: creation checks and claims the name under one store
lock, so concurrent ``create``s cannot both win it.
"""
from __future__ import annotations

import os

from pyns import fsutil
from pyns.errors import AmbiguousId, ContainerNotFound, NameConflict

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (see pyns/__init__.py)
if TYPE_CHECKING:
    from typing import Any, Iterator


def _reap(path: str) -> None:
    """Delete a renamed-away container directory in a thread of its own.

    The rename already made the removal final; what is left is file system
    work (ext4 here: ~0.3 ms per inode, ~3 ms per container) that a
    foreground `run --rm` would otherwise wait for. The thread is not a
    daemon: the interpreter finishes it before it exits, so a CLI leaves
    nothing behind; a process killed first leaves a .rm- directory that the
    next ContainerStore sweeps.
    """
    import threading

    threading.Thread(target=fsutil.remove_tree_quietly, args=(path,), name="pyns-reap").start()


class ContainerStore:
    def __init__(self, root: str, run_root: str | None = None) -> None:
        self.root = root
        self.base = os.path.join(root, "containers")
        self.locks = os.path.join(run_root or os.path.join(root, "run"), "locks")
        self.lock_path = os.path.join(self.locks, "containers.lock")
        os.makedirs(self.base, exist_ok=True)
        for name in os.listdir(self.base):  # what a process killed while reaping left
            if name.startswith(".rm-"):
                fsutil.remove_tree_quietly(os.path.join(self.base, name))

    # paths -----------------------------------------------------------------
    def path(self, cid: str, *parts: str) -> str:
        return os.path.join(self.base, cid, *parts)

    def log_path(self, cid: str) -> str:
        return self.path(cid, f"{cid}-json.log")

    def ids(self) -> list[str]:
        try:
            return [d for d in os.listdir(self.base) if len(d) == 64 and os.path.exists(self.path(d, "config.json"))]
        except FileNotFoundError:
            return []

    # records ---------------------------------------------------------------
    def config(self, cid: str) -> dict[str, Any]:
        cfg = fsutil.read_json(self.path(cid, "config.json"), None)
        if cfg is None:
            raise ContainerNotFound(f"No such container: {cid}")
        return cfg

    def state(self, cid: str) -> dict[str, Any]:
        return fsutil.read_json(self.path(cid, "state.json"), {}) or {}

    def save_config(self, cid: str, config: dict[str, Any]) -> None:
        fsutil.atomic_write_json(self.path(cid, "config.json"), config)

    def save_state(self, cid: str, state: dict[str, Any]) -> None:
        fsutil.atomic_write_json(self.path(cid, "state.json"), state)

    def exit_record(self, cid: str) -> dict[str, Any] | None:
        try:
            return fsutil.read_json(self.path(cid, "exit.json"), None)
        except ValueError:  # torn by a crash mid-write cannot happen (rename), but be safe
            return None

    def clear_exit_record(self, cid: str) -> None:
        try:
            os.unlink(self.path(cid, "exit.json"))
        except FileNotFoundError:
            pass

    def names(self) -> Iterator[tuple[str, str]]:
        for cid in self.ids():
            try:
                yield cid, self.config(cid)["Name"].lstrip("/")
            except (ContainerNotFound, KeyError, ValueError):
                continue

    # lookup ----------------------------------------------------------------
    def resolve(self, ref: str) -> str:
        """Full id, name or unique id prefix -> full id (docker's order)."""
        ids = self.ids()
        if ref in ids:
            return ref
        name = ref.lstrip("/")
        for cid, n in self.names():
            if n == name:
                return cid
        matches = [i for i in ids if ref and i.startswith(ref)]
        if len(matches) == 1:
            return matches[0]
        if len(matches) > 1:
            raise AmbiguousId(f"multiple IDs found with provided prefix: {ref}")
        raise ContainerNotFound(f"No such container: {ref}")

    # creation / removal ----------------------------------------------------
    def create(self, cid: str, config: dict[str, Any]) -> None:
        """Claim the name and write the record, atomically w.r.t. other creates.
        (No state.json yet: a container without one is "created".)"""
        name = config["Name"].lstrip("/")
        with fsutil.FileLock(self.lock_path):
            for other, n in self.names():
                if n == name:
                    raise NameConflict(
                        f'Conflict. The container name "/{name}" is already in use by container '
                        f'"{other}". You have to remove (or rename) that container to be able to reuse that name.'
                    )
            tmp = self.path("." + cid)
            os.makedirs(tmp, mode=0o710)
            try:
                for d in ("rootfs", "diff", "work"):
                    os.mkdir(os.path.join(tmp, d), 0o755)
                fsutil.atomic_write_json(os.path.join(tmp, "config.json"), config)
                os.rename(tmp, self.path(cid))
            except BaseException:
                fsutil.remove_tree_quietly(tmp)
                raise

    def delete(self, cid: str) -> None:
        """Remove the directory: renamed first, so the container is gone for every
        reader at once and a crash never leaves half of one visible; the files
        are then deleted off the caller's clock (see _reap)."""
        with fsutil.FileLock(self.lock_path):
            src = self.path(cid)
            if not os.path.isdir(src):
                return
            doomed = self.path(".rm-" + cid)
            os.rename(src, doomed)
        _reap(doomed)

    def lock_path_of(self, cid: str) -> str:
        return os.path.join(self.locks, f"{cid}.lock")

    def lock(self, cid: str):  # -> contextmanager
        """Per-container lock serialising start/stop/remove of one container."""
        return fsutil.FileLock(self.lock_path_of(cid))

    def try_lock(self, cid: str):  # -> contextmanager yielding bool
        return fsutil.try_locked(self.lock_path_of(cid))

    def drop_lock_file(self, cid: str) -> None:
        try:
            os.unlink(self.lock_path_of(cid))
        except FileNotFoundError:
            pass
