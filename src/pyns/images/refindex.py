"""The tags index: one JSON file mapping normalised references to image ids.

``<root>/images/repositories.json`` holds ``{"refs": {"docker.io/library/
busybox:latest": "sha256:...", "...@sha256:...": "sha256:..."}}``. It is
the single source of truth for repo tags and repo digests (image metadata
does not duplicate them, so the two can never disagree). Readers need no
lock because the file is replaced atomically; writers must hold the image
store's lock around load-modify-save so concurrent ``tag`` calls do not
lose each other's updates.
"""
from __future__ import annotations

import os

from pyns.errors import PynsError
from pyns.fsutil import atomic_write_json, read_json
from pyns.images.reference import Reference, parse_strict


class RefIndex:
    """Load/save access to the references file."""

    def __init__(self, path: str) -> None:
        self.path = path

    def load(self) -> dict[str, str]:
        try:
            data = read_json(self.path)
        except FileNotFoundError:
            return {}
        except ValueError as e:
            raise PynsError(f"corrupt image index {self.path}: {e}") from None
        refs = data.get("refs", {}) if isinstance(data, dict) else {}
        return {str(k): str(v) for k, v in refs.items()}

    def save(self, refs: dict[str, str]) -> None:
        os.makedirs(os.path.dirname(self.path), exist_ok=True)
        atomic_write_json(self.path, {"version": 1, "refs": dict(sorted(refs.items()))})


def refs_of(refs: dict[str, str], image_id: str) -> list[Reference]:
    """References pointing at ``image_id``, sorted by familiar form (docker's order)."""
    found = [parse_strict(key) for key, value in refs.items() if value == image_id]
    return sorted(found, key=lambda r: r.familiar())
