"""The :class:`Image` record handed out by the store.

An image is its config (the blob whose sha256 is the image id) plus the
store's bookkeeping (layer chain, tags, manifest digest). Instances are
snapshots: re-``get`` an image to see later tag changes.
"""
from __future__ import annotations

from datetime import datetime

from pyns.formatting import parse_rfc3339
from pyns.records import record

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (see pyns/__init__.py)
if TYPE_CHECKING:
    from typing import Any


@record(frozen=True, eq=False)
class Image:
    """A stored image. ``config`` is the full OCI image config dict."""

    id: str
    config: dict[str, Any]
    diff_ids: tuple[str, ...]
    chain_ids: tuple[str, ...]
    size: int
    stored: datetime
    repo_tags: tuple[str, ...] = ()
    repo_digests: tuple[str, ...] = ()
    manifest_digest: str | None = None
    parent: str | None = None
    image_manifest: str | None = None

    @property
    def short_id(self) -> str:
        """First 12 hex digits of the id, as ``docker images`` prints it."""
        return self.id.split(":", 1)[-1][:12]

    @property
    def container_config(self) -> dict[str, Any]:
        """The run defaults (``Env``, ``Cmd``, ``Entrypoint``, ``WorkingDir``, ...)."""
        return self.config.get("config") or {}

    @property
    def created(self) -> datetime:
        """The config's creation time (UTC), falling back to when it was stored."""
        text = self.config.get("created")
        if isinstance(text, str):
            try:
                return parse_rfc3339(text)
            except ValueError:
                pass
        return self.stored

    @property
    def labels(self) -> dict[str, str]:
        return self.container_config.get("Labels") or {}

    @property
    def architecture(self) -> str:
        return str(self.config.get("architecture", ""))

    @property
    def os(self) -> str:
        return str(self.config.get("os", ""))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Image) and other.id == self.id

    def __hash__(self) -> int:
        return hash(self.id)

    def __repr__(self) -> str:
        return f"<Image {self.short_id} {list(self.repo_tags)}>"
