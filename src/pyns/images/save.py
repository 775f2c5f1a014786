"""``docker save``: images as one tar, readable by ``docker load`` and by OCI tools.

The archive is the format docker 25+ writes, which is two formats at once:

* an OCI image layout: ``oci-layout``, ``index.json`` (one entry per saved
  tag, named by ``io.containerd.image.name`` and
  ``org.opencontainers.image.ref.name``) and ``blobs/sha256/`` holding OCI
  manifests, configs and uncompressed layer tarballs;
* docker's legacy ``manifest.json`` (Config, RepoTags, Layers paths into
  ``blobs/``) and ``repositories``, which every ``docker load`` reads.

Layers are written uncompressed, as docker does, so each layer's blob
digest is its diff_id; the bytes come from decompressing the stored
tarball and are checked against the diff_id on the way out. The tar is
streamed (``w|``), so ``pyns save busybox | ssh host docker load`` works
without a temp file.
"""
from __future__ import annotations

import io
import json
import tarfile
import time
from collections.abc import Sequence
from typing import BinaryIO

from pyns.errors import InvalidArgument, LayerError
from pyns.images import digest as dg
from pyns.images import mediatypes as mt
from pyns.images.compression import decompressed
from pyns.images.image import Image
from pyns.images.layers import Layer
from pyns.images.manifest import Descriptor, encode, index_document, manifest_document
from pyns.images.reference import Reference, parse
from pyns.images.store import ImageStore
from pyns.records import record

BLOBS = "blobs/sha256/"
CONTAINERD_NAME = "io.containerd.image.name"
OCI_REF_NAME = "org.opencontainers.image.ref.name"


@record
class _Saved:
    image: Image
    tags: list[Reference]


def _select(store: ImageStore, names: Sequence[str]) -> list[_Saved]:
    """Images to save and, per image, the tags to name it by (docker's rules).

    ``repo:tag`` saves that tag; ``repo`` alone saves all of its tags; an id
    saves the image untagged.
    """
    selected: dict[str, _Saved] = {}
    for name in names:
        for image, tags in _named(store, name):
            entry = selected.setdefault(image.id, _Saved(image, []))
            entry.tags += [t for t in tags if t not in entry.tags]
    return list(selected.values())


def _named(store: ImageStore, name: str) -> list[tuple[Image, list[Reference]]]:
    try:
        ref = parse(name)
    except InvalidArgument:
        return [(store.get(name), [])]  # sha256:<id>
    if ref.tag is None and ref.digest is None:
        by_repo: dict[str, tuple[Image, list[Reference]]] = {}
        for image in store.list():
            tags = [t for t in map(parse, image.repo_tags) if t.repository() == ref]
            if tags:
                by_repo[image.id] = (image, tags)
        if by_repo:
            return list(by_repo.values())
    image = store.get(name)
    tagged = ref.with_default_tag()
    return [(image, [tagged] if ref.digest is None and tagged in map(parse, image.repo_tags) else [])]


class _Writer:
    """Adds members to a streaming tar, each blob once."""

    def __init__(self, out: BinaryIO) -> None:
        self.tar = tarfile.open(fileobj=out, mode="w|", format=tarfile.PAX_FORMAT)
        self.written: set[str] = set()
        self.mtime = int(time.time())
        self._dir("blobs")
        self._dir("blobs/sha256")

    def _dir(self, name: str) -> None:
        info = tarfile.TarInfo(name)
        info.type, info.mode, info.mtime = tarfile.DIRTYPE, 0o755, self.mtime
        self.tar.addfile(info)

    def file(self, name: str, data: bytes) -> None:
        self.stream(name, io.BytesIO(data), len(data))

    def stream(self, name: str, src: BinaryIO, size: int) -> None:
        info = tarfile.TarInfo(name)
        info.size, info.mode, info.mtime = size, 0o644, self.mtime
        self.tar.addfile(info, src)

    def blob(self, data: bytes) -> str:
        digest = dg.of_bytes(data)
        if digest not in self.written:
            self.written.add(digest)
            self.file(BLOBS + dg.split(digest), data)
        return digest

    def close(self) -> None:
        self.tar.close()


def _diff_size(store: ImageStore, layer: Layer, blob: str) -> int:
    """The uncompressed tar's length (recorded since pulls/imports record it; else counted)."""
    if layer.diff_size:
        return layer.diff_size
    total = 0
    with store.content.open(blob) as f:
        plain = decompressed(f)
        while chunk := plain.read(1 << 20):
            total += len(chunk)
    return total


def _write_layer(store: ImageStore, writer: _Writer, layer: Layer) -> Descriptor:
    blobs = [b.digest for b in layer.blobs if store.content.has(b.digest)]
    if not blobs:
        raise LayerError(f"layer {layer.diff_id} has no stored tarball to save (pull, load or import it again)")
    size = _diff_size(store, layer, blobs[0])
    if layer.diff_id not in writer.written:
        with store.content.open(blobs[0]) as f:
            reader = dg.VerifyingReader(decompressed(f), layer.diff_id, size)
            writer.stream(BLOBS + dg.split(layer.diff_id), reader, size)  # type: ignore[arg-type]
            if not reader.verified:
                reader.verify()
        writer.written.add(layer.diff_id)
    return Descriptor(mt.OCI_LAYER, layer.diff_id, size)


def save(store: ImageStore, names: Sequence[str], out: BinaryIO) -> None:
    """Write the named images to ``out`` as a docker-save/OCI-layout tar."""
    selected = _select(store, names)
    writer = _Writer(out)
    legacy: list[dict[str, object]] = []
    index: list[Descriptor] = []
    repositories: dict[str, dict[str, str]] = {}
    for entry in selected:
        image = entry.image
        layers = [_write_layer(store, writer, store.layers.get(c)) for c in image.chain_ids]
        config = store.content.read(image.id)
        writer.blob(config)
        manifest = encode(manifest_document(mt.OCI_MANIFEST, Descriptor(mt.OCI_CONFIG, image.id, len(config)), layers))
        manifest_digest = writer.blob(manifest)
        names_for_index: list[Reference | None] = list(entry.tags) or [None]
        for tag in names_for_index:
            annotations = {} if tag is None else {CONTAINERD_NAME: tag.string(), OCI_REF_NAME: tag.tag or "latest"}
            index.append(Descriptor(mt.OCI_MANIFEST, manifest_digest, len(manifest), annotations=annotations))
        for tag in entry.tags:
            repositories.setdefault(tag.familiar_name(), {})[tag.tag or "latest"] = dg.split(image.id)
        legacy.append({"Config": BLOBS + dg.split(image.id), "RepoTags": [t.familiar() for t in entry.tags],
                       "Layers": [BLOBS + dg.split(d.digest) for d in layers]})
    writer.file("index.json", encode(index_document(index)))
    writer.file("manifest.json", json.dumps(legacy).encode())
    writer.file("oci-layout", json.dumps({"imageLayoutVersion": mt.OCI_LAYOUT_VERSION}).encode())
    if repositories:
        writer.file("repositories", json.dumps(repositories).encode())
    writer.close()
