"""cffi out-of-line API builder for ``pyns._native``.

The cdef is csrc/pyns_api.h itself, so the C declarations and what Python
sees cannot drift apart. The two executables (pyns-monitor, pyns-init) are
built from the same sources by setup.py.
"""
from __future__ import annotations

import os
import subprocess

from cffi import FFI

HERE = os.path.dirname(os.path.abspath(__file__))
# Sources of the library proper; *_main.c are the executables' entry points.
LIB_SOURCES = ["error.c", "plan.c", "rootfs.c", "identity.c", "spawn.c", "logfmt.c", "supervise.c", "fdpass.c", "userns.c", "rootless.c", "untar.c"]
CFLAGS = ["-O2", "-Wall", "-Wextra", "-D_GNU_SOURCE", "-fno-strict-aliasing"]

ffibuilder = FFI()
with open(os.path.join(HERE, "pyns_api.h"), encoding="utf-8") as f:
    ffibuilder.cdef(f.read())
ffibuilder.set_source(
    "pyns._native",
    '#include "pyns_api.h"',
    sources=[os.path.relpath(os.path.join(HERE, s)) for s in LIB_SOURCES],
    include_dirs=[os.path.relpath(HERE)],
    extra_compile_args=CFLAGS,
)

EXECUTABLES = {
    "pyns-monitor": ["monitor_main.c", *LIB_SOURCES],
    "pyns-init": ["init_main.c"],
    "pyns-pause": ["pause_main.c"],
}


def build_executables(dest: str) -> None:
    """Compile the static helper executables (monitor, init) into dest."""
    os.makedirs(dest, exist_ok=True)
    cc = os.environ.get("CC", "gcc")
    for name, sources in EXECUTABLES.items():
        paths = [os.path.join(HERE, s) for s in sources]
        cmd = [cc, *CFLAGS, "-static", "-s", "-I", HERE, "-o", os.path.join(dest, name), *paths]
        subprocess.check_call(cmd)


if __name__ == "__main__":
    # Development build in place: python3 csrc/native_build.py
    build_executables(os.path.join(HERE, "..", "src", "pyns", "libexec"))
