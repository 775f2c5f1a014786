"""Unpacked layers, shared by every image that uses them.

``<root>/layers/<chain-id hex>/`` holds ``diff/`` (the extracted tree, in
overlayfs form so it can be a ``lowerdir`` as is) and ``layer.json``
(diff_id, parent chain id, size, created, and the blobs in the content
store that hold this layer's tarball, which push and save send as is). A layer is built in a private
``.tmp-*`` directory and published with a single ``rename``: readers never
see half a layer, a crash leaves only a temp dir that :meth:`LayerStore.sweep`
removes, and when two processes register the same layer the loser of the
rename race simply discards its copy.
"""
from __future__ import annotations

import errno
import os
from datetime import datetime, timezone
from collections.abc import Sequence

from pyns.errors import LayerError, NotFound
from pyns.images import digest as dg
from pyns.fsutil import (FileLock, atomic_write_json, make_temp_dir, read_json, remove_tree,
                         remove_tree_atomically, sweep_temp)
from pyns.formatting import parse_rfc3339, rfc3339_nano
from pyns.images.links import LayerLinks
from pyns.records import field, record

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (see pyns/__init__.py)
if TYPE_CHECKING:
    from typing import Any, BinaryIO
    from pyns.images.content import BlobWriter, ContentStore

METADATA = "layer.json"
DIFF = "diff"


@record(frozen=True)
class LayerBlob:
    """A stored (usually compressed) tarball of a layer, and where registries already have it.

    ``sources`` are repositories (``host/path``) known to hold the blob, so
    a push to the same registry can mount it instead of uploading it.
    """

    digest: str
    size: int
    compression: str
    sources: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"digest": self.digest, "size": self.size, "compression": self.compression,
                "sources": list(self.sources)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "LayerBlob":
        return cls(str(data["digest"]), int(data["size"]), str(data.get("compression", "none")),
                   tuple(str(s) for s in data.get("sources") or ()))


@record(frozen=True)
class Layer:
    """One unpacked layer. ``parent`` is the chain id of the layer below, if any.

    ``diff_size`` is the length of the uncompressed tarball (0 if unknown,
    for layers stored before it was recorded).
    """

    chain_id: str
    diff_id: str
    parent: str | None
    size: int
    created: datetime
    path: str
    diff_size: int = 0
    blobs: tuple[LayerBlob, ...] = ()

    @property
    def diff_dir(self) -> str:
        """The unpacked tree; usable directly as an overlayfs lowerdir."""
        return os.path.join(self.path, DIFF)


@record
class PendingLayer:
    """A layer unpacked into a private temp dir, not yet published under its chain id.

    Pulls unpack several layers concurrently and publish them bottom-up;
    this is the state in between.
    """

    work: str
    diff_id: str
    size: int
    diff_size: int
    blobs: list[LayerBlob] = field(default_factory=list)


class _Tee:
    """A reader that copies everything it reads into a :class:`BlobWriter`."""

    def __init__(self, stream: BinaryIO, sink: "BlobWriter") -> None:
        self._stream = stream
        self._sink = sink

    def read(self, n: int = -1) -> bytes:
        data = self._stream.read(n)
        if data:
            self._sink.write(data)
        return data

    def readable(self) -> bool:
        return True


def drain(stream: Any, chunk: int = 1 << 20) -> None:
    """Read a stream to EOF (trailing padding must reach the hash too)."""
    while stream.read(chunk):
        pass


class LayerStore:
    """Content-addressed store of unpacked layers under ``<root>/layers``.

    Layers are named by chain id, so the same diff on the same parents is
    unpacked once and shared. Which layers are still needed is decided by
    the image store; this class only adds and deletes them.
    """

    def __init__(self, root: str, content: "ContentStore | None" = None) -> None:
        self.root = os.path.join(os.path.abspath(root), "layers")
        os.makedirs(self.root, exist_ok=True)
        self.gc_lock_path = os.path.join(self.root, ".gc.lock")
        self.content = content
        self.links = LayerLinks(root, self.root)

    def _meta_lock(self) -> FileLock:
        """Serialises updates of existing layer.json files (blob records); a leaf lock."""
        return FileLock(os.path.join(self.root, ".meta.lock"))

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
                     size=int(meta.get("size", 0)), created=parse_rfc3339(meta["created"]), path=path,
                     diff_size=int(meta.get("diff_size", 0)),
                     blobs=tuple(LayerBlob.from_dict(b) for b in meta.get("blobs") or ()))

    def short_path(self, layer: Layer) -> str:
        """The layer's tree through its short ``l/`` link (see links.py)."""
        return self.links.path(layer.chain_id, layer.diff_dir)

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
        otherwise the computed diff_id must match it. With a content store,
        the tarball is kept as given so that push and save can send it.
        """
        if parent is not None and not self.has(parent):
            raise LayerError(f"parent layer {parent} does not exist")
        if diff_id is not None:
            known = dg.chain_id(parent, diff_id)
            if self.has(known):
                return self.get(known)
        if self.content is None:
            pending = self.unpack(stream, diff_id)
        else:
            with self.content.writer() as blob:
                head = _Head(_Tee(stream, blob))
                pending = self.unpack(head, diff_id)  # type: ignore[arg-type]
                try:
                    drain(head)
                    digest = blob.commit()
                except BaseException:
                    self.discard(pending)
                    raise
            from pyns.images.compression import detect  # here: only adding layers needs it

            pending.blobs.append(LayerBlob(digest, blob.size, detect(head.head)))
        return self.publish(pending, parent)

    def unpack(self, stream: BinaryIO, diff_id: str | None = None) -> PendingLayer:
        """Decompress, hash and extract ``stream`` into a private temp dir.

        Nothing is visible under a chain id until :meth:`publish`; on any
        error the temp dir is gone. ``diff_id``, when given, must match.
        """
        work = make_temp_dir(self.root, "layer")
        try:
            diff_dir = os.path.join(work, DIFF)
            os.mkdir(diff_dir, 0o755)
            os.chmod(diff_dir, 0o755)
            from pyns.images.compression import decompressed

            reader = dg.HashingReader(decompressed(stream))
            from pyns.images.unpack import unpack  # only when unpacking: not on a container's start

            result = unpack(reader, diff_dir)  # type: ignore[arg-type]
            reader.drain()  # tar padding after the end marker is part of the diff_id
            actual = reader.digest
            if diff_id is not None and actual != diff_id:
                raise LayerError(f"layer diff_id mismatch: expected {diff_id}, got {actual}")
            pending = PendingLayer(work, actual, result.size, reader.size)
            work = ""
            return pending
        finally:
            if work:
                remove_tree(work)

    def discard(self, pending: PendingLayer) -> None:
        """Forget an unpacked layer that will not be published."""
        remove_tree(pending.work)

    def publish(self, pending: PendingLayer, parent: str | None) -> Layer:
        """Give an unpacked layer its chain id on top of ``parent``; returns the stored layer.

        If another process published the same layer first, ours is dropped
        and its blob records are merged into the existing layer.
        """
        if parent is not None and not self.has(parent):
            self.discard(pending)
            raise LayerError(f"parent layer {parent} does not exist")
        chain = dg.chain_id(parent, pending.diff_id)
        try:
            atomic_write_json(os.path.join(pending.work, METADATA), {
                "chain_id": chain, "diff_id": pending.diff_id, "parent": parent, "size": pending.size,
                "diff_size": pending.diff_size, "created": rfc3339_nano(datetime.now(timezone.utc)),
                "blobs": [b.to_dict() for b in pending.blobs],
            })
            published = self._publish(pending.work, chain)
        finally:
            if os.path.isdir(pending.work):
                self.discard(pending)
        if not published and pending.blobs:
            self.add_blobs(chain, pending.blobs)
        layer = self.get(chain)
        self.short_path(layer)  # the l/ link exists from the start (layer_dirs recreates lost ones)
        return layer

    def add_blobs(self, chain_id: str, blobs: Sequence[LayerBlob]) -> Layer:
        """Record more tarballs (or more source repositories) for an existing layer."""
        with self._meta_lock():
            path = os.path.join(self._dir(chain_id), METADATA)
            try:
                meta = read_json(path)
            except FileNotFoundError:
                raise NotFound(f"layer {chain_id} does not exist") from None
            records = {b["digest"]: LayerBlob.from_dict(b) for b in meta.get("blobs") or ()}
            for blob in blobs:
                old = records.get(blob.digest)
                sources = tuple(dict.fromkeys((*(old.sources if old else ()), *blob.sources)))
                records[blob.digest] = LayerBlob(blob.digest, blob.size, blob.compression, sources)
            meta["blobs"] = [b.to_dict() for b in records.values()]
            atomic_write_json(path, meta)
        return self.get(chain_id)

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
        """Remove a layer and its short link; False if it was not there. Callers check it is unused.

        The layer's blobs stay: other layers may share them (the caller
        decides, see ImageStore).
        """
        from pyns.images import remapped

        self.links.remove(chain_id)
        remapped.remove_copies(os.path.dirname(self.root), dg.split(chain_id))
        return remove_tree_atomically(self._dir(chain_id))

    def sweep(self) -> None:
        """Remove temp and half-deleted directories of crashed processes."""
        sweep_temp(self.root)


class _Head:
    """Remembers the first bytes read through it, to name the blob's compression."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream
        self.head = b""

    def read(self, n: int = -1) -> bytes:
        data = self._stream.read(n)
        if len(self.head) < 8:
            self.head += data[:8 - len(self.head)]
        return data

    def readable(self) -> bool:
        return True
