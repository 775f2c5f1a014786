"""Local image storage: references, content-addressed blobs, unpacked layers.

The public entry point is :class:`ImageStore`; the other modules are its
building blocks, reused by the registry client and the builder, which add
images through :meth:`ImageStore.create_image`.
"""
from __future__ import annotations

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (see pyns/__init__.py)
if TYPE_CHECKING:
    from typing import Any


__all__ = ["Image", "ImageStore", "ImageUser", "Layer", "LayerStore", "Reference", "parse"]

_WHERE = {"Image": "image", "ImageStore": "store", "ImageUser": "removal", "Layer": "layers",
          "LayerStore": "layers", "Reference": "reference", "parse": "reference"}


def __getattr__(name: str) -> Any:
    # Lazy: importing pyns.images.reference (every `pyns run`) must not load
    # the layer unpacker and the registry client.
    if name in _WHERE:
        import importlib

        return getattr(importlib.import_module(f"pyns.images.{_WHERE[name]}"), name)
    raise AttributeError(name)
