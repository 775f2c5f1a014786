"""The physical floor: what any runtime must at least pay to start a command.

A bare clone with the container's namespaces, an execve of the same
binary, and a wait: no cgroup, no root filesystem (the host's tree as is,
which the C side recognises and leaves alone), no store. The engine's own
spawn does it, so the floor and pyns differ only by what pyns adds.

To run the very binary the container runs, the command is looked up in
the image's layers (symlinks followed inside the image) and executed by
its path there; a multi-call binary behind an applet link (busybox) is
called as ``busybox APPLET ...``.
"""
from __future__ import annotations

import os
import posixpath

from pyns.bench.events import from_native
from pyns.runtime import defaults, native
from pyns.runtime.plan import build_plan
from pyns.runtime.spec import Process, Root, Spec

_MAX_LINKS = 40


def _in_layers(layers: list[str], path: str) -> str | None:
    """The host path of an image path in the topmost layer that has it (a whiteout hides it)."""
    for layer in reversed(layers):
        host = layer + path
        if os.path.lexists(host):
            st = os.lstat(host)
            if os.major(st.st_rdev) == 0 and os.minor(st.st_rdev) == 0 and (st.st_mode & 0o170000) == 0o020000:
                return None  # overlay whiteout
            return host
    return None


def resolve_in_image(layers: list[str], path: str) -> str | None:
    """The host path of the file an absolute image path names, symlinks resolved inside the image."""
    path = posixpath.normpath(path)
    for _ in range(_MAX_LINKS):
        parts = [p for p in path.split("/") if p]
        cur, restart = "", None
        for i, part in enumerate(parts):
            cand = f"{cur}/{part}"
            host = _in_layers(layers, cand)
            if host is None:
                return None
            if os.path.islink(host):
                target = os.readlink(host)
                base = target if target.startswith("/") else posixpath.join(cur or "/", target)
                restart = posixpath.normpath(posixpath.join(base, *parts[i + 1:]))
                break
            cur = cand
        if restart is None:
            return _in_layers(layers, cur or "/")
        path = restart
    return None


def floor_argv(layers: list[str], argv: list[str], path_env: str = defaults.DEFAULT_PATH) -> list[str] | None:
    """argv that runs the image's binary for argv[0] from the host's tree, or None if not found."""
    candidates = [argv[0]] if "/" in argv[0] else [posixpath.join(d, argv[0]) for d in path_env.split(":") if d]
    for cand in candidates:
        host = resolve_in_image(layers, cand)
        if host and os.path.isfile(host) and os.access(host, os.X_OK):
            name = posixpath.basename(argv[0])
            if os.path.basename(host) != name:
                return [host, name, *argv[1:]]  # a multi-call binary: `busybox true`
            return [host, *argv[1:]]
    return None


class Floor:
    """One prepared bare spawn, run many times."""

    def __init__(self, argv: list[str], namespaces: frozenset[str]) -> None:
        spec = Spec(process=Process(args=argv, env=[f"PATH={defaults.DEFAULT_PATH}"]),
                    root=Root(path="/", pivot=False), namespaces=namespaces, parent_death_signal=0)
        self.argv = argv
        self.plan = native.Plan(build_plan(spec), argv[0])
        self._null = os.open(os.devnull, os.O_RDWR | os.O_CLOEXEC)

    def run(self) -> dict[str, int]:
        """Spawn, wait; the trace (begin, the C side's instants, exit)."""
        begin = native.monotonic_ns()
        res = self.plan.spawn(self._null, self._null, self._null)
        os.waitpid(res.pid, 0)
        end = native.monotonic_ns()
        return {"begin": begin, **from_native(res.timestamps), "exit": end}

    def close(self) -> None:
        if self._null >= 0:
            os.close(self._null)
            self._null = -1
