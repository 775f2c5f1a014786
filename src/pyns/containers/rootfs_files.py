"""Read a file of a container's root filesystem without mounting it.

Used before start to resolve --user against the image's /etc/passwd and
/etc/group: the writable layer first, then the image layers top-down, as
overlayfs would show them (a whiteout hides the file).
"""
from __future__ import annotations

import os
import stat


def read_file(upper: str | None, layers: list[str], path: str, limit: int = 4 << 20) -> bytes | None:
    rel = path.lstrip("/")
    for d in ([upper] if upper else []) + list(reversed(layers)):
        p = os.path.join(d, rel)
        try:
            st = os.lstat(p)
        except OSError:
            continue
        if stat.S_ISCHR(st.st_mode) and st.st_rdev == 0:
            return None  # overlay whiteout: deleted in this layer
        if not stat.S_ISREG(st.st_mode):
            return None
        with open(p, "rb") as f:
            return f.read(limit)
    return None
