"""Bad Dockerfiles and contexts: clear errors with line numbers, and nothing left behind."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from pyns.errors import BuildError
from tests.integration.test_build import do_build, write_context

pytestmark = [pytest.mark.root, pytest.mark.skipif(os.geteuid() != 0, reason="needs root")]


def images_and_containers(engine: Any) -> tuple[set[str], list[Any]]:
    return {i.id for i in engine.image_store.list()}, engine.containers.list(all=True)


@pytest.mark.parametrize("dockerfile, message", [
    ("FROM busybox\nRUN true\nRUNN x\n", "Dockerfile:3: unknown instruction: RUNN"),
    ("LABEL a=b\nFROM busybox\n", "Dockerfile:1: no build stage in current context"),
    ('FROM busybox\nENTRYPOINT ["sh", 2]\n', "Dockerfile:2: when using JSON array syntax"),
    ("FROM busybox\nCOPY missing.txt /\n", ("Dockerfile:2: COPY failed: file not found in build context or "
                                            "excluded by .dockerignore: stat missing.txt: file does not exist")),
    ("FROM busybox\nCOPY *.nothing /\n", "Dockerfile:2: COPY failed: no source files were specified"),
    ("FROM busybox\nCOPY ../outside /x\n", "Dockerfile:2: forbidden path outside the build context: ../outside"),
    ("FROM busybox\nCOPY a.txt b.txt /dest\n", ("Dockerfile:2: When using COPY with more than one source file, "
                                                "the destination must be a directory and end with a /")),
    ("FROM busybox\nCOPY --chown=nobody:nosuchgroup a.txt /\n", "Dockerfile:2: unable to convert uid/gid chown"),
    ("FROM no-such-image:1\n", "Dockerfile:1: No such image: no-such-image:1"),
    ("FROM busybox\nCOPY --from=later /x /x\nFROM busybox AS later\n",
     "Dockerfile:2: invalid from flag value later: refers to current or future build stage"),
    ("FROM busybox\nWORKDIR /etc/passwd/sub\n", "Dockerfile:2: mkdir /etc/passwd: not a directory"),
    ("FROM busybox\nRUN exit 3\n", "Dockerfile:2: The command '/bin/sh -c exit 3' returned a non-zero code: 3"),
    ('FROM busybox\nRUN ["/nonexistent"]\n', "Dockerfile:2: exec: \"/nonexistent\""),
])
def test_errors_leave_nothing_behind(engine: Any, busybox: str, tmp_path: Path, dockerfile: str,
                                     message: str) -> None:
    ctx = write_context(tmp_path / "ctx", {"a.txt": "a", "b.txt": "b"})
    (tmp_path / "outside").write_text("secret")
    before = images_and_containers(engine)
    with pytest.raises(BuildError) as info:
        do_build(engine, ctx, dockerfile, tag="never")
    assert str(info.value).startswith(message), str(info.value)
    assert not engine.image_store.exists("never")
    images, containers = images_and_containers(engine)
    assert containers == [] and images <= before[0] | _step_images(engine)
    work = os.path.join(engine.root, "build")
    assert not os.path.isdir(work) or os.listdir(work) == []  # no context copies or downloads left


def _step_images(engine: Any) -> set[str]:
    """Images of steps that succeeded before the failure stay, as cache (docker keeps them too)."""
    return {i.id for i in engine.image_store.list() if not i.repo_tags}


def test_failing_run_exit_code_and_output(engine: Any, busybox: str, tmp_path: Path) -> None:
    seen: list[str] = []
    with pytest.raises(BuildError) as info:
        from pyns.build.api import build

        build(engine, path=str(tmp_path), dockerfile_text="FROM busybox\nRUN echo out; echo err >&2; exit 42\n",
              log=seen.append)
    assert info.value.exit_code == 42
    assert "out\n" in "".join(seen) and "err\n" in "".join(seen)
    assert engine.containers.list(all=True) == []


def test_missing_context_and_dockerfile(engine: Any, tmp_path: Path) -> None:
    from pyns.build.api import build

    with pytest.raises(BuildError, match='unable to prepare context: path ".*nope" not found'):
        build(engine, path=str(tmp_path / "nope"))
    with pytest.raises(BuildError, match="Cannot locate specified Dockerfile: Dockerfile"):
        build(engine, path=str(tmp_path))
    with pytest.raises(BuildError, match="failed to reach build target x"):
        build(engine, path=str(tmp_path), dockerfile_text="FROM scratch\n", target="x")
    with pytest.raises(BuildError, match="No image was generated"):
        build(engine, path=str(tmp_path), dockerfile_text="FROM scratch\n")
