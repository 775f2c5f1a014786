#!/usr/bin/env python3
"""Write a minimal busybox root filesystem as a tar archive.

    scripts/busybox_rootfs.py OUT.tar [BUSYBOX]

Used by `make demo` and the test suite to make a real image without a
registry: Debian's busybox-static (/bin/busybox), a symlink per applet,
/etc/passwd and /etc/group with root, nobody and an ordinary user "app"
(uid 1000), and the usual empty directories. `pyns import OUT.tar busybox`
turns it into an image. The tree itself is defined once, in
pyns.bench.busybox (so `pyns bench` works from an installed pyns).
"""
from __future__ import annotations

import sys

from pyns.bench.busybox import BUSYBOX, write_rootfs


def build(out: str, busybox: str = BUSYBOX) -> None:
    with open(out, "wb") as f:
        write_rootfs(f, busybox)


if __name__ == "__main__":
    if len(sys.argv) not in (2, 3):
        sys.exit(__doc__)
    build(*sys.argv[1:])
