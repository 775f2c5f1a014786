"""``docker import``: turn a root filesystem tarball into a one-layer image.

The config mirrors what docker writes for an import: host architecture and
OS, the run config built from ``--change`` lines, one ``rootfs.diff_ids``
entry, and a single history entry whose comment is the message or
``Imported from -``. Arguments are validated before the stream is read so
that a typo does not cost a full unpack.
"""
from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, BinaryIO

from pyns.errors import InvalidArgument
from pyns.images.changes import apply_changes
from pyns.images.image import Image
from pyns.images.platform import host_platform
from pyns.images.reference import Reference, parse, parse_tagged
from pyns.formatting import rfc3339_nano

if TYPE_CHECKING:
    from pyns.images.store import ImageStore

DEFAULT_SOURCE = "-"


def import_target(reference: str | None) -> Reference | None:
    """The tag an import creates (default tag ``latest``); digests are refused."""
    if reference is None or reference == "":
        return None
    if parse(reference).digest is not None:
        raise InvalidArgument("cannot import digest reference")
    return parse_tagged(reference)


def import_config(diff_id: str, run_config: dict[str, Any], comment: str, created: datetime) -> dict[str, Any]:
    """The OCI image config of an imported single-layer image."""
    stamp = rfc3339_nano(created)
    return {
        **host_platform(),
        "created": stamp,
        "comment": comment,
        "config": run_config,
        "rootfs": {"type": "layers", "diff_ids": [diff_id]},
        "history": [{"created": stamp, "comment": comment}],
    }


def import_tarball(store: ImageStore, stream: BinaryIO, reference: str | None = None,
                   changes: Sequence[str] = (), message: str = "") -> Image:
    """Unpack ``stream`` (plain or compressed tar) as a new image in ``store``."""
    target = import_target(reference)
    run_config = apply_changes({}, list(changes))
    comment = message or f"Imported from {DEFAULT_SOURCE}"
    with store.lease():
        layer = store.layers.register(stream)
        config = import_config(layer.diff_id, run_config, comment, datetime.now(timezone.utc))
        return store.create_image(config, [layer], reference=target)
