"""From a reference to a verified manifest and config, before any layer is fetched.

Everything here is checked against the digest that names it: a manifest
pulled by digest must hash to that digest, a platform manifest chosen from
an index must hash to the index entry's digest, and the config must hash
to the manifest's config digest (that digest is the image id). The config
must list one diff_id per layer and every layer's media type must be one
pyns can unpack, so a pull fails before downloading anything it could not
use.
"""
from __future__ import annotations

from typing import Any

from pyns.errors import InvalidArgument, LayerError, RegistryError
from pyns.images import digest as dg
from pyns.images import mediatypes as mt
from pyns.images.manifest import Descriptor, ImageIndex, ImageManifest, parse_manifest
from pyns.images.platform import Platform, default_platform
from pyns.images.reference import Reference
from pyns.images.registry.client import RegistryClient
from pyns.images.registry.errors import decode_json
from pyns.records import record

MAX_CONFIG_SIZE = 8 << 20
_MAX_INDEX_DEPTH = 2


@record(frozen=True)
class ResolvedImage:
    """What a reference resolved to: the documents to store and the layers to fetch."""

    top_digest: str            # what the tag points to (an index or a manifest): the repo digest
    documents: dict[str, bytes]  # every manifest/index fetched, by digest (stored with the image)
    manifest_digest: str       # the single-platform manifest
    manifest: ImageManifest
    config_bytes: bytes
    config: dict[str, Any]

    @property
    def image_id(self) -> str:
        return self.manifest.config.digest

    @property
    def diff_ids(self) -> list[str]:
        return list(self.config["rootfs"]["diff_ids"])


def _check(digest: str, expected: str, what: str) -> None:
    if digest != expected:
        raise RegistryError(f"{what} digest mismatch: expected {expected}, got {digest}")


def resolve(client: RegistryClient, repo: str, ref: Reference, platform: Platform | None) -> ResolvedImage:
    """Fetch and verify the manifest (choosing a platform from an index) and the config."""
    reference = ref.digest or ref.tag or "latest"
    data, content_type, digest = client.get_manifest(repo, reference)
    if ref.digest:
        _check(digest, ref.digest, "manifest")
    top_digest = digest
    documents = {digest: data}
    parsed = parse_manifest(data, content_type)
    want = platform or default_platform()
    for _ in range(_MAX_INDEX_DEPTH):
        if not isinstance(parsed, ImageIndex):
            break
        entry = parsed.select(want)
        data, content_type, digest = client.get_manifest(repo, entry.digest)
        _check(digest, entry.digest, "manifest")
        if len(data) != entry.size:
            raise RegistryError(f"manifest {entry.digest}: size {len(data)} does not match the index's {entry.size}")
        documents[digest] = data
        parsed = parse_manifest(data, content_type or entry.media_type)
    if not isinstance(parsed, ImageManifest):
        raise RegistryError(f"{ref.familiar()}: manifest lists nested too deeply")
    config_bytes = _fetch_config(client, repo, parsed.config)
    config = _parse_config(config_bytes, parsed)
    if platform is not None and not platform.matches(Platform.from_dict(config)):
        raise RegistryError(f"image with reference {ref.familiar()} was found but does not match the specified "
                            f"platform: wanted {platform}, actual: {Platform.from_dict(config).normalized()}")
    return ResolvedImage(top_digest, documents, digest, parsed, config_bytes, config)


def _fetch_config(client: RegistryClient, repo: str, desc: Descriptor) -> bytes:
    if desc.media_type and desc.media_type not in mt.CONFIGS:
        raise RegistryError(f"unsupported config media type {desc.media_type!r}: not a container image")
    if desc.size > MAX_CONFIG_SIZE:
        raise RegistryError(f"image config {desc.digest} is too large ({desc.size} bytes)")
    with client.open_blob(repo, desc.digest) as resp:
        reader = dg.VerifyingReader(resp, desc.digest, desc.size)  # type: ignore[arg-type]
        try:
            data = reader.read()
            if not reader.verified:
                reader.verify()
        except LayerError as e:
            raise RegistryError(f"image config {desc.digest}: {e}") from None
    return data


def _parse_config(data: bytes, manifest: ImageManifest) -> dict[str, Any]:
    config = decode_json(data, f"image config {manifest.config.digest}")
    rootfs = config.get("rootfs")
    diff_ids = rootfs.get("diff_ids") if isinstance(rootfs, dict) else None
    if not isinstance(diff_ids, list) or rootfs.get("type") != "layers":  # type: ignore[union-attr]
        raise RegistryError(f"invalid image config {manifest.config.digest}: no rootfs.diff_ids")
    for d in diff_ids:
        try:
            dg.split(d if isinstance(d, str) else "")
        except InvalidArgument:
            raise RegistryError(f"invalid image config: unsupported diff_id {d!r}") from None
    if len(diff_ids) != len(manifest.layers):
        raise RegistryError(f"invalid image: {len(manifest.layers)} layers in the manifest but "
                            f"{len(diff_ids)} diff_ids in the config")
    for layer in manifest.layers:
        mt.layer_compression(layer.media_type)
    return config
