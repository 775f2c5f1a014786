"""Short symlinks to layer trees, so deep images fit overlayfs's option string.

The kernel copies ``mount(2)`` options into one page (4096 bytes), and an
overlay's ``lowerdir=`` lists every layer. With ``<root>/layers/<64 hex>/diff``
per layer that page is full at about 40 layers; ``<root>/l/<8 chars>``
(docker's overlay2 ``l/`` directory does the same) cuts each entry to a
fifth of that. Link names are derived from the chain id, so no metadata
records them and any process can recreate a missing one; a (40-bit)
collision simply falls back to the long path.
"""
from __future__ import annotations

import os

from pyns.images import digest as dg

LINK_DIR = "l"
_NAME_BYTES = 5  # 40 bits -> 8 base32 characters, none of them ':' or ','
_B32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"  # RFC 4648's alphabet


def link_name(chain_id: str) -> str:
    """The short, deterministic link name of a layer: the chain id's first
    40 bits in base32 (what base64.b32encode gives, without importing base64
    on every container start)."""
    n = int(dg.split(chain_id)[:2 * _NAME_BYTES], 16)
    return "".join(_B32[(n >> shift) & 31] for shift in range(35, -1, -5))


class LayerLinks:
    """``<root>/l/<name>`` -> ``../layers/<chain hex>/diff``."""

    def __init__(self, root: str, layers_dir: str) -> None:
        self.dir = os.path.join(os.path.abspath(root), LINK_DIR)
        self._target_prefix = os.path.join("..", os.path.relpath(layers_dir, os.path.abspath(root)))
        os.makedirs(self.dir, exist_ok=True)

    def _target(self, chain_id: str) -> str:
        return os.path.join(self._target_prefix, dg.split(chain_id), "diff")

    def path(self, chain_id: str, long_path: str) -> str:
        """The short path of a layer's tree, creating the link if needed.

        Falls back to ``long_path`` when the name is taken by another
        layer, so a collision costs length, never correctness.
        """
        link = os.path.join(self.dir, link_name(chain_id))
        target = self._target(chain_id)
        try:
            current = os.readlink(link)
        except FileNotFoundError:
            current = None
        except OSError:
            return long_path
        if current == target:
            return link
        if current is not None and os.path.exists(link):
            return long_path  # a live layer owns this name
        tmp = f"{link}.tmp-{os.getpid()}-{os.urandom(3).hex()}"
        os.symlink(target, tmp)
        os.replace(tmp, link)  # atomic: concurrent creators agree, a stale (dangling) link is replaced
        return link

    def remove(self, chain_id: str) -> None:
        """Drop the layer's link if it is the one pointing at it."""
        link = os.path.join(self.dir, link_name(chain_id))
        try:
            if os.readlink(link) == self._target(chain_id):
                os.unlink(link)
        except OSError:
            pass
