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

from pyns.errors import LayerError, NotFound
from pyns.images import digest as dg
from pyns.fsutil import sweep_temp

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (see pyns/__init__.py)
if TYPE_CHECKING:
    from typing import BinaryIO

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

    def writer(self, expected: str | None = None, size: int | None = None,
               verified_by: "dg.VerifyingReader | None" = None) -> "BlobWriter":
        """A :class:`BlobWriter` for content that arrives piece by piece (a tee of a download)."""
        return BlobWriter(self, expected, size, verified_by)

    def ingest(self, stream: BinaryIO, expected: str | None = None, size: int | None = None) -> str:
        """Copy ``stream`` into the store and return its digest.

        With ``expected`` the bytes are verified and nothing is stored on a
        mismatch (:class:`~pyns.errors.LayerError`). When the blob already
        exists the new copy is simply dropped: blobs are immutable, so
        whichever concurrent writer renames first wins.
        """
        with self.writer(expected, size) as out:
            while True:
                chunk = stream.read(_CHUNK)
                if not chunk:
                    break
                out.write(chunk)
            return out.commit()

    def put(self, data: bytes, expected: str | None = None) -> str:
        """Store an in-memory blob (configs, manifests) and return its digest."""
        return self.ingest(io.BytesIO(data), expected)

    def sweep(self) -> None:
        """Remove ingest leftovers of crashed writers."""
        sweep_temp(self.ingest_dir)


class BlobWriter:
    """Writes one blob into ``content/ingest`` and publishes it only once verified.

    Used as a context manager: leaving the block without :meth:`commit`
    (an exception, a cancelled download) deletes the temp file, so a failed
    pull leaves no partial blob behind.
    """

    def __init__(self, store: ContentStore, expected: str | None, size: int | None,
                 verified_by: dg.VerifyingReader | None = None) -> None:
        """``verified_by``: the reader the written bytes come through, which
        checks them against ``expected`` itself; the writer then does not
        hash them a second time (sha256 is ~10% of a pull's CPU)."""
        if expected is not None:
            dg.split(expected)
        import hashlib  # here: only pulls and imports write blobs
        import tempfile

        self.store = store
        self.expected = expected
        self.expected_size = size
        self.verified_by = verified_by
        self._hash = hashlib.sha256() if verified_by is None else None
        self.size = 0
        fd, self._tmp = tempfile.mkstemp(prefix=f".tmp-{os.getpid()}-", dir=store.ingest_dir)
        self._file: BinaryIO | None = os.fdopen(fd, "wb")

    def write(self, data: bytes) -> None:
        assert self._file is not None, "blob writer already closed"
        if self._hash is not None:
            self._hash.update(data)
        self.size += len(data)
        if self.expected_size is not None and self.size > self.expected_size:
            raise LayerError(f"size mismatch for {self.expected}: more than {self.expected_size} bytes")
        self._file.write(data)

    @property
    def digest(self) -> str:
        if self._hash is None:  # verified_by checks the bytes
            assert self.verified_by is not None
            if not self.verified_by.verified:
                self.verified_by.verify()
            return self.verified_by.expected
        return f"{dg.ALGORITHM}:{self._hash.hexdigest()}"

    def commit(self) -> str:
        """Verify size and digest, then give the blob its final name; returns the digest."""
        assert self._file is not None, "blob writer already closed"
        self._file.close()
        self._file = None
        if self.expected_size is not None and self.size != self.expected_size:
            self.abort()
            raise LayerError(f"size mismatch for {self.expected}: expected {self.expected_size} bytes, "
                             f"got {self.size}")
        digest = self.digest
        if self.expected is not None and digest != self.expected:
            self.abort()
            raise LayerError(f"digest mismatch: expected {self.expected}, got {digest}")
        os.chmod(self._tmp, 0o644)
        os.rename(self._tmp, self.store.path(digest))
        self._tmp = ""
        return digest

    def abort(self) -> None:
        """Drop the temp file (idempotent)."""
        if self._file is not None:
            self._file.close()
            self._file = None
        if self._tmp:
            try:
                os.unlink(self._tmp)
            except FileNotFoundError:
                pass
            self._tmp = ""

    def __enter__(self) -> "BlobWriter":
        return self

    def __exit__(self, *exc: object) -> None:
        self.abort()
