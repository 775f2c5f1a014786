"""Local image storage: references, content-addressed blobs, unpacked layers.

The public entry point is :class:`ImageStore`; the other modules are its
building blocks, reused by the registry client and the builder, which add
images through :meth:`ImageStore.create_image`.
"""
from __future__ import annotations

from pyns.images.image import Image
from pyns.images.layers import Layer, LayerStore
from pyns.images.reference import Reference, parse
from pyns.images.removal import ImageUser
from pyns.images.store import ImageStore

__all__ = ["Image", "ImageStore", "ImageUser", "Layer", "LayerStore", "Reference", "parse"]
