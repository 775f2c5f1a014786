"""Committing steps: layer tar -> registered layer -> image, and the cache in front of it.

Every step ends as an ordinary image in the store (parent = the previous
step's image), exactly like docker's intermediate images; that is what
lets a later build reuse it. The cache is probed before a step runs; the
first miss in a stage stops probing for the rest of that stage (docker's
``cacheBusted``), and FROM starts probing again.
"""
from __future__ import annotations

import os
import tempfile
from datetime import UTC, datetime
from typing import Any, BinaryIO, cast

from pyns.build.cache import BuildCache
from pyns.build.layertar import LayerWriter, Meta, ParentLookup
from pyns.build.rootfs import LayeredFS
from pyns.build.state import StageState, child_config
from pyns.formatting import rfc3339_nano
from pyns.images.image import Image
from pyns.images.store import ImageStore


class PendingLayer:
    """A layer tar being written to an unlinked temp file."""

    def __init__(self, work_dir: str, existing: ParentLookup, default_dir: Meta) -> None:
        self.file = cast(BinaryIO, tempfile.TemporaryFile(dir=work_dir))  # noqa: SIM115 - lives until commit
        self.writer = LayerWriter(self.file, existing, default_dir)

    def finish(self) -> BinaryIO | None:
        """The tar, rewound; None when nothing was written (an empty layer)."""
        self.writer.close()
        if not self.writer.entries:
            return None
        self.file.seek(0)
        return self.file

    def close(self) -> None:
        self.file.close()


def existing_dirs(fs: LayeredFS) -> ParentLookup:
    """How a layer writer learns the metadata of directories the image already has."""

    def lookup(path: str) -> Meta | None:
        entry = fs.lstat(path)
        return Meta.of(entry.st) if entry is not None and entry.is_dir else None

    return lookup


def now_rfc3339() -> str:
    return rfc3339_nano(datetime.now(UTC))


class Committer:
    def __init__(self, store: ImageStore, cache: BuildCache, use_cache: bool, work_dir: str) -> None:
        self.store = store
        self.cache = cache
        self.use_cache = use_cache
        self.busted = not use_cache
        self.work_dir = work_dir
        os.makedirs(work_dir, exist_ok=True)

    def reset(self) -> None:
        """A new stage: probe the cache again (docker resets its prober on FROM)."""
        self.busted = not self.use_cache

    def adopt(self, state: StageState, image: Image) -> None:
        layers = [self.store.layers.get(c) for c in image.chain_ids]
        state.adopt(image, layers, self.store.layer_dirs(image))

    def probe(self, state: StageState, key: str) -> bool:
        """Continue from the cached result of this step if there is one."""
        if self.busted:
            return False
        cached = self.cache.get(state.image_id, key)
        if cached is not None and self.store.exists(cached):
            self.adopt(state, self.store.get(cached))
            return True
        self.busted = True
        return False

    def pending(self, state: StageState, fs: LayeredFS, default_dir: Meta) -> PendingLayer:
        return PendingLayer(self.work_dir, existing_dirs(fs), default_dir)

    def bare_image(self, state: StageState) -> str:
        """An image of the stage's config as it stands (no new history), e.g. scratch for a RUN."""
        with self.store.lease():
            return self.store.create_image({**state.config, "created": now_rfc3339()}, state.layers).id

    def commit(self, state: StageState, run_config: dict[str, Any], created_by: str, key: str,
               layer: PendingLayer | None = None) -> Image:
        """Store the step's image (with its layer, if it changed files) and cache it."""
        created = now_rfc3339()
        tar = layer.finish() if layer is not None else None
        try:
            with self.store.lease():
                registered = self.store.layers.register(tar, parent=state.chain_id) if tar is not None else None
                config = child_config(state.config, run_config, created, created_by,
                                      registered.diff_id if registered is not None else None)
                layers = state.layers + ([registered] if registered is not None else [])
                image = self.store.create_image(config, layers, parent=state.image_id)
        finally:
            if layer is not None:
                layer.close()
        self.cache.put(state.image_id, key, image.id)
        self.adopt(state, image)
        return image
