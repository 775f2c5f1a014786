#!/usr/bin/env python3
"""Write a minimal busybox root filesystem as a tar archive.

    scripts/busybox_rootfs.py OUT.tar [BUSYBOX]

Used by `make demo` and the test suite to make a real image without a
registry: Debian's busybox-static (/bin/busybox), a symlink per applet,
/etc/passwd and /etc/group with root, nobody and an ordinary user "app"
(uid 1000), and the usual empty directories. `pyns import OUT.tar busybox`
turns it into an image.
"""
from __future__ import annotations

import io
import subprocess
import sys
import tarfile
import time

PASSWD = b"root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n"
GROUP = b"root:x:0:\nwheel:x:10:app\napp:x:1000:\nnogroup:x:65534:\n"


def build(out: str, busybox: str = "/bin/busybox") -> None:
    applets = subprocess.run([busybox, "--list-full"], capture_output=True, text=True, check=True).stdout.split()
    now = int(time.time())

    def entry(name: str, kind: bytes, mode: int, data: bytes = b"", link: str = "") -> tuple[tarfile.TarInfo, io.BytesIO | None]:
        ti = tarfile.TarInfo(name)
        ti.type, ti.mode, ti.mtime, ti.uid, ti.gid = kind, mode, now, 0, 0
        if link:
            ti.linkname = link
        ti.size = len(data) if kind == tarfile.REGTYPE else 0
        return ti, io.BytesIO(data) if kind == tarfile.REGTYPE else None

    with tarfile.open(out, "w", format=tarfile.PAX_FORMAT) as tar:
        for d, mode in [("bin", 0o755), ("sbin", 0o755), ("usr", 0o755), ("usr/bin", 0o755), ("usr/sbin", 0o755),
                        ("etc", 0o755), ("root", 0o700), ("home", 0o755), ("tmp", 0o1777), ("var", 0o755),
                        ("var/tmp", 0o1777), ("dev", 0o755), ("proc", 0o555), ("sys", 0o555)]:
            tar.addfile(*entry(d, tarfile.DIRTYPE, mode))
        home = entry("home/app", tarfile.DIRTYPE, 0o755)
        home[0].uid = home[0].gid = 1000
        tar.addfile(*home)
        with open(busybox, "rb") as f:
            tar.addfile(*entry("bin/busybox", tarfile.REGTYPE, 0o755, f.read()))
        for path in applets:
            path = path.lstrip("/")
            if path == "bin/busybox":
                continue
            tar.addfile(*entry(path, tarfile.SYMTYPE, 0o777, link="/bin/busybox"))
        tar.addfile(*entry("etc/passwd", tarfile.REGTYPE, 0o644, PASSWD))
        tar.addfile(*entry("etc/group", tarfile.REGTYPE, 0o644, GROUP))


if __name__ == "__main__":
    if len(sys.argv) not in (2, 3):
        sys.exit(__doc__)
    build(*sys.argv[1:])
