"""The facade: Engine.images and Engine.containers over one state root."""
from __future__ import annotations

import functools
import os

DEFAULT_ROOT = "/var/lib/pyns"
DEFAULT_RUN_ROOT = "/run/pyns"


def default_run_root(root: str) -> str:
    """Where locks (and later sockets) live: /run/pyns for the default root,
    so a reboot clears them; <root>/run for any other root, so that two
    roots (tests, side-by-side installs) never share locks."""
    return DEFAULT_RUN_ROOT if root == DEFAULT_ROOT else os.path.join(root, "run")


class Engine:
    """Entry point of the library, like docker.DockerClient.

    Run by an ordinary user, the engine is rootless (runtime/rootless.py):
    the constructor joins the user's pyns user namespace, state defaults to
    ~/.local/share/pyns, and what needs the host's root is refused.

    ``root`` defaults to $PYNS_ROOT, then /var/lib/pyns; ``run_root`` (locks,
    ephemeral files) to $PYNS_RUN, then see default_run_root. Several Engines on
    the same root (in one process or many) are safe: the store locks.
    """

    def __init__(self, root: str | None = None, run_root: str | None = None,
                 userns_remap: str | None = None) -> None:
        from pyns.runtime import rootless

        self.rootless = rootless.active()
        default = rootless.default_root() if self.rootless else DEFAULT_ROOT
        self.root = os.path.abspath(root or os.environ.get("PYNS_ROOT") or default)
        #: docker's --userns-remap for containers created through this engine
        #: ("default" or "USER[:GROUP]"); defaults to $PYNS_USERNS_REMAP.
        self.userns_remap = userns_remap if userns_remap is not None else os.environ.get("PYNS_USERNS_REMAP") or None
        run_default = rootless.default_run_root(self.root) if self.rootless else default_run_root(self.root)
        self.run_root = os.path.abspath(run_root or os.environ.get("PYNS_RUN") or run_default)
        os.makedirs(self.root, mode=0o700 if self.rootless else 0o711, exist_ok=True)
        if self.rootless and not rootless.in_user_namespace():
            rootless.enter(self.run_root)  # an ordinary user: become root of its user namespace

    @functools.cached_property
    def image_store(self):  # -> pyns.images.store.ImageStore
        from pyns.images.store import ImageStore

        # rmi asks which containers use an image (docker's conflict rules).
        return ImageStore(self.root, image_users=lambda image_id: self.manager.image_users(image_id))

    @functools.cached_property
    def images(self):  # -> pyns.images.collection.ImageCollection
        from pyns.images.collection import ImageCollection

        return ImageCollection(self.image_store, builder=self._build)

    def _build(self, **kwargs):  # -> pyns.build.api.BuildResult
        from pyns.build.api import build

        return build(self, **kwargs)

    @functools.cached_property
    def manager(self):  # -> pyns.containers.manager.ContainerManager
        from pyns.containers.manager import ContainerManager

        return ContainerManager(self.root, self.image_store, self.run_root, lambda: self.networks,
                                userns_remap=self.userns_remap)

    @functools.cached_property
    def networks(self):  # -> pyns.network.manager.NetworkManager
        from pyns.network.manager import NetworkManager

        return NetworkManager(self.root, self.run_root)

    @functools.cached_property
    def containers(self):  # -> pyns.containers.container.ContainerCollection
        from pyns.containers.container import ContainerCollection

        return ContainerCollection(self.manager, pull=lambda ref, platform=None: self.images.pull(ref, platform=platform))

    def __repr__(self) -> str:
        return f"<Engine root={self.root}>"
