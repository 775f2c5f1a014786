"""RUN: execute a command in a real container on top of the current image.

The container is an ordinary pyns container (its overlay upper directory
collects the changes), created with the stage's USER, WORKDIR and ENV plus
the build arguments, the image's ENTRYPOINT ignored, and removed whatever
happens: a failed or interrupted step leaves no container, cgroup or
mount behind. Output is relayed as it comes through ``on_output``.
"""
from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import Any

from pyns.errors import InvalidArgument
from pyns.records import record

DEFAULT_NETWORK = "default"


@record(frozen=True)
class RunRequest:
    image_id: str
    argv: list[str]
    env: list[str]
    workdir: str
    user: str
    network: str
    stdin: bytes | None = None  # a heredoc script fed on stdin


def _create(containers: Any, req: RunRequest, network: str) -> Any:
    """userns host: the step's upper dir becomes a layer as is, so it must hold the
    image's own ids, not an --userns-remap range."""
    return containers.create(req.image_id, req.argv, entrypoint=[], environment=req.env,
                             working_dir=req.workdir or None, user=req.user or None, network_mode=network,
                             userns_mode="host")


def create_container(containers: Any, req: RunRequest) -> Any:
    """docker builds on the bridge network; until this engine offers it, "default" means none."""
    if req.network != DEFAULT_NETWORK:
        return _create(containers, req, req.network)
    try:
        return _create(containers, req, "bridge")
    except InvalidArgument as e:
        if "network mode" not in str(e):
            raise
        return _create(containers, req, "none")


def _relay(fd: int, on_output: Callable[[bytes], None]) -> None:
    with os.fdopen(fd, "rb", buffering=0) as f:
        while chunk := f.read(65536):
            on_output(chunk)


def _stdin_fd(data: bytes | None) -> int:
    if data is None:
        return -1
    fd = os.memfd_create("build-stdin", os.MFD_CLOEXEC)
    os.write(fd, data)
    os.lseek(fd, 0, os.SEEK_SET)
    return fd


def run_in_container(containers: Any, manager: Any, req: RunRequest, on_start: Callable[[str], None],
                     on_output: Callable[[bytes], None], on_exit: Callable[[int, str], None]) -> None:
    """Create, run and remove the step's container.

    ``on_exit(exit_code, upper_dir)`` is called while the container still
    exists, so the caller can turn its upper directory into a layer.
    """
    container = create_container(containers, req)
    try:
        on_start(container.id)
        read_fd, write_fd = os.pipe2(os.O_CLOEXEC)
        relay = threading.Thread(target=_relay, args=(read_fd, on_output), daemon=True)
        relay.start()
        stdin = _stdin_fd(req.stdin)
        try:
            info = manager.run_attached(container.id, stdin=stdin, tee_out=write_fd, tee_err=write_fd)
        finally:
            os.close(write_fd)
            if stdin >= 0:
                os.close(stdin)
            relay.join()
        on_exit(info.exit_code, manager.store.path(container.id, "diff"))
    finally:
        container.remove(force=True)
