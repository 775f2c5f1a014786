"""sha256 digests: validation, computation and readers that hash as they go.

Everything in the image store is addressed by ``sha256:<64 hex>`` strings.
Validating a digest before turning it into a path is what keeps a hostile
manifest or CLI argument from naming a file outside the store, so every
store method funnels its digest arguments through :func:`split`.
"""
from __future__ import annotations

import re

from pyns.errors import InvalidArgument, LayerError

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (see pyns/__init__.py)
if TYPE_CHECKING:
    from typing import BinaryIO

ALGORITHM = "sha256"
_HEX_RE = re.compile(r"[a-f0-9]{64}")
HEX_DIGITS = frozenset("0123456789abcdefABCDEF")
ASCII_ALNUM = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
# Hex lengths of the algorithms go-digest knows; used to give its error texts.
_KNOWN_LENGTHS = {"sha256": 64, "sha384": 96, "sha512": 128}


def is_digest_format(s: str) -> bool:
    """go-digest's DigestRegexp, ``algorithm ":" hex{32,}`` with algorithm
    ``[A-Za-z][A-Za-z0-9]*([-_+.][A-Za-z][A-Za-z0-9]*)*``, scanned by hand: compiling
    the pattern cost every CLI start a quarter of a millisecond (see reference.py)."""
    algorithm, colon, hexpart = s.partition(":")
    if not colon or len(hexpart) < 32 or not all(c in HEX_DIGITS for c in hexpart):
        return False
    word = ""
    for c in algorithm + "+":  # a final separator closes the last word
        if c in "-_+.":
            if not word or not word[0].isalpha():
                return False
            word = ""
        elif c in ASCII_ALNUM:
            word += c
        else:
            return False
    return True


def validate(digest: str) -> str:
    """Check an ``algorithm:hex`` digest the way go-digest does; return it.

    Only the wording of the errors matters to users (``invalid checksum digest
    format`` and friends), so the checks follow go-digest's order.
    """
    if not is_digest_format(digest):
        raise InvalidArgument("invalid checksum digest format")
    algorithm, hexpart = digest.split(":", 1)
    expected = _KNOWN_LENGTHS.get(algorithm)
    if expected is None:
        raise InvalidArgument("unsupported digest algorithm")
    if len(hexpart) != expected:
        raise InvalidArgument("invalid checksum digest length")
    if not re.fullmatch(r"[a-f0-9]+", hexpart):
        raise InvalidArgument("invalid checksum digest format")
    return digest


def split(digest: str) -> str:
    """Return the hex part of a ``sha256:<hex>`` digest, rejecting anything else.

    The store only holds sha256 content, so other algorithms are refused here
    rather than failing later with a confusing "not found".
    """
    algorithm, sep, hexpart = digest.partition(":")
    if not sep or algorithm != ALGORITHM or not _HEX_RE.fullmatch(hexpart):
        raise InvalidArgument(f"invalid digest {digest!r}: expected sha256:<64 hex digits>")
    return hexpart


def is_hex_id(text: str) -> bool:
    """True for a bare 64-character lowercase hex string (an id without prefix)."""
    return bool(_HEX_RE.fullmatch(text))


def from_hex(hexpart: str) -> str:
    """Build ``sha256:<hex>`` from a hex string, validating it."""
    digest = f"{ALGORITHM}:{hexpart}"
    split(digest)
    return digest


def of_bytes(data: bytes) -> str:
    """The ``sha256:<hex>`` digest of ``data``."""
    import hashlib  # here, not at the top: a container start never hashes

    return f"{ALGORITHM}:{hashlib.sha256(data).hexdigest()}"


def chain_id(parent_chain_id: str | None, diff_id: str) -> str:
    """OCI ChainID: the diff_id for a base layer, else sha256("parent diff_id").

    Naming unpacked layers by chain id rather than diff_id is what lets the
    same tarball on top of different parents be stored as distinct trees.
    """
    split(diff_id)
    if parent_chain_id is None:
        return diff_id
    split(parent_chain_id)
    return of_bytes(f"{parent_chain_id} {diff_id}".encode())


def chain_ids(diff_ids: list[str]) -> list[str]:
    """Chain ids for each prefix of a diff_id list (bottom layer first)."""
    result: list[str] = []
    parent: str | None = None
    for diff_id in diff_ids:
        parent = chain_id(parent, diff_id)
        result.append(parent)
    return result


class HashingReader:
    """A read-only stream that hashes and counts everything read through it.

    Used to compute a layer's diff_id from the very bytes the tar parser
    consumes, so no second pass (and no temporary copy) is needed.
    """

    def __init__(self, stream: BinaryIO) -> None:
        self._stream = stream
        import hashlib

        self._hash = hashlib.sha256()
        self.size = 0

    def read(self, n: int = -1) -> bytes:
        return self._seen(self._stream.read(n))

    def read1(self, n: int) -> bytes:
        """Up to ``n`` bytes, as the stream's own read1 gives them (read where it has none)."""
        read1 = getattr(self._stream, "read1", None)
        return self._seen(read1(n) if read1 is not None else self._stream.read(n))

    def _seen(self, data: bytes) -> bytes:
        if data:
            self._hash.update(data)
            self.size += len(data)
        return data

    def readable(self) -> bool:
        return True

    def drain(self, chunk: int = 1 << 20) -> None:
        """Read to EOF so trailing bytes (tar padding) count in the digest."""
        while self.read(chunk):
            pass

    @property
    def digest(self) -> str:
        """``sha256:<hex>`` of the bytes read so far."""
        return f"{ALGORITHM}:{self._hash.hexdigest()}"


class VerifyingReader(HashingReader):
    """A :class:`HashingReader` that checks the digest (and size) at EOF.

    Raising from ``read`` at EOF means a consumer that streams a blob
    straight into its destination learns of corruption before it commits.
    """

    def __init__(self, stream: BinaryIO, expected: str, size: int | None = None) -> None:
        super().__init__(stream)
        split(expected)
        self.expected = expected
        self.expected_size = size
        self.verified = False

    def read(self, n: int = -1) -> bytes:
        data = super().read(n)
        if self.expected_size is not None and self.size > self.expected_size:
            raise LayerError(f"size mismatch for {self.expected}: more than {self.expected_size} bytes")
        if not data and n != 0 and not self.verified:
            self.verify()
        return data

    def verify(self) -> None:
        """Raise :class:`LayerError` unless what was read matches ``expected``."""
        if self.expected_size is not None and self.size != self.expected_size:
            raise LayerError(
                f"size mismatch for {self.expected}: expected {self.expected_size} bytes, got {self.size}")
        if self.digest != self.expected:
            raise LayerError(f"digest mismatch: expected {self.expected}, got {self.digest}")
        self.verified = True
