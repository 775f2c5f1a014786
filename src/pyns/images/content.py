"""Content-addressed blob store: ``<root>/content/blobs/sha256/<hex>``.

Configs (and, once pulls exist, manifests and compressed layers) are kept
by digest so that identical content is stored once and every read can be
trusted: a blob only gets its final name after its bytes were hashed and
matched. Writers stream into ``content/ingest`` and rename into place, so a
crash or a bad digest never leaves a partial blob under a real name.
"""
from __future__ import annotations

import io
import os
import tempfile
from typing import BinaryIO

from pyns.errors import NotFound
from pyns.images import digest as dg
from pyns.fsutil import sweep_temp

_CHUNK = 1 << 20


class ContentStore:
    """Blobs by sha256 digest under ``<root>/content``."""

    def __init__(self, root: str) -> None:
        self.root = os.path.join(os.path.abspath(root), "content")
        self.blobs = os.path.join(self.root, "blobs", dg.ALGORITHM)
        self.ingest_dir = os.path.join(self.root, "ingest")
        os.makedirs(self.blobs, exist_ok=True)
        os.makedirs(self.ingest_dir, exist_ok=True)

    def path(self, digest: str) -> str:
        """Where the blob lives (whether or not it exists yet)."""
        return os.path.join(self.blobs, dg.split(digest))

    def has(self, digest: str) -> bool:
        return os.path.isfile(self.path(digest))

    def size(self, digest: str) -> int:
        try:
            return os.stat(self.path(digest)).st_size
        except FileNotFoundError:
            raise NotFound(f"blob {digest} not found") from None

    def open(self, digest: str) -> BinaryIO:
        """Open a stored blob for reading."""
        try:
            return open(self.path(digest), "rb")
        except FileNotFoundError:
            raise NotFound(f"blob {digest} not found") from None

    def read(self, digest: str) -> bytes:
        with self.open(digest) as f:
            return f.read()

    def delete(self, digest: str) -> bool:
        """Remove a blob; False when it was not there."""
        try:
            os.unlink(self.path(digest))
            return True
        except FileNotFoundError:
            return False

    def digests(self) -> list[str]:
        """Every stored blob's digest (for garbage collection)."""
        return [f"{dg.ALGORITHM}:{name}" for name in sorted(os.listdir(self.blobs)) if dg.is_hex_id(name)]

    def ingest(self, stream: BinaryIO, expected: str | None = None, size: int | None = None) -> str:
        """Copy ``stream`` into the store and return its digest.

        With ``expected`` the bytes are verified while streaming and nothing
        is stored on a mismatch (:class:`~pyns.errors.LayerError`). When the
        blob already exists the new copy is simply dropped: blobs are
        immutable, so whichever concurrent writer renames first wins.
        """
        reader = dg.VerifyingReader(stream, expected, size) if expected else dg.HashingReader(stream)
        fd, tmp = tempfile.mkstemp(prefix=f".tmp-{os.getpid()}-", dir=self.ingest_dir)
        try:
            with os.fdopen(fd, "wb") as out:
                while True:
                    chunk = reader.read(_CHUNK)
                    if not chunk:
                        break
                    out.write(chunk)
            if isinstance(reader, dg.VerifyingReader) and not reader.verified:
                reader.verify()
            final = self.path(reader.digest)
            os.chmod(tmp, 0o644)
            os.rename(tmp, final)
        except BaseException:
            try:
                os.unlink(tmp)
            except FileNotFoundError:
                pass
            raise
        return reader.digest

    def put(self, data: bytes, expected: str | None = None) -> str:
        """Store an in-memory blob (configs, manifests) and return its digest."""
        return self.ingest(io.BytesIO(data), expected)

    def sweep(self) -> None:
        """Remove ingest leftovers of crashed writers."""
        sweep_temp(self.ingest_dir)
