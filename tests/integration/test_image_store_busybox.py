"""Import a real busybox root filesystem, run it, mount it, remove it (root only)."""
from __future__ import annotations

import io
import os
import shutil
import stat
import subprocess
import tarfile
import time

import pytest

from pyns.errors import ImageNotFound
from pyns.images import ImageStore

BUSYBOX = "/bin/busybox"
pytestmark = [
    pytest.mark.root,
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root to restore ownership and mount overlayfs"),
]


def _wait_for_busybox(timeout: float = 300.0) -> None:
    """busybox-static may still be installing on a fresh machine."""
    deadline = time.monotonic() + timeout
    while not (os.path.isfile(BUSYBOX) and os.access(BUSYBOX, os.X_OK)):
        if time.monotonic() > deadline:
            pytest.skip("busybox-static is not installed (/bin/busybox missing)")
        time.sleep(2)
    try:
        subprocess.run([BUSYBOX, "true"], check=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        pytest.skip("/bin/busybox does not run")


def _entry(name: str, kind: bytes = tarfile.REGTYPE, mode: int = 0o644, data: bytes = b"",
           link: str = "") -> tuple[tarfile.TarInfo, bytes]:
    info = tarfile.TarInfo(name)
    info.type, info.mode, info.linkname, info.mtime = kind, mode, link, int(time.time())
    info.size = len(data)
    return info, data


def busybox_rootfs() -> bytes:
    """bin/busybox, one symlink per applet, a minimal /etc — as docker's busybox image."""
    applets = subprocess.run([BUSYBOX, "--list"], check=True, capture_output=True, text=True).stdout.split()
    entries = [_entry("bin", tarfile.DIRTYPE, 0o755), _entry("etc", tarfile.DIRTYPE, 0o755),
               _entry("tmp", tarfile.DIRTYPE, 0o1777), _entry("root", tarfile.DIRTYPE, 0o700),
               _entry("bin/busybox", mode=0o755, data=open(BUSYBOX, "rb").read())]
    entries += [_entry(f"bin/{a}", tarfile.SYMTYPE, 0o777, link="busybox") for a in applets if a != "busybox"]
    entries += [
        _entry("etc/passwd", data=b"root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/home:/bin/false\n"),
        _entry("etc/group", data=b"root:x:0:\nnogroup:x:65534:\n"),
        _entry("etc/motd", data=b"base layer\n"),
    ]
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w|gz") as tf:
        for info, data in entries:
            tf.addfile(info, io.BytesIO(data) if info.isreg() else None)
    return buf.getvalue()


def overlay_diff() -> bytes:
    """A second layer: deletes bin/vi, replaces /etc wholesale (opaque), adds a file."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        for info, data in [_entry("bin/.wh.vi"), _entry("etc", tarfile.DIRTYPE, 0o755),
                           _entry("etc/.wh..wh..opq"), _entry("etc/hostname", data=b"layered\n"),
                           _entry("hello.txt", data=b"hi from layer 2\n")]:
            tf.addfile(info, io.BytesIO(data) if info.isreg() else None)
    return buf.getvalue()


@pytest.fixture
def store(tmp_path) -> ImageStore:
    _wait_for_busybox()
    return ImageStore(str(tmp_path / "pyns"))


def test_import_busybox(store: ImageStore, tmp_path) -> None:
    tarball = tmp_path / "busybox.tar.gz"
    tarball.write_bytes(busybox_rootfs())
    with open(tarball, "rb") as f:
        img = store.import_tarball(f, "busybox", changes=['CMD ["sh"]'])

    assert store.get("busybox:latest").id == img.id
    assert store.get("busybox").container_config["Cmd"] == ["sh"]
    listed = store.list()
    assert [i.id for i in listed] == [img.id] and listed[0].repo_tags == ("busybox:latest",)
    assert img.size >= os.path.getsize(BUSYBOX)

    dirs = store.layer_dirs(img)
    assert len(dirs) == 1 and os.path.isabs(dirs[0])
    root = dirs[0]
    assert os.readlink(f"{root}/bin/sh") == "busybox"
    assert stat.S_IMODE(os.lstat(f"{root}/tmp").st_mode) == 0o1777
    assert os.lstat(f"{root}/bin/busybox").st_uid == 0
    # the unpacked tree is a working root filesystem
    out = subprocess.run(["chroot", root, "/bin/sh", "-c", "echo hi from $(cat /etc/motd); id -un"],
                         check=True, capture_output=True, text=True, timeout=30).stdout
    assert out == "hi from base layer\nroot\n"

    lines = store.remove("busybox")
    assert lines == ["Untagged: busybox:latest", f"Deleted: {img.id}", f"Deleted: {img.chain_ids[0]}"]
    assert store.list() == [] and store.layers.list() == []
    with pytest.raises(ImageNotFound, match="No such image: busybox:latest"):
        store.get("busybox")


def test_layers_stack_as_overlay_lowerdirs(store: ImageStore, tmp_path) -> None:
    base = store.layers.register(io.BytesIO(busybox_rootfs()))
    top = store.layers.register(io.BytesIO(overlay_diff()), parent=base.chain_id)
    config = {"architecture": "amd64", "os": "linux", "config": {"Cmd": ["sh"]},
              "rootfs": {"type": "layers", "diff_ids": [base.diff_id, top.diff_id]}}
    img = store.create_image(config, [base, top], reference="127.0.0.1:5000/layered:v1")
    assert [os.path.realpath(d) for d in store.layer_dirs(img)] == [base.diff_dir, top.diff_dir]  # via l/ links

    mnt = tmp_path / "mnt"
    mnt.mkdir()
    if shutil.which("mount") is None:
        pytest.skip("mount(8) not available")
    res = subprocess.run(["mount", "-t", "overlay", "overlay", "-o", f"lowerdir={store.lowerdir(img)}", str(mnt)],
                         capture_output=True, text=True)
    if res.returncode != 0:
        pytest.skip(f"cannot mount overlayfs here: {res.stderr.strip()}")
    try:
        assert not os.path.lexists(mnt / "bin" / "vi")  # whiteout hides the lower file
        assert os.path.islink(mnt / "bin" / "sh")
        assert sorted(os.listdir(mnt / "etc")) == ["hostname"]  # opaque dir hides the lower /etc
        assert (mnt / "hello.txt").read_text() == "hi from layer 2\n"
        out = subprocess.run(["chroot", str(mnt), "/bin/cat", "/etc/hostname"], check=True,
                             capture_output=True, text=True, timeout=30).stdout
        assert out == "layered\n"
    finally:
        subprocess.run(["umount", str(mnt)], check=True)

    # a second image on the same base shares its layer; removal keeps what is still used
    other = store.create_image({**config, "rootfs": {"type": "layers", "diff_ids": [base.diff_id]}}, [base],
                               reference="base-only")
    assert store.remove("127.0.0.1:5000/layered:v1") == [
        "Untagged: 127.0.0.1:5000/layered:v1", f"Deleted: {img.id}", f"Deleted: {top.chain_id}"]
    assert [l.chain_id for l in store.layers.list()] == [base.chain_id]
    assert store.remove(other.id)[-1] == f"Deleted: {base.chain_id}"
    assert store.layers.list() == []
