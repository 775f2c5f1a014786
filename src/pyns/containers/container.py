"""Container and ContainerCollection: the Docker-SDK-shaped library face."""
from __future__ import annotations

import os
from collections import namedtuple

from pyns.containers import logs as logs_mod
from pyns.containers.manager import ContainerManager
from pyns.errors import ContainerError

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (see pyns/__init__.py)
if TYPE_CHECKING:
    from typing import Any, Iterator


class Container:
    """A container, like docker.models.containers.Container."""

    def __init__(self, manager: ContainerManager, cid: str) -> None:
        self._m = manager
        self.id = cid
        self._attrs: dict[str, Any] | None = None

    @property
    def attrs(self) -> dict[str, Any]:
        """docker inspect's dict; read on first use and after each state change."""
        if self._attrs is None:
            self._attrs = self._m.inspect(self.id)
        return self._attrs

    def __repr__(self) -> str:
        return f"<Container: {self.short_id}>"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Container) and other.id == self.id

    def __hash__(self) -> int:
        return hash(self.id)

    @property
    def short_id(self) -> str:
        return self.id[:12]

    @property
    def name(self) -> str:
        return self.attrs["Name"].lstrip("/")

    @property
    def status(self) -> str:
        return self.attrs["State"]["Status"]

    @property
    def labels(self) -> dict[str, str]:
        return self.attrs["Config"].get("Labels") or {}

    @property
    def image(self) -> Any:
        return self._m.images.get(self.attrs["Image"])

    def reload(self) -> None:
        self._attrs = self._m.inspect(self.id)

    def start(self) -> None:
        self._m.start(self.id)
        self._attrs = None

    def stop(self, timeout: int | None = None) -> None:
        self._m.stop(self.id, timeout)
        self._attrs = None

    def kill(self, signal: int | str | None = None) -> None:
        self._m.kill(self.id, signal)
        self._attrs = None

    def restart(self, timeout: int | None = None) -> None:
        self._m.restart(self.id, timeout)
        self._attrs = None

    def wait(self, timeout: float | None = None) -> dict[str, Any]:
        """Block until the container stops; docker's {"StatusCode": n, "Error": ...}."""
        if not self._m.wait_stopped(self.id, timeout):
            raise TimeoutError(f"container {self.short_id} still running after {timeout}s")
        state = self._m.observe(self.id)
        return {"StatusCode": state["ExitCode"], "Error": {"Message": state["Error"]} if state["Error"] else None}

    def logs(self, stdout: bool = True, stderr: bool = True, stream: bool = False,
             timestamps: bool = False, tail: int | str = "all", follow: bool | None = None) -> Any:
        """Output as bytes, or an iterator of chunks with stream=True (follow then defaults on)."""
        n = None if tail == "all" else int(tail)
        path = self._m.store.log_path(self.id)
        follow = stream if follow is None else follow

        def chunks() -> Iterator[bytes]:
            src = (logs_mod.follow(path, n, lambda: self._m.is_running(self.id)) if follow
                   else iter(logs_mod.read_entries(path, n)))
            for e in src:
                if (e.stream == "stdout" and stdout) or (e.stream == "stderr" and stderr):
                    yield (e.time.encode() + b" " + e.data) if timestamps else e.data

        return chunks() if stream else b"".join(chunks())

    def remove(self, v: bool = False, force: bool = False) -> None:
        self._m.remove(self.id, force=force, volumes=v)

    def exec_run(self, cmd: str | list[str], stdout: bool = True, stderr: bool = True, stdin: bool = False,
                 user: str = "", detach: bool = False, environment: Any = None, workdir: str | None = None,
                 demux: bool = False) -> "ExecResult":
        """Docker SDK's exec_run: (exit_code, output); output is stdout+stderr
        (or a (stdout, stderr) tuple with demux=True); (None, None) when detached."""
        import shlex

        argv = shlex.split(cmd) if isinstance(cmd, str) else list(cmd)
        env = [f"{k}={v}" for k, v in environment.items()] if isinstance(environment, dict) else list(environment or [])
        if detach:
            self._m.exec_run(self.id, argv, user or None, workdir, env, detach=True)
            return ExecResult(None, None)
        out_f = os.memfd_create("exec-out", os.MFD_CLOEXEC)
        err_f = os.memfd_create("exec-err", os.MFD_CLOEXEC) if demux else out_f
        try:
            code = self._m.exec_run(self.id, argv, user or None, workdir, env,
                                    tee_out=out_f if stdout else -1, tee_err=err_f if stderr else -1)
            out = _read_all(out_f)
            err = _read_all(err_f) if demux else b""
        finally:
            os.close(out_f)
            if demux:
                os.close(err_f)
        if demux:
            return ExecResult(code, (out if stdout else None, err if stderr else None))
        return ExecResult(code, out)

    def top(self, ps_args: str | None = None) -> dict[str, Any]:
        return self._m.top(self.id, ps_args or "-ef")


#: exec_run's result, a tuple as in the Docker SDK: (exit_code, output).
#: collections.namedtuple, not typing.NamedTuple: ~1 ms less per CLI start.
ExecResult = namedtuple("ExecResult", "exit_code,output")


def _read_all(fd: int) -> bytes:
    os.lseek(fd, 0, os.SEEK_SET)
    chunks = []
    while chunk := os.read(fd, 1 << 16):
        chunks.append(chunk)
    return b"".join(chunks)


class ContainerCollection:
    """engine.containers, like docker.models.containers.ContainerCollection."""

    def __init__(self, manager: ContainerManager, pull: Any = None) -> None:
        self._m = manager
        self._pull = pull  # engine.images.pull, for run() of a missing image

    def create(self, image: str, command: Any = None, **kwargs: Any) -> Container:
        kwargs.pop("detach", None)
        return Container(self._m, self._m.create(image, command, **kwargs))

    def get(self, container_id: str) -> Container:
        c = Container(self._m, self._m.store.resolve(container_id))
        c.reload()  # docker's get() inspects; it also proves the container is still there
        return c

    def list(self, all: bool = False) -> list[Container]:
        out = []
        for cid in self._m.list(all=all):
            try:
                out.append(Container(self._m, cid))
            except Exception:  # removed while listing
                continue
        return out

    def run(self, image: str, command: Any = None, stdout: bool = True, stderr: bool = False,
            remove: bool = False, detach: bool = False, **kwargs: Any) -> Any:
        """Start a container. Detached: returns the Container. Else: waits,
        returns its output (bytes) and raises ContainerError on a non-zero exit."""
        # The Docker SDK's run() pulls an image it does not have (create() does not).
        platform = kwargs.pop("platform", None)
        if self._pull is not None:
            kwargs["pull"] = lambda ref: self._pull(ref, platform=platform)
        if detach:
            kwargs["auto_remove"] = kwargs.get("auto_remove") or remove
            c = self.create(image, command, **kwargs)
            c.start()
            return c
        c = self.create(image, command, **kwargs)
        try:
            info = self._m.run_attached(c.id)
            out = c.logs(stdout=stdout, stderr=stderr)
            err = c.logs(stdout=False, stderr=True) if info.exit_code != 0 else None
            cmd = self._m.command_of(c.id) if info.exit_code != 0 else []
        except BaseException:
            if remove:
                c.remove(force=True)
            raise
        if remove:
            c.remove(force=True)
        if info.exit_code != 0:
            raise ContainerError(c, info.exit_code, " ".join(cmd), image, err)
        return out
