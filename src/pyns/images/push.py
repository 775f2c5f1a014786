"""``docker push``: send an image's blobs and manifest to a registry.

For each layer: ``HEAD`` the blob in the target repository ("Layer already
exists"); if a repository on the same registry is known to hold it (from
an earlier pull or push), try a cross-repository mount ("Mounted from x");
otherwise upload it in chunks (POST, PATCH..., PUT ?digest=, each step to
the Location the registry returned). Then the config, then the manifest.

Layers go up as the tarballs pyns stored when it pulled, imported or
loaded them, so digests are stable: an image pushed back where it came
from keeps its manifest digest. Uncompressed tarballs (imports, docker
save archives) are gzip-compressed once and the result is kept.
"""
from __future__ import annotations

import gzip
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, cast

from pyns.errors import LayerError, RegistryError
from pyns.images import mediatypes as mt
from pyns.images.image import Image
from pyns.images.layers import Layer, LayerBlob
from pyns.images.manifest import Descriptor, ImageManifest, encode, manifest_document, parse_manifest
from pyns.images.progress import ProgressCallback, Reporter, short_digest
from pyns.images.reference import Reference
from pyns.images.registry.client import RegistryClient
from pyns.images.registry.config import RegistryConfig
from pyns.images.registry.endpoints import push_endpoint
from pyns.images.registry.transport import TransientError
from pyns.images.store import ImageStore
from pyns.records import record

_PREFERRED = ("gzip", "zstd", "none")


@record(frozen=True)
class PushResult:
    tag: str
    digest: str
    size: int

    def line(self) -> str:
        """docker's summary line."""
        return f"{self.tag}: digest: {self.digest} size: {self.size}"


@record(frozen=True)
class _Upload:
    layer: Layer | None  # None for the config
    descriptor: Descriptor


class Pusher:
    """Pushes images from an :class:`ImageStore`."""

    def __init__(self, store: ImageStore, config: RegistryConfig, progress: ProgressCallback | None = None) -> None:
        self.store = store
        self.config = config
        self.report = Reporter(progress)

    def push(self, ref: Reference) -> PushResult:
        """Push the local image ``ref`` (a tag) to its registry."""
        if ref.digest is not None:
            raise RegistryError("cannot push a digest reference")
        ref = ref.with_default_tag()
        image = self.store.get(ref.string())
        client = RegistryClient(push_endpoint(ref.domain).host, self.config, name=ref.domain)
        try:
            media_type, config_desc, uploads = self._plan(image)
            self._upload_all(client, ref, [*uploads, _Upload(None, config_desc)])
            data = self._manifest_bytes(image, media_type, config_desc, [u.descriptor for u in uploads])
            digest = client.put_manifest(ref.path, ref.tag or "latest", data, media_type)
        finally:
            client.close()
        self.store.add_repo_digest(image.id, ref, data)
        return PushResult(ref.tag or "latest", digest, len(data))

    # -- what to send ----------------------------------------------------------

    def _plan(self, image: Image) -> tuple[str, Descriptor, list[_Upload]]:
        """The manifest type, the config descriptor and one upload per layer."""
        layers = [self.store.layers.get(c) for c in image.chain_ids]
        stored = self._stored_manifest(image)
        if stored is not None:
            return stored.media_type, stored.config, [_Upload(l, d) for l, d in zip(layers, stored.layers)]
        blobs = [self._pushable_blob(layer) for layer in layers]
        oci = any(b.compression == "zstd" for b in blobs)
        media_type = mt.OCI_MANIFEST if oci else mt.DOCKER_MANIFEST
        config = Descriptor(mt.config_type(media_type), image.id, self.store.content.size(image.id))
        uploads = [_Upload(l, Descriptor(mt.layer_type(b.compression, oci), b.digest, b.size))
                   for l, b in zip(layers, blobs)]
        return media_type, config, uploads

    def _stored_manifest(self, image: Image) -> ImageManifest | None:
        """The manifest the image was pulled with, if every blob it names is here."""
        if not image.image_manifest or not self.store.content.has(image.image_manifest):
            return None
        try:
            parsed = parse_manifest(self.store.content.read(image.image_manifest))
        except RegistryError:
            return None
        if not isinstance(parsed, ImageManifest) or parsed.config.digest != image.id:
            return None
        if len(parsed.layers) != len(image.chain_ids):
            return None
        if not all(self.store.content.has(d.digest) for d in parsed.layers):
            return None
        return parsed

    def _manifest_bytes(self, image: Image, media_type: str, config: Descriptor, layers: list[Descriptor]) -> bytes:
        if image.image_manifest and self._stored_manifest(image) is not None:
            return self.store.content.read(image.image_manifest)
        return encode(manifest_document(media_type, config, layers))

    def _pushable_blob(self, layer: Layer) -> LayerBlob:
        """A compressed tarball of the layer, compressing a stored plain one if needed."""
        kept = [b for b in layer.blobs if self.store.content.has(b.digest)]
        for kind in _PREFERRED[:2]:
            for blob in kept:
                if blob.compression == kind:
                    return blob
        plain = [b for b in kept if b.compression == "none"]
        if not plain:
            raise LayerError(f"layer {layer.diff_id} has no stored tarball to push "
                             "(pull, load or import the image again)")
        return self._gzip(layer, plain[0])

    def _gzip(self, layer: Layer, plain: LayerBlob) -> LayerBlob:
        with self.store.lease():
            with self.store.content.open(plain.digest) as src, self.store.content.writer() as out:
                with gzip.GzipFile(fileobj=cast(Any, out), mode="wb", mtime=0) as gz:
                    while chunk := src.read(1 << 20):
                        gz.write(chunk)
                digest = out.commit()
            blob = LayerBlob(digest, self.store.content.size(digest), "gzip")
            self.store.layers.add_blobs(layer.chain_id, [blob])
        return blob

    # -- sending ---------------------------------------------------------------

    def _upload_all(self, client: RegistryClient, ref: Reference, uploads: list[_Upload]) -> None:
        self.report(f"The push refers to repository [{ref.repository().string()}]")
        layer_uploads = [u for u in uploads if u.layer is not None]
        for u in reversed(layer_uploads):
            self.report("Preparing", short_digest(u.layer.diff_id))  # type: ignore[union-attr]
        workers = max(1, self.config.max_concurrent_uploads)
        for u in list(reversed(layer_uploads))[workers:]:
            self.report("Waiting", short_digest(u.layer.diff_id))  # type: ignore[union-attr]
        lock = threading.Lock()
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="pyns-push") as pool:
            for fut in [pool.submit(self._upload_one, client, ref, u, lock) for u in reversed(uploads)]:
                fut.result()

    def _upload_one(self, client: RegistryClient, ref: Reference, upload: _Upload, lock: threading.Lock) -> None:
        desc = upload.descriptor
        shown = short_digest(upload.layer.diff_id) if upload.layer else ""
        repo = ref.path
        status = ""
        for attempt in range(self.config.retries + 1):
            try:
                status = self._send(client, ref, upload, shown)
                break
            except TransientError:
                if attempt >= self.config.retries:
                    raise
                time.sleep(self.config.backoff * 2 ** attempt)
        if upload.layer is None:
            return
        if shown:
            self.report(status, shown)
        with lock:
            self.store.layers.add_blobs(upload.layer.chain_id, [
                LayerBlob(desc.digest, desc.size, mt.layer_compression(desc.media_type),
                          (f"{ref.domain}/{repo}",))])

    def _send(self, client: RegistryClient, ref: Reference, upload: _Upload, shown: str) -> str:
        desc, repo = upload.descriptor, ref.path
        if client.blob_exists(repo, desc.digest):
            return "Layer already exists"
        source = self._mount_source(ref, upload)
        location = client.start_upload(repo, desc.digest if source else None, source)
        if location is None:
            return f"Mounted from {source}"
        with self.store.content.open(desc.digest) as blob:
            pushed = [0]

            def progress(n: int) -> None:
                pushed[0] += n
                if shown:
                    self.report.bytes("Pushing", shown, pushed[0], desc.size)
            client.upload(repo, location, blob, desc.size, desc.digest, self.config.chunk_size, progress)
        return "Pushed"

    def _mount_source(self, ref: Reference, upload: _Upload) -> str | None:
        """A repository on the same registry that already has this layer's blob."""
        if upload.layer is None:
            return None
        for blob in upload.layer.blobs:
            if blob.digest != upload.descriptor.digest:
                continue
            for source in blob.sources:
                domain, _, path = source.partition("/")
                if domain == ref.domain and path != ref.path:
                    return path
        return None
