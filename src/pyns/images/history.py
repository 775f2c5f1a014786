"""``docker history``: an image's config history matched up with its layers.

The config's ``history`` lists every build step; steps that produced a
filesystem change consume the next layer in order (``empty_layer`` steps
do not), which is how a size is attributed to each line. Only the newest
line carries the image id: intermediate images are not stored (``<missing>``).
Images without history (imports from other tools) get one line per layer.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from pyns.formatting import parse_rfc3339
from pyns.images.image import Image
from pyns.records import record

MISSING = "<missing>"


@record(frozen=True)
class HistoryEntry:
    id: str
    created: datetime | None
    created_by: str
    size: int
    comment: str
    empty_layer: bool


def _time(text: Any) -> datetime | None:
    if not isinstance(text, str) or not text:
        return None
    try:
        return parse_rfc3339(text)
    except ValueError:
        return None


def history(image: Image, layer_sizes: list[int]) -> list[HistoryEntry]:
    """Newest first, like the CLI prints it; ``layer_sizes`` bottom layer first."""
    steps = [h for h in image.config.get("history") or [] if isinstance(h, dict)]
    if not steps:
        steps = [{"created": image.config.get("created")} for _ in layer_sizes] or [{}]
    sizes = iter(layer_sizes)
    entries = []
    for step in steps:
        empty = bool(step.get("empty_layer"))
        size = 0 if empty else next(sizes, 0)
        entries.append(HistoryEntry(MISSING, _time(step.get("created")), str(step.get("created_by") or ""),
                                    size, str(step.get("comment") or ""), empty))
    entries.reverse()
    if entries:
        top = entries[0]
        entries[0] = HistoryEntry(image.id, top.created, top.created_by, top.size, top.comment, top.empty_layer)
    return entries
