"""An image's merged root filesystem as a plain directory, for the OCI peers.

runc and crun take a directory, not a stack of layers. The layers are
merged by overlayfs itself (so whiteouts and opaque directories mean what
they mean to pyns's containers), mounted read-only in a throw-away mount
namespace by the engine's own spawn, and copied out with ``cp -a``:
nothing is mounted on the host, and no whiteout logic is written twice.
The copy is made once per image id and kept under the scratch directory.
"""
from __future__ import annotations

import os
import shutil

from pyns.errors import PynsError
from pyns.runtime import native
from pyns.runtime.plan import build_plan
from pyns.runtime.spec import Process, Root, Spec

_DONE = ".complete"


def merged_rootfs(layers: list[str], cache_dir: str, image_id: str) -> str:
    """<cache_dir>/<image id>/rootfs holding the merged layers (made on first use)."""
    key = image_id.split(":")[-1][:24]
    base = os.path.join(cache_dir, key)
    rootfs = os.path.join(base, "rootfs")
    if os.path.exists(os.path.join(base, _DONE)):
        return rootfs
    shutil.rmtree(base, ignore_errors=True)
    mnt = os.path.join(base, "merged")
    os.makedirs(mnt)
    os.makedirs(rootfs)
    if layers:
        _copy_merged(layers, mnt, rootfs)
    os.rmdir(mnt)
    with open(os.path.join(base, _DONE), "w", encoding="utf-8") as f:
        f.write(image_id + "\n")
    return rootfs


def _copy_merged(layers: list[str], mnt: str, dest: str) -> None:
    # overlayfs wants two lower dirs when there is no upper one: an empty one is harmless at the bottom.
    empty = os.path.join(os.path.dirname(mnt), "empty")
    os.makedirs(empty, exist_ok=True)
    spec = Spec(process=Process(args=["cp", "-a", f"{mnt}/.", dest], env=["PATH=/usr/bin:/bin"]),
                root=Root(path=mnt, layers=[empty, *layers], pivot=False), namespaces=frozenset({"mount"}),
                parent_death_signal=9)
    plan = native.Plan(build_plan(spec), "cp")
    err_r, err_w = os.pipe2(os.O_CLOEXEC)
    try:
        res = plan.spawn(-1, -1, err_w)
    finally:
        os.close(err_w)
    with os.fdopen(err_r, "rb") as f:
        errors = f.read()
    _, status = os.waitpid(res.pid, 0)
    os.rmdir(empty)
    if os.waitstatus_to_exitcode(status) != 0:
        raise PynsError(f"bench: copying the image's root filesystem failed: {errors.decode(errors='replace').strip()}")
