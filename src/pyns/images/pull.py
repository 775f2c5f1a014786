"""``docker pull``: resolve, download layers concurrently, publish bottom-up, tag.

The order of events is what keeps the store consistent:

1. resolve the reference to a verified manifest and config (nothing stored);
2. under the layer lease (so ``rmi`` cannot delete a layer we are about to
   reuse), skip layers already present, download the others in parallel
   (forked workers, see workers.py), each into a private temp dir, and
   publish them bottom-up as soon as every layer below is there;
3. store the manifests and create the image (config + tag) in one step.

Any failure cancels the other downloads, drops their temp dirs, and then,
outside the lease, removes whatever this pull published that no image
references: a failed pull leaves ``pyns images`` and the store as they were.
Two concurrent pulls of the same image both succeed; blobs and layers are
content-addressed, so the second writer's copy is simply dropped.
"""
from __future__ import annotations

import signal

from pyns.errors import RegistryError
from pyns.images import digest as dg
from pyns.images.download import LayerDownloader, LayerJob
from pyns.images.image import Image
from pyns.images.layers import Layer, PendingLayer
from pyns.images.platform import Platform
from pyns.images.progress import ProgressCallback, Reporter, short_digest
from pyns.images.reference import Reference
from pyns.images.registry.client import RegistryClient
from pyns.images.registry.config import RegistryConfig
from pyns.images.registry.endpoints import pull_endpoints
from pyns.images.resolve import ResolvedImage, resolve
from pyns.images.store import ImageStore, ref_key
from pyns.images.workers import ForkedWorkers, can_fork, run_sequential
from pyns.records import record


@record(frozen=True)
class PullResult:
    """The pulled image, the digest the reference resolved to, and whether anything changed."""

    image: Image
    digest: str
    up_to_date: bool

    def status(self, ref: Reference) -> str:
        """docker's last status line."""
        shown = ref.with_default_tag().familiar()
        if self.up_to_date:
            return f"Status: Image is up to date for {shown}"
        return f"Status: Downloaded newer image for {shown}"


class Puller:
    """Pulls images into an :class:`ImageStore`."""

    def __init__(self, store: ImageStore, config: RegistryConfig, progress: ProgressCallback | None = None) -> None:
        self.store = store
        self.config = config
        self.report = Reporter(progress)

    def pull(self, ref: Reference, platform: Platform | None = None) -> PullResult:
        ref = ref.with_default_tag()
        client, resolved = self._resolve(ref, platform)
        try:
            return self._store(client, ref, resolved)
        finally:
            client.close()

    def _resolve(self, ref: Reference, platform: Platform | None) -> tuple[RegistryClient, ResolvedImage]:
        """Try each endpoint (mirrors first for Docker Hub) until one serves the manifest."""
        endpoints = pull_endpoints(ref.domain, self.config)
        self.report(f"Pulling from {ref.path}", ref.tag or ref.digest or "")
        for i, ep in enumerate(endpoints):
            client = RegistryClient(ep.host, self.config, name=ref.domain, scheme=ep.scheme)
            try:
                return client, resolve(client, ref.path, ref, platform)
            except RegistryError:
                client.close()
                if i + 1 == len(endpoints):
                    raise
        raise AssertionError("unreachable")

    def _store(self, client: RegistryClient, ref: Reference, resolved: ResolvedImage) -> PullResult:
        store = self.store
        key = ref_key(ref).string()
        before = store.index.load().get(key)
        published: list[str] = []
        blobs = [d.digest for d in resolved.manifest.layers] + list(resolved.documents)
        try:
            with store.lease():
                layers = self._layers(client, ref, resolved, published)
                for digest, data in resolved.documents.items():
                    store.content.put(data, digest)
                image = store.create_image(resolved.config_bytes, layers, reference=ref,
                                           manifest_digest=resolved.top_digest,
                                           image_manifest=resolved.manifest_digest)
        except BaseException:
            store.discard_unused(published, blobs)
            raise
        self.report(f"Digest: {resolved.top_digest}")
        return PullResult(image, resolved.top_digest, up_to_date=before == image.id)

    def _layers(self, client: RegistryClient, ref: Reference, resolved: ResolvedImage,
                published: list[str]) -> list[Layer]:
        """Every layer of the image, downloading the missing ones; appends new chain ids to ``published``."""
        layers_store = self.store.layers
        chains = dg.chain_ids(resolved.diff_ids)
        source = f"{ref.domain}/{ref.path}"
        jobs = [None if layers_store.has(chain) else LayerJob(desc, diff_id, source)
                for desc, diff_id, chain in zip(resolved.manifest.layers, resolved.diff_ids, chains)]
        workers = max(1, self.config.max_concurrent_downloads)
        if any(jobs) or not self.store.exists(resolved.image_id):  # docker is silent about a complete image
            for desc, job in zip(resolved.manifest.layers, jobs):
                self.report("Pulling fs layer" if job else "Already exists", short_digest(desc.digest))
        todo = sorted(((i, j) for i, j in enumerate(jobs) if j), key=lambda ij: -ij[1].descriptor.size)
        for _, job in todo[workers:]:
            self.report("Waiting", job.short)
        downloader = LayerDownloader(client, ref.path, layers_store, self.report, self.config.retries,
                                     self.config.backoff)
        pool = ForkedWorkers(downloader, workers, self.report.forward) if len(todo) > 1 and workers > 1 \
            and can_fork() else None
        ready: dict[int, PendingLayer] = {}
        result: list[Layer] = []
        try:
            finished = pool.run(todo) if pool else run_sequential(downloader, todo)
            for index, pending in finished:
                ready[index] = pending
                result += self._publish_ready(resolved, chains, jobs, ready, len(result), published)
            result += self._publish_ready(resolved, chains, jobs, ready, len(result), published)
        except BaseException:
            if pool:
                pool.stop(signal.SIGTERM)
                # a worker stopped mid-way may leave a temp dir or file named after its (now dead) pid
                layers_store.sweep()
                self.store.content.sweep()
            for pending in ready.values():
                layers_store.discard(pending)
            raise
        finally:
            if pool:
                pool.stop()
        return result

    def _publish_ready(self, resolved: ResolvedImage, chains: list[str], jobs: list[LayerJob | None],
                       ready: dict[int, PendingLayer], start: int, published: list[str]) -> list[Layer]:
        """Publish, bottom-up from ``start``, every layer whose download (if any) has finished."""
        layers_store = self.store.layers
        parent = chains[start - 1] if start else None
        done: list[Layer] = []
        for i in range(start, len(chains)):
            if jobs[i] is None:
                layer = layers_store.get(chains[i])
            elif i in ready:
                layer = layers_store.publish(ready.pop(i), parent)
                published.append(layer.chain_id)
                self.report("Pull complete", short_digest(resolved.manifest.layers[i].digest))
            else:
                break
            done.append(layer)
            parent = layer.chain_id
        return done
