"""ImageStore: the facade the engine, CLI, puller and builder use.

On-disk layout under ``root``::

    content/blobs/sha256/<hex>     configs (the image id is the config digest),
                                   manifests and layer tarballs (as pulled or imported)
    content/ingest/                temp files being written
    layers/<chain-id hex>/         diff/ + layer.json (see layers.py)
    layers/.gc.lock                shared while layers are being adopted
    l/<8 chars>                    short symlinks to layers/*/diff (see links.py)
    images/<id hex>.json           image metadata: layers, size, parent, manifests
    images/repositories.json       tags and repo digests -> image id (refindex.py)
    images/.lock                   serialises metadata changes

Lock order is always ``layers/.gc.lock`` then ``images/.lock``. Adding an
image holds the gc lock *shared* from the first registered layer until its
metadata is written; ``remove`` holds it exclusive while it decides which
layers are unused, so a layer can never be deleted between being found
and being referenced.
"""
from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timezone

from pyns.errors import AmbiguousId, ImageNotFound, InvalidArgument, LayerError, NotFound
from pyns.images import digest as dg
from pyns.images.content import ContentStore
from pyns.fsutil import FileLock, atomic_write_json, read_json
from pyns.images.image import Image
from pyns.images.layers import Layer, LayerStore
from pyns.images.reference import Reference, parse, parse_tagged
from pyns.images.refindex import RefIndex, refs_of
from pyns.images.removal import ImageUser, plan_removal
from pyns.formatting import parse_rfc3339, rfc3339_nano

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (see pyns/__init__.py)
if TYPE_CHECKING:
    from typing import Any, BinaryIO

ImageUsers = Callable[[str], Iterable[ImageUser]]
_HEX_PREFIX_RE = re.compile(r"[a-f0-9]{1,64}")


def ref_key(ref: Reference) -> Reference:
    """The index key for a typed reference: tag defaulted, tag dropped when pinned by digest."""
    if ref.digest is not None:
        return ref.repository().with_digest(ref.digest)
    return ref.with_default_tag()


class ImageStore:
    """Local images: lookup by reference or id, tags, import, removal.

    ``image_users`` (optional) maps an image id to the containers using it;
    :meth:`remove` needs it to refuse deleting images that containers run
    from. The container layer sets it, since images must not import it.
    """

    def __init__(self, root: str, image_users: ImageUsers | None = None) -> None:
        self.root = os.path.abspath(root)
        self.content = ContentStore(self.root)
        self.layers = LayerStore(self.root, self.content)
        self.images_dir = os.path.join(self.root, "images")
        os.makedirs(self.images_dir, exist_ok=True)
        self.index = RefIndex(os.path.join(self.images_dir, "repositories.json"))
        self.image_users = image_users
        self.layers.sweep()
        self.content.sweep()

    # -- locking ---------------------------------------------------------------

    def lock(self) -> FileLock:
        """Exclusive lock for read-modify-write of image metadata and tags."""
        return FileLock(os.path.join(self.images_dir, ".lock"))

    def lease(self) -> FileLock:
        """Hold while registering layers for an image not yet created (see module doc)."""
        return self.layers.lease()

    # -- reading ---------------------------------------------------------------

    def _meta_path(self, image_id: str) -> str:
        return os.path.join(self.images_dir, dg.split(image_id) + ".json")

    def _ids(self) -> list[str]:
        return [dg.from_hex(name[:-5]) for name in os.listdir(self.images_dir)
                if name.endswith(".json") and dg.is_hex_id(name[:-5])]

    def _exists(self, image_id: str) -> bool:
        return os.path.isfile(self._meta_path(image_id))

    def _load(self, image_id: str, refs: dict[str, str] | None = None) -> Image:
        try:
            meta = read_json(self._meta_path(image_id))
            config = json.loads(self.content.read(image_id))
        except (FileNotFoundError, NotFound):
            raise ImageNotFound(f"No such image: {image_id}") from None
        if refs is None:
            refs = self.index.load()
        mine = refs_of(refs, image_id)
        return Image(
            id=image_id, config=config, diff_ids=tuple(meta["diff_ids"]), chain_ids=tuple(meta["chain_ids"]),
            size=int(meta.get("size", 0)), stored=parse_rfc3339(meta["stored"]),
            repo_tags=tuple(r.familiar() for r in mine if r.digest is None),
            repo_digests=tuple(r.familiar() for r in mine if r.digest is not None),
            manifest_digest=meta.get("manifest_digest"), parent=meta.get("parent"),
            image_manifest=meta.get("image_manifest"))

    def resolve(self, ref_or_id: str) -> str:
        """The image id that ``ref_or_id`` names, with docker's lookup order.

        A full id (with or without ``sha256:``), then a reference (default
        tag ``latest``), then a unique id prefix.
        """
        if not isinstance(ref_or_id, str) or not ref_or_id:
            raise InvalidArgument("invalid reference format")
        full = ref_or_id if ref_or_id.startswith(f"{dg.ALGORITHM}:") else f"{dg.ALGORITHM}:{ref_or_id}"
        if dg.is_hex_id(full.split(":", 1)[1]):
            if self._exists(full):
                return full
            raise ImageNotFound(f"No such image: {full}")
        ref = parse(ref_or_id)
        image_id = self.index.load().get(ref_key(ref).string())
        if image_id is not None and self._exists(image_id):
            return image_id
        term = ref_or_id.removeprefix(f"{dg.ALGORITHM}:")
        if _HEX_PREFIX_RE.fullmatch(term):
            matches = [i for i in self._ids() if i.split(":", 1)[1].startswith(term)]
            if len(matches) == 1:
                return matches[0]
            if len(matches) > 1:
                raise AmbiguousId(f"multiple IDs found with provided prefix: {term}")
        raise ImageNotFound(f"No such image: {ref.with_default_tag().familiar()}")

    def get(self, ref_or_id: str) -> Image:
        """Look an image up by reference, full or bare id, or unique id prefix."""
        return self._load(self.resolve(ref_or_id))

    def exists(self, ref_or_id: str) -> bool:
        try:
            self.resolve(ref_or_id)
            return True
        except ImageNotFound:
            return False

    def layer_dirs(self, image: Image | str, short: bool = True) -> list[str]:
        """The layers' trees, bottom layer first; by default as short ``<root>/l/<name>`` links.

        Short paths keep overlayfs's ``lowerdir=`` within the one page the
        kernel accepts for mount options even for deep images (links.py).
        They are symlinks: code that ``lstat``s a layer's root itself wants
        ``short=False`` (the real ``layers/<chain>/diff`` directories).
        overlayfs wants the top layer first: ``":".join(reversed(dirs))``
        (see :meth:`lowerdir`).
        """
        img = image if isinstance(image, Image) else self.get(image)
        dirs = []
        for chain in img.chain_ids:
            try:
                layer = self.layers.get(chain)
            except NotFound:
                raise LayerError(f"image {img.short_id}: layer {chain} is missing") from None
            dirs.append(self.layers.short_path(layer) if short else layer.diff_dir)
        return dirs

    def lowerdir(self, image: Image | str) -> str:
        """The overlayfs ``lowerdir=`` value for an image (top layer first)."""
        return ":".join(reversed(self.layer_dirs(image)))

    # -- tags ------------------------------------------------------------------

    def tag(self, image_id: str, ref: str) -> Reference:
        """Point ``ref`` (default tag ``latest``) at an image, moving it if it existed."""
        target = parse_tagged(ref)
        with self.lock():
            resolved = self.resolve(image_id)
            refs = self.index.load()
            refs[target.string()] = resolved
            self.index.save(refs)
        return target

    def untag(self, ref: str) -> str:
        """Remove one reference (tag or digest); returns its familiar form."""
        key = ref_key(parse(ref))
        with self.lock():
            refs = self.index.load()
            if refs.pop(key.string(), None) is None:
                raise ImageNotFound(f"No such image: {key.familiar()}")
            self.index.save(refs)
        return key.familiar()

    # -- writing ---------------------------------------------------------------

    def create_image(self, config: dict[str, Any] | bytes, layers: Sequence[Layer],
                     reference: str | Reference | None = None, manifest_digest: str | None = None,
                     parent: str | None = None, image_manifest: str | None = None) -> Image:
        """Store an image made of ``config`` and already registered ``layers``.

        ``config`` as bytes is kept verbatim (a pulled config must keep its
        digest, which is the image id); a dict is serialised compactly. The
        config's ``rootfs.diff_ids`` must match the layers. ``reference``
        is tagged (default ``latest``) or, if it carries a digest, recorded
        as a repo digest; ``manifest_digest`` adds ``name@digest`` too.
        ``image_manifest`` is the (stored) single-platform manifest the image
        was pulled with, which push re-sends when it can (same digest).
        """
        raw = config if isinstance(config, bytes) else json.dumps(config, separators=(",", ":")).encode()
        parsed = json.loads(raw)
        _check_layers(parsed, layers)
        for given in (manifest_digest, image_manifest):
            if given is not None:
                dg.split(given)
        keys: list[Reference] = []
        if reference is not None:
            ref = reference if isinstance(reference, Reference) else parse(reference)
            keys.append(ref.repository().with_digest(ref.digest) if ref.digest else parse_tagged(ref.string()))
            if manifest_digest is not None:
                keys.append(ref.repository().with_digest(manifest_digest))
        with self.lease(), self.lock():
            if parent is not None and not self._exists(parent):
                raise ImageNotFound(f"No such image: {parent}")
            for layer in layers:
                if not self.layers.has(layer.chain_id):
                    raise LayerError(f"layer {layer.chain_id} is not registered")
            image_id = self.content.put(raw)
            meta_path = self._meta_path(image_id)
            try:
                meta = read_json(meta_path)
            except FileNotFoundError:
                meta = {"id": image_id, "stored": rfc3339_nano(datetime.now(timezone.utc))}
            meta.update({"diff_ids": [l.diff_id for l in layers], "chain_ids": [l.chain_id for l in layers],
                         "size": sum(l.size for l in layers), "parent": parent or meta.get("parent")})
            if manifest_digest is not None:
                meta["manifest_digest"] = manifest_digest
            if image_manifest is not None:
                meta["image_manifest"] = image_manifest
            atomic_write_json(meta_path, meta)
            if keys:
                refs = self.index.load()
                refs.update({key.string(): image_id for key in keys})
                self.index.save(refs)
        return self.get(image_id)

    def add_repo_digest(self, image_id: str, ref: Reference, manifest: bytes) -> str:
        """Record a pushed manifest: ``name@digest`` points at the image, the manifest is kept.

        The image also remembers it as its manifest when it had none, so
        the next push of the same image sends the same bytes (same digest).
        """
        with self.lease(), self.lock():
            digest = self.content.put(manifest)
            meta_path = self._meta_path(image_id)
            meta = read_json(meta_path)
            if not meta.get("image_manifest") or not self.content.has(meta["image_manifest"]):
                meta["image_manifest"] = digest
                atomic_write_json(meta_path, meta)
            refs = self.index.load()
            refs[ref.repository().with_digest(digest).string()] = image_id
            self.index.save(refs)
        return digest

    def import_tarball(self, stream: BinaryIO, reference: str | None = None, changes: Sequence[str] = (),
                       message: str = "") -> Image:
        """``docker import``: one layer from a tarball, config from the host and ``changes``."""
        from pyns.images.importer import import_tarball

        return import_tarball(self, stream, reference, changes, message)

    # -- removal ---------------------------------------------------------------

    def remove(self, ref_or_id: str, force: bool = False) -> list[str]:
        """``docker rmi``: untag and/or delete; returns docker's output lines.

        Lines are ``Untagged: <ref>``, then ``Deleted: <image id>`` and one
        ``Deleted: <chain id>`` per layer no other image uses.
        """
        with self.layers.gc_lock(), self.lock():
            image_id = self.resolve(ref_or_id)
            refs = self.index.load()
            mine = refs_of(refs, image_id)
            given_ref = None if dg.is_hex_id(ref_or_id.removeprefix("sha256:")) else ref_key(parse(ref_or_id))
            users = list(self.image_users(image_id)) if self.image_users else []
            others = [self._load(i, refs) for i in self._ids() if i != image_id]
            has_children = any(o.parent == image_id for o in others)
            plan = plan_removal(image_id, ref_or_id, given_ref, mine, users, has_children, force)
            lines = []
            for ref in plan.untag:
                refs.pop(ref.string(), None)
                lines.append(f"Untagged: {ref.familiar()}")
            if plan.untag:
                self.index.save(refs)
            if plan.delete:
                lines.extend(self._delete(self._load(image_id, refs), others))
        return lines

    def _delete(self, image: Image, others: Sequence[Image]) -> list[str]:
        """Drop the image's metadata, then every layer, blob and manifest no other image uses."""
        os.unlink(self._meta_path(image.id))
        lines = [f"Deleted: {image.id}"]
        used = {c for other in others for c in other.chain_ids}
        doomed = [c for c in reversed(image.chain_ids) if c not in used]
        doomed_blobs = {b.digest for c in doomed for b in self._layer_blobs(c)}
        for chain in doomed:
            if self.layers.delete(chain):
                lines.append(f"Deleted: {chain}")
        kept = self._blobs_in_use(others)
        for digest in doomed_blobs | {image.id, image.manifest_digest, image.image_manifest} - {None}:
            if digest not in kept:
                self.content.delete(digest)  # type: ignore[arg-type]
        return lines

    def _layer_blobs(self, chain_id: str) -> tuple[Any, ...]:
        try:
            return self.layers.get(chain_id).blobs
        except (NotFound, LayerError):
            return ()

    def _blobs_in_use(self, images: Iterable[Image]) -> set[str]:
        """Configs, manifests and layer tarballs the given images (and all layers) need."""
        used: set[str] = set()
        for img in images:
            used.update(d for d in (img.id, img.manifest_digest, img.image_manifest) if d)
        for layer in self.layers.list():
            used.update(b.digest for b in layer.blobs)
        return used

    def discard_unused(self, chain_ids: Iterable[str], blobs: Iterable[str]) -> None:
        """Undo what a failed pull or load added: layers and blobs no image references.

        Must be called without holding :meth:`lease` (it takes the gc lock
        exclusively, waiting for concurrent adds that might adopt them).
        """
        chain_ids, blobs = list(chain_ids), set(blobs)
        if not chain_ids and not blobs:
            return
        with self.layers.gc_lock(), self.lock():
            refs = self.index.load()
            images = [self._load(i, refs) for i in self._ids()]
            used_chains = {c for img in images for c in img.chain_ids}
            for chain in reversed(chain_ids):
                if chain not in used_chains:
                    blobs.update(b.digest for b in self._layer_blobs(chain))
                    self.layers.delete(chain)
            kept = self._blobs_in_use(images)
            for digest in blobs - kept:
                self.content.delete(digest)

    def gc(self) -> list[str]:
        """Delete layers and blobs no image references (left by crashes); returns the layers' chain ids."""
        with self.layers.gc_lock(), self.lock():
            refs = self.index.load()
            images = [self._load(i, refs) for i in self._ids()]
            used = {c for img in images for c in img.chain_ids}
            removed = [l.chain_id for l in self.layers.list() if l.chain_id not in used]
            for chain in removed:
                self.layers.delete(chain)
            kept = self._blobs_in_use(images)
            for digest in set(self.content.digests()) - kept:
                self.content.delete(digest)
            self.layers.sweep()
            self.content.sweep()
        return removed

    # defined last so that annotations above see the builtin ``list``
    def list(self) -> list[Image]:
        """All images, newest first (``docker images`` order)."""
        refs = self.index.load()
        images = []
        for image_id in self._ids():
            try:
                images.append(self._load(image_id, refs))
            except ImageNotFound:
                continue  # removed while we were listing
        return sorted(images, key=lambda i: (i.created, i.id), reverse=True)


def _check_layers(config: Any, layers: Sequence[Layer]) -> None:
    """Refuse a config whose rootfs does not describe exactly this layer chain."""
    if not isinstance(config, dict):
        raise InvalidArgument("image config must be a JSON object")
    rootfs = config.get("rootfs") or {}
    if rootfs.get("type") != "layers":
        raise InvalidArgument('image config: rootfs.type must be "layers"')
    if list(rootfs.get("diff_ids") or []) != [layer.diff_id for layer in layers]:
        raise InvalidArgument("image config: rootfs.diff_ids do not match the layers")
    parent = None
    for layer in layers:
        if layer.parent != parent:
            raise LayerError(f"layer {layer.chain_id} is not stacked on {parent}")
        parent = layer.chain_id
