"""The library entry point: ``build(engine, path=..., tag=...)``, shaped like the Docker SDK's.

Prepares the context (a directory, a tar stream, or nothing when only a
Dockerfile is given), reads the Dockerfile, runs the :class:`Builder`
and returns the image with the log as docker-py gives it (a list of
``{"stream": text}`` chunks). ``log`` receives the same text as it is
produced, which is how the CLI streams it.
"""
from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from typing import IO, Any

from pyns.build.builder import WORK_DIR, Builder, BuildRequest
from pyns.build.context import BuildContext
from pyns.errors import BuildError
from pyns.fsutil import sweep_temp
from pyns.images.image import Image
from pyns.records import field, record

DEFAULT_DOCKERFILE = "Dockerfile"


@record
class BuildResult:
    image: Image
    logs: list[dict[str, str]] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "".join(chunk.get("stream", "") for chunk in self.logs)


def _tags(tag: str | Sequence[str] | None) -> list[str]:
    if tag is None:
        return []
    return [tag] if isinstance(tag, str) else list(tag)


def open_context(engine: Any, path: str | None, fileobj: IO[bytes] | None, custom_context: bool) -> BuildContext:
    """The build context for the SDK's (path, fileobj, custom_context) combinations."""
    work = os.path.join(engine.image_store.root, WORK_DIR)
    sweep_temp(work)  # context copies and downloads of builds that crashed
    if fileobj is not None and custom_context:
        return BuildContext.from_tar(fileobj, work)
    if path is None:
        return BuildContext.empty(work)
    if not os.path.isdir(path):
        raise BuildError(f'unable to prepare context: path "{path}" not found')
    return BuildContext(path)


def read_dockerfile(context: BuildContext, dockerfile: str | None) -> tuple[str, str]:
    """(text, name for error messages) of the Dockerfile: absolute, or relative to the context."""
    name = dockerfile or DEFAULT_DOCKERFILE
    candidates = [name] if os.path.isabs(name) else [os.path.join(context.root, name)]
    if dockerfile is None:
        candidates.append(os.path.join(context.root, DEFAULT_DOCKERFILE.lower()))
    for candidate in candidates:
        if os.path.isfile(candidate):
            with open(candidate, encoding="utf-8", errors="surrogateescape") as f:
                return f.read(), os.path.basename(candidate)
    raise BuildError(f"Cannot locate specified Dockerfile: {name}")


def build(engine: Any, path: str | None = None, tag: str | Sequence[str] | None = None,
          dockerfile: str | None = None, buildargs: Mapping[str, str | None] | None = None,
          nocache: bool = False, pull: bool = False, target: str | None = None,
          fileobj: IO[bytes] | None = None, custom_context: bool = False, quiet: bool = False,
          network_mode: str | None = None, labels: Mapping[str, str] | None = None,
          dockerfile_text: str | None = None, log: Callable[[str], None] | None = None) -> BuildResult:
    """Build an image like ``docker build``; returns it and the build log.

    ``path`` is the context directory; or ``fileobj`` is a tar context
    (``custom_context=True``) or a Dockerfile. ``dockerfile`` names the
    Dockerfile (relative to the context, or absolute); ``dockerfile_text``
    gives its content directly. ``tag`` is one reference or several.
    Raises BuildError (with ``Dockerfile:LINE:`` in front when a step
    fails; ``exit_code`` is a failed RUN's code).
    """
    logs: list[dict[str, str]] = []

    def emit(text: str) -> None:
        if quiet:
            return
        logs.append({"stream": text})
        if log is not None:
            log(text)

    with open_context(engine, path, fileobj, custom_context) as context:
        if dockerfile_text is not None:
            text, name = dockerfile_text, os.path.basename(dockerfile or DEFAULT_DOCKERFILE)
        elif fileobj is not None and not custom_context:
            text, name = fileobj.read().decode("utf-8", "surrogateescape"), DEFAULT_DOCKERFILE
        else:
            text, name = read_dockerfile(context, dockerfile)
        request = BuildRequest(text, context, name, _tags(tag), dict(buildargs or {}), nocache, pull, target,
                               network_mode or "default", dict(labels or {}))
        image = Builder(engine, emit).build(request)
    return BuildResult(image, logs)
