"""Build glue: the cffi module from csrc/ and the two small executables.

`pip install .` compiles ``pyns._native`` (cffi out-of-line API) and, in
build_py, ``pyns/libexec/pyns-monitor``, ``pyns/libexec/pyns-init`` and
``pyns/libexec/pyns-pause``:
static binaries because the monitor should stay tiny in memory and init
must run inside any image, even one without a libc.
"""
from __future__ import annotations

import os
import sys

from setuptools import setup
from setuptools.command.build_py import build_py
from distutils.command.build_scripts import build_scripts  # setuptools has no own subclass of it

ROOT = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(ROOT, "csrc"))
from native_build import build_executables  # noqa: E402


class BuildPyWithExecutables(build_py):
    def run(self) -> None:
        super().run()
        build_executables(os.path.join(self.build_lib, "pyns", "libexec"))


class BuildScriptsWithInterpreter(build_scripts):
    """bin/pyns is a sh script that starts Python with -S: write in the
    interpreter that builds (and, with pip, installs) the package."""

    def run(self) -> None:
        super().run()
        for path in (os.path.join(self.build_dir, os.path.basename(s)) for s in self.scripts or ()):
            with open(path, encoding="utf-8") as f:
                text = f.read()
            with open(path, "w", encoding="utf-8") as f:
                f.write(text.replace("@PYTHON@", sys.executable))


setup(
    cffi_modules=["csrc/native_build.py:ffibuilder"],
    cmdclass={"build_py": BuildPyWithExecutables, "build_scripts": BuildScriptsWithInterpreter},
)
