"""A minimal busybox image for the benchmark, from Debian's busybox-static.

The bench needs an image on a machine that has no registry and perhaps no
checkout (``pyns bench`` from an installed pyns), so the rootfs is made
here, in the package: the static busybox, one symlink per applet, /etc
passwd and group, the usual empty directories. scripts/busybox_rootfs.py
writes the same tree for the demo and the tests.
"""
from __future__ import annotations

import io
import subprocess
import tarfile
import time
from typing import BinaryIO

BUSYBOX = "/bin/busybox"
PASSWD = (b"root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\n"
          b"nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n")
GROUP = b"root:x:0:\nwheel:x:10:app\napp:x:1000:\nnogroup:x:65534:\n"
DIRS = (("bin", 0o755), ("sbin", 0o755), ("usr", 0o755), ("usr/bin", 0o755), ("usr/sbin", 0o755),
        ("etc", 0o755), ("root", 0o700), ("home", 0o755), ("tmp", 0o1777), ("var", 0o755),
        ("var/tmp", 0o1777), ("dev", 0o755), ("proc", 0o555), ("sys", 0o555))


def _member(name: str, kind: bytes, mode: int, mtime: int, size: int = 0, link: str = "",
            owner: int = 0) -> tarfile.TarInfo:
    ti = tarfile.TarInfo(name)
    ti.type, ti.mode, ti.mtime, ti.uid, ti.gid, ti.size = kind, mode, mtime, owner, owner, size
    ti.linkname = link
    return ti


def write_rootfs(out: BinaryIO, busybox: str = BUSYBOX) -> None:
    """Write the rootfs tar to out (an open binary file)."""
    applets = subprocess.run([busybox, "--list-full"], capture_output=True, text=True, check=True).stdout.split()
    now = int(time.time())
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, mode in DIRS:
            tar.addfile(_member(name, tarfile.DIRTYPE, mode, now))
        tar.addfile(_member("home/app", tarfile.DIRTYPE, 0o755, now, owner=1000))
        with open(busybox, "rb") as f:
            data = f.read()
        tar.addfile(_member("bin/busybox", tarfile.REGTYPE, 0o755, now, len(data)), io.BytesIO(data))
        for path in (p.lstrip("/") for p in applets):
            if path != "bin/busybox":
                tar.addfile(_member(path, tarfile.SYMTYPE, 0o777, now, link="/bin/busybox"))
        for name, content in (("etc/passwd", PASSWD), ("etc/group", GROUP)):
            tar.addfile(_member(name, tarfile.REGTYPE, 0o644, now, len(content)), io.BytesIO(content))
