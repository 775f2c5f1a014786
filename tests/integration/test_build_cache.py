"""The build cache follows docker's classic rules: content not mtimes, first miss busts the rest."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from tests.integration.test_build import cached_steps, do_build, run, write_context

pytestmark = [pytest.mark.root, pytest.mark.skipif(os.geteuid() != 0, reason="needs root")]

DOCKERFILE = """\
FROM busybox
COPY a.txt /a.txt
RUN cat /a.txt > /copy
COPY b.txt /b.txt
ARG V=1
RUN echo $V > /v
LABEL last=step
"""
ALL = [2, 3, 4, 5, 6, 7]


def test_cache_rules(engine: Any, busybox: str, tmp_path: Path) -> None:
    ctx = write_context(tmp_path, {"a.txt": "a1\n", "b.txt": "b1\n"})
    first = do_build(engine, ctx, DOCKERFILE, tag="cached")
    assert cached_steps(first) == []

    again = do_build(engine, ctx, DOCKERFILE, tag="cached")
    assert cached_steps(again) == ALL and again.image.id == first.image.id

    os.utime(ctx / "a.txt", (1, 1))  # only the mtime changes
    assert cached_steps(do_build(engine, ctx, DOCKERFILE)) == ALL

    (ctx / "b.txt").write_text("b2\n")  # content changes: from that COPY on
    changed = do_build(engine, ctx, DOCKERFILE, tag="cached")
    assert cached_steps(changed) == [2, 3] and changed.image.id != first.image.id
    assert run(engine, "cached", ["cat", "/b.txt", "/v"]) == "b2\n1\n"

    os.chmod(ctx / "b.txt", 0o600)  # metadata is part of the key too
    assert cached_steps(do_build(engine, ctx, DOCKERFILE)) == [2, 3]

    # a build arg invalidates from its first use (ARG's own line keeps its default: cached);
    # every RUN after the ARG uses it implicitly, as docker documents
    with_arg = do_build(engine, ctx, DOCKERFILE, tag="cached", buildargs={"V": "2"})
    assert cached_steps(with_arg) == [2, 3, 4, 5]
    assert run(engine, "cached", ["cat", "/v"]) == "2\n"
    assert cached_steps(do_build(engine, ctx, DOCKERFILE, buildargs={"V": "2"})) == ALL

    assert cached_steps(do_build(engine, ctx, DOCKERFILE, nocache=True)) == []


def test_cache_is_per_stage_and_survives_removed_images(engine: Any, busybox: str, tmp_path: Path) -> None:
    ctx = write_context(tmp_path, {"a.txt": "a\n", "b.txt": "b\n"})
    two = "FROM busybox AS one\nRUN echo $RANDOM > /r\nFROM busybox\nCOPY a.txt /\nRUN echo two > /t\n"
    do_build(engine, ctx, two)
    # a change in the first stage does not bust the second (FROM starts probing again)
    changed = do_build(engine, ctx, two.replace("$RANDOM", "changed"))
    assert cached_steps(changed) == [4, 5]

    result = do_build(engine, ctx, "FROM busybox\nRUN echo gone > /g\n", tag="gone")
    engine.image_store.remove("gone")
    assert cached_steps(do_build(engine, ctx, "FROM busybox\nRUN echo gone > /g\n")) == []
    assert result.image.id
