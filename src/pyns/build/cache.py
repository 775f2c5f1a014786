"""The build cache: (parent image, step key) -> the image that step produced.

Docker's classic builder finds a cached step among the parent's child
images; pyns keeps the same relation as one small file per entry under
``<root>/build-cache/``, named by the hash of parent id and key and
written atomically, so concurrent builds never see half an entry and
need no lock. An entry whose image was removed is a miss. The key is
whatever identifies the step's result given its parent (see
:func:`step_key`), never file mtimes.
"""
from __future__ import annotations

import hashlib
import json
import os
from typing import Any

from pyns.fsutil import atomic_write

SCRATCH = "scratch"


def step_key(*parts: Any) -> str:
    """A stable digest of a step's identifying values (JSON, sorted keys)."""
    blob = json.dumps(parts, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(blob.encode("utf-8", "surrogateescape")).hexdigest()


class BuildCache:
    def __init__(self, root: str) -> None:
        self.dir = os.path.join(root, "build-cache")

    def _path(self, parent: str | None, key: str) -> str:
        name = hashlib.sha256(f"{parent or SCRATCH}\n{key}".encode()).hexdigest()
        return os.path.join(self.dir, name[:2], name)

    def get(self, parent: str | None, key: str) -> str | None:
        """The cached image id, if recorded (the caller checks it still exists)."""
        try:
            with open(self._path(parent, key), encoding="ascii") as f:
                return f.read().strip() or None
        except (FileNotFoundError, NotADirectoryError):
            return None

    def put(self, parent: str | None, key: str, image_id: str) -> None:
        path = self._path(parent, key)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        atomic_write(path, image_id.encode("ascii"))
