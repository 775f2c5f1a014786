"""``docker load``: images from a ``docker save`` tar or an OCI image layout tar.

Accepted inputs: docker's legacy format (``manifest.json`` with Config,
RepoTags and Layers paths, as every docker version writes), docker 25+'s
combined format (the same plus an OCI layout, see save.py) and plain OCI
layouts (``index.json`` + ``blobs/``, e.g. ``skopeo copy ... oci-archive:``).

The archive is untrusted: it is first extracted into a private temp dir
(names cleaned, nothing outside it; symlinks, which old docker versions use
for repeated layers, are followed only within the archive), then every
config is checked against its content address, every layer's diff_id and
every OCI blob's digest are verified while the layer is unpacked. On any
failure the layers and blobs this load added are removed again.
"""
from __future__ import annotations

import json
import os
import posixpath
import re
import shutil
import tarfile
from typing import Any, BinaryIO

from pyns.errors import InvalidArgument, LayerError
from pyns.fsutil import make_temp_dir, remove_tree
from pyns.images import digest as dg
from pyns.images import mediatypes as mt
from pyns.images.layers import Layer
from pyns.images.manifest import Descriptor, ImageIndex, ImageManifest, parse_manifest
from pyns.images.platform import default_platform
from pyns.images.reference import Reference, parse_tagged
from pyns.images.save import CONTAINERD_NAME, OCI_REF_NAME
from pyns.images.store import ImageStore
from pyns.images.unpack import clean_name
from pyns.records import record

_HEX_NAME_RE = re.compile(r"(?:blobs/sha256/)?([a-f0-9]{64})(?:\.json)?")
_MAX_LINKS = 16
_MAX_JSON = 64 << 20


@record
class _Candidate:
    """One image found in the archive: its config, layer tarballs (paths) and names."""

    config_path: str
    layer_paths: list[str]
    tags: list[Reference]
    config_digest: str | None = None
    layer_digests: list[str | None] | None = None
    manifest: bytes | None = None


class _Archive:
    """An extracted archive; paths are archive-relative and resolved safely."""

    def __init__(self, root: str) -> None:
        self.root = root
        self.links: dict[str, str] = {}

    def extract(self, stream: BinaryIO) -> None:
        try:
            with tarfile.open(fileobj=stream, mode="r|*") as tf:
                for member in tf:
                    self._member(tf, member)
        except (tarfile.TarError, EOFError, OSError) as e:
            raise InvalidArgument(f"invalid image archive: {e}") from None

    def _member(self, tf: tarfile.TarFile, member: tarfile.TarInfo) -> None:
        rel = clean_name(member.name)
        if not rel:
            return
        path = os.path.join(self.root, rel)
        if member.isdir():
            os.makedirs(path, exist_ok=True)
        elif member.isreg():
            self._parent_ok(rel, member.name)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            src = tf.extractfile(member)
            with open(path, "xb") as out:
                if src is not None:
                    shutil.copyfileobj(src, out, 1 << 20)
        elif member.issym() or member.islnk():
            target = member.linkname if member.islnk() else posixpath.join(posixpath.dirname(rel), member.linkname)
            self.links[rel] = clean_name(target)

    def _parent_ok(self, rel: str, name: str) -> None:
        parent = posixpath.dirname(rel)
        while parent:
            if parent in self.links:
                raise LayerError(f"{name}: parent {parent} is a link in the archive")
            parent = posixpath.dirname(parent)

    def resolve(self, name: str) -> str:
        """The file an archive path names, following in-archive links only."""
        rel = clean_name(name)
        for _ in range(_MAX_LINKS):
            if rel not in self.links:
                path = os.path.join(self.root, rel)
                if not os.path.isfile(path) or os.path.islink(path):
                    raise InvalidArgument(f"invalid image archive: {name} not found")
                return path
            rel = self.links[rel]
        raise InvalidArgument(f"invalid image archive: too many links resolving {name}")

    def has(self, name: str) -> bool:
        try:
            self.resolve(name)
            return True
        except InvalidArgument:
            return False

    def read(self, name: str, limit: int = _MAX_JSON) -> bytes:
        path = self.resolve(name)
        if os.path.getsize(path) > limit:
            raise InvalidArgument(f"invalid image archive: {name} is too large")
        with open(path, "rb") as f:
            return f.read()

    def json(self, name: str) -> Any:
        try:
            return json.loads(self.read(name))
        except (ValueError, UnicodeDecodeError) as e:
            raise InvalidArgument(f"invalid image archive: {name}: {e}") from None


def _docker_candidates(archive: _Archive) -> list[_Candidate]:
    entries = archive.json("manifest.json")
    if not isinstance(entries, list):
        raise InvalidArgument("invalid image archive: manifest.json is not a list")
    out = []
    for entry in entries:
        if not isinstance(entry, dict) or not isinstance(entry.get("Config"), str):
            raise InvalidArgument("invalid image archive: manifest.json entry without Config")
        layers = entry.get("Layers") or []
        if not isinstance(layers, list) or not all(isinstance(l, str) for l in layers):
            raise InvalidArgument("invalid image archive: manifest.json Layers is not a list of paths")
        hex_name = _HEX_NAME_RE.fullmatch(entry["Config"])
        out.append(_Candidate(entry["Config"], layers, [parse_tagged(t) for t in entry.get("RepoTags") or []],
                              config_digest=dg.from_hex(hex_name.group(1)) if hex_name else None))
    return out


def _blob_path(desc: Descriptor) -> str:
    return "blobs/sha256/" + dg.split(desc.digest)


def _oci_name(annotations: dict[str, str]) -> list[Reference]:
    """A full reference from the index annotations; a bare tag names nothing."""
    for key in (CONTAINERD_NAME, OCI_REF_NAME):
        value = annotations.get(key, "")
        if "/" in value or (":" in value and key == CONTAINERD_NAME):
            try:
                return [parse_tagged(value)]
            except InvalidArgument:
                continue
    return []


def _oci_candidates(archive: _Archive) -> list[_Candidate]:
    index = parse_manifest(archive.read("index.json"), mt.OCI_INDEX)
    if not isinstance(index, ImageIndex):
        raise InvalidArgument("invalid image archive: index.json is not an image index")
    found: dict[str, _Candidate] = {}
    for desc in index.manifests:
        manifest_bytes, manifest = _oci_manifest(archive, desc)
        cand = found.setdefault(manifest.config.digest + dg.of_bytes(manifest_bytes), _Candidate(
            _blob_path(manifest.config), [_blob_path(l) for l in manifest.layers], [],
            config_digest=manifest.config.digest, layer_digests=[l.digest for l in manifest.layers],
            manifest=manifest_bytes))
        cand.tags += [t for t in _oci_name(desc.annotations) if t not in cand.tags]
    return list(found.values())


def _oci_manifest(archive: _Archive, desc: Descriptor, depth: int = 0) -> tuple[bytes, ImageManifest]:
    data = archive.read(_blob_path(desc))
    if dg.of_bytes(data) != desc.digest:
        raise LayerError(f"invalid image archive: manifest {desc.digest} does not match its digest")
    parsed = parse_manifest(data, desc.media_type)
    if isinstance(parsed, ImageIndex):
        if depth > 1:
            raise InvalidArgument("invalid image archive: image indexes nested too deeply")
        return _oci_manifest(archive, parsed.select(default_platform()), depth + 1)
    return data, parsed


def _register(store: ImageStore, archive: _Archive, cand: _Candidate, published: list[str]) -> tuple[bytes, list[Layer]]:
    config_bytes = archive.read(cand.config_path)
    if cand.config_digest is not None and dg.of_bytes(config_bytes) != cand.config_digest:
        raise LayerError(f"invalid image archive: config {cand.config_path} does not match its digest")
    try:
        diff_ids = json.loads(config_bytes)["rootfs"]["diff_ids"]
    except (ValueError, KeyError, TypeError) as e:
        raise InvalidArgument(f"invalid image archive: config {cand.config_path}: no rootfs.diff_ids ({e})") from None
    if not isinstance(diff_ids, list) or len(diff_ids) != len(cand.layer_paths):
        raise InvalidArgument(f"invalid image archive: {len(cand.layer_paths)} layers but "
                              f"{len(diff_ids) if isinstance(diff_ids, list) else 0} diff_ids in the config")
    layers: list[Layer] = []
    parent = None
    for i, (path, diff_id) in enumerate(zip(cand.layer_paths, diff_ids)):
        chain = dg.chain_id(parent, diff_id)
        existed = store.layers.has(chain)
        with open(archive.resolve(path), "rb") as f:
            expected = cand.layer_digests[i] if cand.layer_digests else None
            stream: Any = dg.VerifyingReader(f, expected) if expected else f
            layer = store.layers.register(stream, parent, diff_id)
            if expected and not existed:
                stream.drain()
                if not stream.verified:
                    stream.verify()
        if not existed:
            published.append(layer.chain_id)
        layers.append(layer)
        parent = layer.chain_id
    return config_bytes, layers


def load(store: ImageStore, stream: BinaryIO) -> list[str]:
    """Load every image of an archive; returns docker's ``Loaded image: ...`` lines."""
    work = make_temp_dir(store.content.ingest_dir, "load")
    published: list[str] = []
    blobs: list[str] = []
    lines: list[str] = []
    try:
        archive = _Archive(work)
        archive.extract(stream)
        if archive.has("manifest.json"):
            candidates = _docker_candidates(archive)
        elif archive.has("index.json"):
            candidates = _oci_candidates(archive)
        else:
            raise InvalidArgument("invalid image archive: neither manifest.json nor index.json found")
        with store.lease():
            for cand in candidates:
                config_bytes, layers = _register(store, archive, cand, published)
                manifest_digest = store.content.put(cand.manifest) if cand.manifest else None
                if manifest_digest:
                    blobs.append(manifest_digest)
                image = store.create_image(config_bytes, layers, image_manifest=manifest_digest)
                for tag in cand.tags:
                    store.tag(image.id, tag.string())
                    lines.append(f"Loaded image: {tag.familiar()}")
                if not cand.tags:
                    lines.append(f"Loaded image ID: {image.id}")
    except BaseException:
        store.discard_unused(published, blobs)
        raise
    finally:
        remove_tree(work)
    return lines

