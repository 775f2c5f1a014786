"""Unpacked layers, shared by every image that uses them.

``<root>/layers/<chain-id hex>/`` holds ``diff/`` (the extracted tree, in
overlayfs form so it can be a ``lowerdir`` as is) and ``layer.json``
(diff_id, parent chain id, size, created). A layer is built in a private
``.tmp-*`` directory and published with a single ``rename``: readers never
see half a layer, a crash leaves only a temp dir that :meth:`LayerStore.sweep`
removes, and when two processes register the same layer the loser of the
rename race simply discards its copy.
"""
from __future__ import annotations

import errno
import os
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import BinaryIO

from pyns.errors import LayerError, NotFound
from pyns.images import digest as dg
from pyns.images.compression import decompressed
from pyns.fsutil import (FileLock, atomic_write_json, make_temp_dir, read_json, remove_tree,
                                remove_tree_atomically, sweep_temp)
from pyns.formatting import parse_rfc3339, rfc3339_nano
from pyns.images.unpack import unpack

METADATA = "layer.json"
DIFF = "diff"


@dataclass(frozen=True)
class Layer:
    """One unpacked layer. ``parent`` is the chain id of the layer below, if any."""

    chain_id: str
    diff_id: str
    parent: str | None
    size: int
    created: datetime
    path: str

    @property
    def diff_dir(self) -> str:
        """The unpacked tree; usable directly as an overlayfs lowerdir."""
        return os.path.join(self.path, DIFF)


class LayerStore:
    """Content-addressed store of unpacked layers under ``<root>/layers``.

    Layers are named by chain id, so the same diff on the same parents is
    unpacked once and shared. Which layers are still needed is decided by
    the image store; this class only adds and deletes them.
    """

    def __init__(self, root: str) -> None:
        self.root = os.path.join(os.path.abspath(root), "layers")
        os.makedirs(self.root, exist_ok=True)
        self.gc_lock_path = os.path.join(self.root, ".gc.lock")

    def lease(self) -> FileLock:
        """A shared lock that keeps garbage collection out while held.

        Hold it from registering layers until the image that references
        them is written, or a concurrent ``rmi`` could delete a layer it
        sees as unused in between.
        """
        return FileLock(self.gc_lock_path, shared=True)

    def gc_lock(self) -> FileLock:
        """The exclusive counterpart of :meth:`lease`, for deleting layers."""
        return FileLock(self.gc_lock_path, shared=False)

    def _dir(self, chain_id: str) -> str:
        return os.path.join(self.root, dg.split(chain_id))

    def has(self, chain_id: str) -> bool:
        return os.path.isfile(os.path.join(self._dir(chain_id), METADATA))

    def get(self, chain_id: str) -> Layer:
        """Load a layer's metadata; :class:`~pyns.errors.NotFound` if absent."""
        path = self._dir(chain_id)
        try:
            meta = read_json(os.path.join(path, METADATA))
        except FileNotFoundError:
            raise NotFound(f"layer {chain_id} does not exist") from None
        except (OSError, ValueError) as e:
            raise LayerError(f"layer {chain_id}: unreadable metadata: {e}") from None
        return Layer(chain_id=meta["chain_id"], diff_id=meta["diff_id"], parent=meta.get("parent"),
                     size=int(meta.get("size", 0)), created=parse_rfc3339(meta["created"]), path=path)

    def list(self) -> list[Layer]:
        """Every complete layer (temp and half-deleted dirs are skipped)."""
        layers = []
        for name in sorted(os.listdir(self.root)):
            if dg.is_hex_id(name):
                try:
                    layers.append(self.get(dg.from_hex(name)))
                except (NotFound, LayerError):
                    continue
        return layers

    def register(self, stream: BinaryIO, parent: str | None = None, diff_id: str | None = None) -> Layer:
        """Unpack a (possibly compressed) layer tarball on top of ``parent``.

        The diff_id is the sha256 of the uncompressed tar, hashed while the
        tar is being extracted. When the caller already knows the diff_id
        (from an image config) and the layer exists, nothing is read at all;
        otherwise the computed diff_id must match it.
        """
        if parent is not None and not self.has(parent):
            raise LayerError(f"parent layer {parent} does not exist")
        if diff_id is not None:
            known = dg.chain_id(parent, diff_id)
            if self.has(known):
                return self.get(known)
        work = make_temp_dir(self.root, "layer")
        try:
            diff_dir = os.path.join(work, DIFF)
            os.mkdir(diff_dir, 0o755)
            os.chmod(diff_dir, 0o755)
            reader = dg.HashingReader(decompressed(stream))
            result = unpack(reader, diff_dir)  # type: ignore[arg-type]
            reader.drain()  # tar padding after the end marker is part of the diff_id
            actual = reader.digest
            if diff_id is not None and actual != diff_id:
                raise LayerError(f"layer diff_id mismatch: expected {diff_id}, got {actual}")
            chain = dg.chain_id(parent, actual)
            atomic_write_json(os.path.join(work, METADATA), {
                "chain_id": chain, "diff_id": actual, "parent": parent, "size": result.size,
                "created": rfc3339_nano(datetime.now(timezone.utc)),
            })
            if self._publish(work, chain):
                work = ""
            return self.get(chain)
        finally:
            if work:
                remove_tree(work)

    def _publish(self, work: str, chain_id: str) -> bool:
        """Rename the finished layer into place; False if someone else already did."""
        try:
            os.rename(work, self._dir(chain_id))
            return True
        except OSError as e:
            if e.errno in (errno.ENOTEMPTY, errno.EEXIST) and self.has(chain_id):
                return False
            raise

    def delete(self, chain_id: str) -> bool:
        """Remove a layer; False if it was not there. Callers check it is unused."""
        return remove_tree_atomically(self._dir(chain_id))

    def sweep(self) -> None:
        """Remove temp and half-deleted directories of crashed processes."""
        sweep_temp(self.root)
