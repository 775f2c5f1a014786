"""The facade: Engine.images and Engine.containers over one state root."""
from __future__ import annotations

import functools
import os

DEFAULT_ROOT = "/var/lib/pyns"


class Engine:
    """Entry point of the library, like docker.DockerClient.

    ``root`` defaults to $PYNS_ROOT, then /var/lib/pyns. Several Engines on
    the same root (in one process or many) are safe: the store locks.
    """

    def __init__(self, root: str | None = None) -> None:
        self.root = os.path.abspath(root or os.environ.get("PYNS_ROOT") or DEFAULT_ROOT)
        os.makedirs(self.root, mode=0o711, exist_ok=True)

    @functools.cached_property
    def image_store(self):  # -> pyns.images.store.ImageStore
        from pyns.images.store import ImageStore

        # rmi asks which containers use an image (docker's conflict rules).
        return ImageStore(self.root, image_users=lambda image_id: self.manager.image_users(image_id))

    @functools.cached_property
    def images(self):  # -> pyns.images.collection.ImageCollection
        from pyns.images.collection import ImageCollection

        return ImageCollection(self.image_store)

    @functools.cached_property
    def manager(self):  # -> pyns.containers.manager.ContainerManager
        from pyns.containers.manager import ContainerManager

        return ContainerManager(self.root, self.image_store)

    @functools.cached_property
    def containers(self):  # -> pyns.containers.container.ContainerCollection
        from pyns.containers.container import ContainerCollection

        return ContainerCollection(self.manager)

    def __repr__(self) -> str:
        return f"<Engine root={self.root}>"
