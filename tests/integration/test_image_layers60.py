"""A 60-layer image (pushed by skopeo, pulled by pyns) still mounts and runs.

overlayfs gets every layer in one ``lowerdir=`` mount option, and the
kernel accepts one page (4096 bytes) of options: with the store's long
``layers/<64 hex>/diff`` paths that page is full at about 40 layers, so
the image store hands out short ``<root>/l/<8 chars>`` links instead.
(The test function's name is short on purpose: pytest puts it in the
store's path, and absolute paths still count against the page.)
"""
from __future__ import annotations

import io
import os
import tarfile
from pathlib import Path

from tests.conftest import needs_root
from tests.registry_env import (Entry, OciLayout, docker_registry, needs_registry_tools, pyns_config, skopeo_copy,
                                tar_bytes, unique_repo)

pytestmark = [needs_root, needs_registry_tools]
__all__ = ["docker_registry", "pyns_config"]
LAYERS = 60
PAGE = 4096


def test_l60(engine, pyns_config, docker_registry, busybox_tar: Path, tmp_path):
    layers = [_busybox_plus(busybox_tar, Entry("file-from-layer-0", b"layer 0\n"))] + [
        tar_bytes([Entry(f"file-from-layer-{i}", f"layer {i}\n".encode()),
                   Entry(f"dir{i % 3}", kind=tarfile.DIRTYPE, mode=0o755),
                   Entry(f"dir{i % 3}/f", f"{i}\n".encode())]) for i in range(1, LAYERS)]
    layout = OciLayout(tmp_path / "layout")
    layout.tag(layout.image(layers), "deep")
    ref = f"{docker_registry.host}/{unique_repo('deep')}:60"
    skopeo_copy(f"oci:{layout.path}:deep", f"docker://{ref}")

    img = engine.images.pull(ref)
    dirs = engine.image_store.layer_dirs(img.image)
    assert len(dirs) == LAYERS and all(os.path.islink(d) for d in dirs)
    long_form = sum(len(engine.image_store.layers.get(c).diff_dir) + 1 for c in img.image.chain_ids)
    assert long_form > PAGE  # what the long paths alone would have needed
    from pyns.runtime.plan import overlay_options

    upper = os.path.join(engine.root, "containers", "f" * 64, "diff")
    assert len(overlay_options(dirs, upper, upper.replace("diff", "work"))) < PAGE
    out = engine.containers.run(img.id, ["cat", "/file-from-layer-0", "/file-from-layer-59", "/dir0/f", "/dir1/f",
                                         "/dir2/f"], remove=True, network_mode="none")
    assert out == b"layer 0\nlayer 59\n57\n58\n59\n"


def _busybox_plus(busybox_tar: Path, extra: Entry) -> bytes:
    """The busybox rootfs tarball with one more file."""
    buf = io.BytesIO()
    with tarfile.open(busybox_tar) as src, tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as out:
        for member in src:
            out.addfile(member, src.extractfile(member) if member.isreg() else None)
        with tarfile.open(fileobj=io.BytesIO(tar_bytes([extra]))) as more:
            member = more.next()
            assert member is not None
            out.addfile(member, more.extractfile(member))
    return buf.getvalue()
