"""engine.images: the Docker-SDK-shaped face of the image store."""
from __future__ import annotations

import datetime as dt
import os
import urllib.request
from typing import IO, Any, Sequence

from pyns import formatting
from pyns.errors import InvalidArgument
from pyns.images.image import Image
from pyns.images.store import ImageStore


def image_attrs(img: Image) -> dict[str, Any]:
    """docker image inspect's shape for an Image."""
    cfg = img.config
    return {
        "Id": img.id,
        "RepoTags": list(img.repo_tags),
        "RepoDigests": list(img.repo_digests),
        "Parent": img.parent or "",
        "Comment": (cfg.get("history") or [{}])[-1].get("comment", "") if cfg.get("history") else "",
        "Created": formatting.rfc3339_nano(img.created),
        "Config": img.container_config,
        "Architecture": img.architecture,
        "Os": img.os,
        "Size": img.size,
        "RootFS": {"Type": "layers", "Layers": list(img.diff_ids)},
        "Metadata": {"LastTagTime": formatting.rfc3339_nano(img.stored)},
    }


class ImageCollection:
    def __init__(self, store: ImageStore) -> None:
        self.store = store

    def get(self, name: str) -> "ImageHandle":
        return ImageHandle(self.store, self.store.get(name))

    def list(self) -> list["ImageHandle"]:
        return [ImageHandle(self.store, i) for i in self.store.list()]

    def remove(self, image: str, force: bool = False) -> list[str]:
        return self.store.remove(image, force=force)

    def import_image(self, source: str | IO[bytes], repository: str | None = None,
                     changes: Sequence[str] = (), message: str = "") -> "ImageHandle":
        """docker import: source is a path, an http(s) URL, or a binary stream."""
        if hasattr(source, "read"):
            img = self.store.import_tarball(source, repository, changes, message)  # type: ignore[arg-type]
        elif isinstance(source, str) and source.startswith(("http://", "https://")):
            with urllib.request.urlopen(source, timeout=60) as resp:  # noqa: S310 - user-given URL
                img = self.store.import_tarball(resp, repository, changes, message)
        elif isinstance(source, str):
            if not os.path.exists(source):
                raise InvalidArgument(f"open {source}: no such file or directory")
            with open(source, "rb") as f:
                img = self.store.import_tarball(f, repository, changes, message)
        else:
            raise InvalidArgument(f"unsupported import source: {source!r}")
        return ImageHandle(self.store, img)


class ImageHandle:
    """An image, like docker.models.images.Image."""

    def __init__(self, store: ImageStore, image: Image) -> None:
        self._store = store
        self.image = image

    @property
    def id(self) -> str:
        return self.image.id

    @property
    def short_id(self) -> str:
        return "sha256:" + self.image.short_id

    @property
    def tags(self) -> list[str]:
        return list(self.image.repo_tags)

    @property
    def labels(self) -> dict[str, str]:
        return self.image.labels

    @property
    def attrs(self) -> dict[str, Any]:
        return image_attrs(self.image)

    @property
    def created(self) -> dt.datetime:
        return self.image.created

    def tag(self, repository: str, tag: str | None = None) -> bool:
        self._store.tag(self.image.id, f"{repository}:{tag}" if tag else repository)
        return True

    def __repr__(self) -> str:
        return f"<Image: {', '.join(repr(t) for t in self.tags) or self.short_id}>"
