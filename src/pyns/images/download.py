"""One layer's download: stream -> verify -> keep -> decompress -> unpack, in one pass.

The blob is never held in memory or written twice before unpacking: the
response body is hashed as it arrives (the blob digest), copied into the
content store's ingest area (so push and save can send it later), and fed
to the decompressor and tar extractor, which hash the uncompressed bytes
(the diff_id). Only when both digests match is the blob published; the
unpacked tree stays a :class:`PendingLayer` until the puller publishes the
layers bottom-up. A transient failure (dropped connection, truncated body,
5xx) restarts the layer from scratch a few times; a digest mismatch does not.
"""
from __future__ import annotations

import time
from typing import Any

from pyns.errors import LayerError, PynsError
from pyns.images import digest as dg
from pyns.images import mediatypes as mt
from pyns.images.layers import LayerBlob, LayerStore, PendingLayer, _Tee, drain
from pyns.images.manifest import Descriptor
from pyns.images.progress import Reporter, short_digest
from pyns.images.registry.client import RegistryClient
from pyns.images.registry.transport import TransientError
from pyns.records import record


class Cancelled(PynsError):
    """Another layer of the same pull failed; this one stops early (see workers.py)."""


@record
class LayerJob:
    """What to fetch: a layer descriptor and the diff_id the config promises for it."""

    descriptor: Descriptor
    diff_id: str
    source: str  # "host/repo", recorded so a later push can mount the blob

    @property
    def short(self) -> str:
        return short_digest(self.descriptor.digest)


class _Watched:
    """Counts downloaded bytes for progress."""

    def __init__(self, stream: Any, job: LayerJob, report: Reporter) -> None:
        self._stream = stream
        self._job = job
        self._report = report
        self.count = 0

    def read(self, n: int = -1) -> bytes:
        data = self._stream.read(n)
        if data:
            self.count += len(data)
            self._report.bytes("Downloading", self._job.short, self.count, self._job.descriptor.size)
        return data

    def readable(self) -> bool:
        return True


class LayerDownloader:
    """Runs :class:`LayerJob` s for one pull (in this process or in forked workers)."""

    def __init__(self, client: RegistryClient, repo: str, layers: LayerStore, report: Reporter,
                 retries: int = 4, backoff: float = 0.25) -> None:
        if layers.content is None:
            raise LayerError("the layer store has no content store to keep pulled blobs in")
        self.client = client
        self.repo = repo
        self.layers = layers
        self.content = layers.content
        self.report = report
        self.retries = retries
        self.backoff = backoff

    def run(self, job: LayerJob) -> PendingLayer:
        """Download and unpack one layer, retrying transient failures."""
        for attempt in range(self.retries + 1):
            try:
                pending = self._once(job)
                self.report("Download complete", job.short)
                return pending
            except TransientError:
                if attempt >= self.retries:
                    raise
                self.report(f"Retrying in {self.backoff * 2 ** attempt:g} seconds", job.short)
                time.sleep(self.backoff * 2 ** attempt)
        raise AssertionError("unreachable")

    def _once(self, job: LayerJob) -> PendingLayer:
        desc = job.descriptor
        with self.client.open_blob(self.repo, desc.digest) as resp:
            watched = _Watched(resp, job, self.report)
            verifying = dg.VerifyingReader(watched, desc.digest, desc.size)  # type: ignore[arg-type]
            with self.content.writer(desc.digest, desc.size, verified_by=verifying) as blob:
                pending = self._unpack(_Tee(verifying, blob), verifying, blob, job)
        compression = mt.layer_compression(desc.media_type)
        pending.blobs.append(LayerBlob(desc.digest, desc.size, compression, (job.source,)))
        return pending

    def _unpack(self, raw: Any, verifying: dg.VerifyingReader, blob: Any, job: LayerJob) -> PendingLayer:
        """Unpack the layer while its blob is kept; commit the blob once both digests are right."""
        try:
            pending = self.layers.unpack(raw, job.diff_id)
        except LayerError as e:
            raise _explain(e, raw, verifying) from None
        try:
            drain(raw)
            if not verifying.verified:
                verifying.verify()
            self.report("Verifying Checksum", job.short)
            blob.commit()
        except BaseException as e:
            self.layers.discard(pending)
            if isinstance(e, LayerError):
                raise LayerError(f"filesystem layer verification failed for digest {job.descriptor.digest}: {e}"
                                 ) from None
            raise
        return pending


def _explain(error: LayerError, raw: Any, verifying: dg.VerifyingReader) -> LayerError:
    """A layer that fails to unpack: blame its digest if the bytes were not the promised ones.

    A tampered blob usually breaks decompression before its digest can be
    checked at the end; reading the rest tells the two cases apart, so
    users see "verification failed" for corruption and the entry name for
    a well-formed but hostile tarball.
    """
    try:
        drain(raw)
        if not verifying.verified:
            verifying.verify()
    except LayerError as mismatch:
        return LayerError(f"filesystem layer verification failed for digest {verifying.expected}: {mismatch}")
    except PynsError:
        pass
    return LayerError(f"layer {verifying.expected}: {error}")
