"""Manifests and indexes: parsing untrusted JSON into checked records, and writing them.

Docker schema2 and OCI manifests have the same shape (a config descriptor
plus layer descriptors), as do Docker manifest lists and OCI indexes, so
each pair is one class here with the media type kept alongside. Every
descriptor's digest is validated before anything turns it into a path or
URL, and sizes must be non-negative integers, because a manifest comes
straight from the network.
"""
from __future__ import annotations

import json
from typing import Any

from pyns.errors import InvalidArgument, RegistryError
from pyns.images import digest as dg
from pyns.images import mediatypes as mt
from pyns.images.platform import Platform
from pyns.records import field, record

MAX_MANIFEST_SIZE = 4 << 20
_GENERIC_TYPES = ("", "application/json", "text/plain", "application/octet-stream")


@record(frozen=True)
class Descriptor:
    """A content descriptor: what a blob is, its digest and size (and platform in an index)."""

    media_type: str
    digest: str
    size: int
    platform: Platform | None = None
    urls: tuple[str, ...] = ()
    annotations: dict[str, str] = field(default_factory=dict, hash=False, compare=False)

    @classmethod
    def parse(cls, data: Any, where: str) -> "Descriptor":
        if not isinstance(data, dict):
            raise RegistryError(f"invalid manifest: {where} is not an object")
        digest, size = data.get("digest"), data.get("size")
        try:
            dg.split(digest if isinstance(digest, str) else "")
        except InvalidArgument:
            raise RegistryError(f"invalid manifest: {where} has an unsupported digest {digest!r}") from None
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            raise RegistryError(f"invalid manifest: {where} has an invalid size {size!r}")
        platform = Platform.from_dict(data["platform"]) if isinstance(data.get("platform"), dict) else None
        urls = tuple(str(u) for u in data.get("urls") or () if isinstance(u, str))
        raw_annotations = data.get("annotations")
        annotations = raw_annotations if isinstance(raw_annotations, dict) else {}
        return cls(str(data.get("mediaType") or ""), str(digest), size, platform, urls,
                   {str(k): str(v) for k, v in annotations.items()})

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"mediaType": self.media_type, "digest": self.digest, "size": self.size}
        if self.urls:
            out["urls"] = list(self.urls)
        if self.annotations:
            out["annotations"] = dict(self.annotations)
        if self.platform is not None:
            p = {"architecture": self.platform.architecture, "os": self.platform.os}
            if self.platform.variant:
                p["variant"] = self.platform.variant
            out["platform"] = p
        return out


@record(frozen=True)
class ImageManifest:
    """One platform's image: a config and its layers, bottom first."""

    media_type: str
    config: Descriptor
    layers: tuple[Descriptor, ...]


@record(frozen=True)
class ImageIndex:
    """A multi-platform list of manifests (Docker manifest list or OCI index)."""

    media_type: str
    manifests: tuple[Descriptor, ...]

    def select(self, want: Platform) -> Descriptor:
        """The first image manifest for ``want``, like docker's platform matcher."""
        candidates = [d for d in self.manifests
                      if d.platform is not None and (not d.media_type or mt.is_manifest(d.media_type))]
        wanted = want.normalized()
        for d in candidates:
            if d.platform is not None and d.platform.normalized() == wanted:
                return d
        for d in candidates:
            if d.platform is not None and want.matches(d.platform):
                return d
        raise RegistryError(f"no matching manifest for {want} in the manifest list entries")


def _media_type(body: dict[str, Any], content_type: str | None) -> str:
    """The manifest's type: the response's Content-Type, else the body's, else its shape."""
    header = (content_type or "").split(";", 1)[0].strip().lower()
    if header not in _GENERIC_TYPES:
        return header
    declared = body.get("mediaType")
    if isinstance(declared, str) and declared:
        return declared
    if body.get("schemaVersion") == 1:
        return "application/vnd.docker.distribution.manifest.v1+json"
    if "manifests" in body:
        return mt.OCI_INDEX
    if "config" in body and "layers" in body:
        return mt.OCI_MANIFEST
    return header


def parse_manifest(data: bytes, content_type: str | None = None) -> ImageManifest | ImageIndex:
    """Parse a manifest or index as served by a registry; RegistryError if it is not one."""
    if len(data) > MAX_MANIFEST_SIZE:
        raise RegistryError(f"manifest too large: {len(data)} bytes (limit {MAX_MANIFEST_SIZE})")
    try:
        body = json.loads(data)
    except (ValueError, UnicodeDecodeError) as e:
        raise RegistryError(f"invalid manifest: {e}") from None
    if not isinstance(body, dict):
        raise RegistryError("invalid manifest: not a JSON object")
    media_type = _media_type(body, content_type)
    if media_type.startswith("application/vnd.docker.distribution.manifest.v1"):
        raise RegistryError("unsupported manifest format: Docker schema1 manifests are deprecated and not supported")
    if media_type not in (*mt.MANIFESTS, *mt.INDEXES):
        raise RegistryError(f"unsupported manifest media type {media_type!r}")
    if body.get("schemaVersion") != 2:
        raise RegistryError(f"invalid manifest: schemaVersion {body.get('schemaVersion')!r}, expected 2")
    if mt.is_index(media_type):
        entries = body.get("manifests")
        if not isinstance(entries, list):
            raise RegistryError("invalid manifest list: manifests is not a list")
        return ImageIndex(media_type, tuple(Descriptor.parse(d, f"manifests[{i}]") for i, d in enumerate(entries)))
    layers = body.get("layers")
    if not isinstance(layers, list):
        raise RegistryError("invalid manifest: layers is not a list")
    config = Descriptor.parse(body.get("config"), "config")
    return ImageManifest(media_type, config, tuple(Descriptor.parse(d, f"layers[{i}]") for i, d in enumerate(layers)))


def encode(document: dict[str, Any]) -> bytes:
    """Serialise a manifest/index the way registries and docker write them (indented JSON)."""
    return json.dumps(document, indent=3).encode()


def manifest_document(media_type: str, config: Descriptor, layers: list[Descriptor]) -> dict[str, Any]:
    """A schema2 or OCI image manifest for ``config`` and ``layers``."""
    return {"schemaVersion": 2, "mediaType": media_type, "config": config.to_dict(),
            "layers": [d.to_dict() for d in layers]}


def index_document(manifests: list[Descriptor]) -> dict[str, Any]:
    """An OCI image index (``index.json`` of an image layout)."""
    return {"schemaVersion": 2, "mediaType": mt.OCI_INDEX, "manifests": [d.to_dict() for d in manifests]}
