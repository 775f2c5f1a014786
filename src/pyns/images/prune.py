"""``docker image prune``: remove dangling (or, with ``-a``, all unused) images.

A dangling image has no tag; "unused" means no container was created
from it. Each candidate goes through the store's normal removal, so the
usual conflict rules (a child image, a container) still protect it; the
space reclaimed is the size of the layers that were actually deleted.
"""
from __future__ import annotations

from pyns.errors import Conflict, ImageNotFound
from pyns.images.store import ImageStore
from pyns.records import field, record


@record
class PruneReport:
    """docker's ``ImagesDeleted`` lines (``untagged: x`` / ``deleted: sha256:...``) and bytes freed."""

    lines: list[str] = field(default_factory=list)
    reclaimed: int = 0


def prune(store: ImageStore, all_unused: bool = False) -> PruneReport:
    report = PruneReport()
    sizes = {layer.chain_id: layer.size for layer in store.layers.list()}
    for image in store.list():
        if image.repo_tags and not all_unused:
            continue
        if store.image_users is not None and list(store.image_users(image.id)):
            continue
        try:
            lines = store.remove(image.id, force=bool(image.repo_tags))
        except (Conflict, ImageNotFound):
            continue  # a child image depends on it, or another prune got there first
        for line in lines:
            verb, _, what = line.partition(": ")
            report.lines.append(f"{verb.lower()}: {what}")
            if verb == "Deleted":
                report.reclaimed += sizes.get(what, 0)
    return report
