"""engine.images: the Docker-SDK-shaped face of the image store."""
from __future__ import annotations

import datetime as dt
import os
from typing import IO, TYPE_CHECKING, Any, Callable, Sequence

from pyns import formatting
from pyns.errors import InvalidArgument, PynsError
from pyns.images.image import Image
from pyns.images.store import ImageStore

if TYPE_CHECKING:
    from pyns.images.history import HistoryEntry
    from pyns.images.platform import Platform
    from pyns.images.progress import ProgressCallback
    from pyns.images.prune import PruneReport
    from pyns.images.pull import PullResult
    from pyns.images.push import PushResult
    from pyns.images.registry.config import RegistryConfig
    from pyns.images.search import SearchResult


def image_attrs(img: Image) -> dict[str, Any]:
    """docker image inspect's shape for an Image."""
    cfg = img.config
    attrs = {
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
    if cfg.get("variant"):
        attrs["Variant"] = str(cfg["variant"])
    return attrs


class ImageCollection:
    """``engine.images``: local images plus the registry verbs (pull, push, login, search).

    ``config`` (credentials, mirrors, insecure registries) is read from
    pyns's config file on first use unless given.
    """

    def __init__(self, store: ImageStore, config: RegistryConfig | None = None,
                 builder: Callable[..., Any] | None = None) -> None:
        self.store = store
        self._config = config
        self._builder = builder  # the engine's Dockerfile builder (pyns.build sits above this layer)

    def build(self, **kwargs: Any) -> tuple["ImageHandle", list[dict[str, str]]]:
        """docker SDK's images.build(path=..., tag=..., dockerfile=..., buildargs=..., nocache=...,
        target=...): (image, log chunks). Raises BuildError."""
        if self._builder is None:
            raise PynsError("this image collection has no builder (use pyns.Engine().images)")
        result = self._builder(**kwargs)
        return ImageHandle(self.store, result.image), result.logs

    @property
    def config(self) -> RegistryConfig:
        if self._config is None:
            from pyns.images.registry.config import RegistryConfig

            self._config = RegistryConfig.load()
        return self._config

    def pull(self, repository: str, tag: str | None = None, platform: str | Platform | None = None,
             progress: ProgressCallback | None = None) -> "ImageHandle":
        """Pull ``repository[:tag|@digest]`` (default tag latest) and return the image.

        ``platform`` is ``os/arch[/variant]`` (default: this machine's);
        ``progress`` receives :class:`~pyns.images.progress.ProgressEvent` s.
        Raises RegistryError (network, auth, unknown manifest), LayerError
        (verification, hostile content) or InvalidArgument (reference).
        """
        return ImageHandle(self.store, self.pull_result(repository, tag, platform, progress).image)

    def pull_result(self, repository: str, tag: str | None = None, platform: str | Platform | None = None,
                    progress: ProgressCallback | None = None) -> PullResult:
        """Like :meth:`pull`, with the resolved digest and whether the image was already current."""
        from pyns.images.platform import parse_platform
        from pyns.images.pull import Puller
        from pyns.images.reference import parse

        ref = parse(f"{repository}:{tag}" if tag else repository)
        want = parse_platform(platform) if isinstance(platform, str) else platform
        return Puller(self.store, self.config, progress).pull(ref, want)

    def push(self, repository: str, tag: str | None = None, progress: ProgressCallback | None = None) -> PushResult:
        """Push a local image (default tag latest); returns the manifest digest and size."""
        from pyns.images.push import Pusher
        from pyns.images.reference import parse

        return Pusher(self.store, self.config, progress).push(parse(f"{repository}:{tag}" if tag else repository))

    def get(self, name: str) -> "ImageHandle":
        return ImageHandle(self.store, self.store.get(name))

    def remove(self, image: str, force: bool = False) -> list[str]:
        return self.store.remove(image, force=force)

    def prune(self, all_unused: bool = False) -> PruneReport:
        """``docker image prune [-a]``: remove dangling (or all unused) images."""
        from pyns.images.prune import prune

        return prune(self.store, all_unused)

    def search(self, term: str, limit: int = 25) -> list[SearchResult]:
        """Docker Hub-style search (or a private registry's catalog for ``host/term``)."""
        from pyns.images.search import search

        return search(self.config, term, limit)

    def login(self, username: str, password: str, registry: str | None = None) -> str:
        """Check credentials against ``registry`` (default Docker Hub) and store them 0600."""
        from pyns.images.registry.login import login

        return login(self.config, registry, username, password)

    def logout(self, registry: str | None = None) -> str:
        from pyns.images.registry.login import logout

        return logout(self.config, registry)

    def save(self, names: Sequence[str], out: IO[bytes]) -> None:
        """Write images as a ``docker save`` / OCI layout tar to ``out``."""
        from pyns.images.save import save

        save(self.store, names, out)  # type: ignore[arg-type]

    def load(self, source: IO[bytes]) -> list[str]:
        """Load a ``docker save`` or OCI layout tar; returns ``Loaded image: ...`` lines."""
        from pyns.images.load import load

        return load(self.store, source)  # type: ignore[arg-type]

    def import_image(self, source: str | IO[bytes], repository: str | None = None,
                     changes: Sequence[str] = (), message: str = "") -> "ImageHandle":
        """docker import: source is a path, an http(s) URL, or a binary stream."""
        if hasattr(source, "read"):
            img = self.store.import_tarball(source, repository, changes, message)  # type: ignore[arg-type]
        elif isinstance(source, str) and source.startswith(("http://", "https://")):
            import urllib.request  # only for `import URL`: ~15 ms of imports (email, ssl) otherwise

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

    # defined last so that annotations above see the builtin ``list``
    def list(self) -> list["ImageHandle"]:
        return [ImageHandle(self.store, i) for i in self.store.list()]


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

    def history(self) -> list[HistoryEntry]:
        """The image's build steps, newest first, with the size each layer adds."""
        from pyns.images.history import history

        return history(self.image, [self._store.layers.get(c).size for c in self.image.chain_ids])

    def tag(self, repository: str, tag: str | None = None) -> bool:
        self._store.tag(self.image.id, f"{repository}:{tag}" if tag else repository)
        return True

    def __repr__(self) -> str:
        return f"<Image: {', '.join(repr(t) for t in self.tags) or self.short_id}>"
