"""Layer-level helpers of the builder: overlay views, layer tars, RUN diffs, COPY destinations."""
from __future__ import annotations

import io
import os
import stat
import tarfile
from pathlib import Path

import pytest

from pyns.build.copying import destination
from pyns.build.diff import UpperDiff
from pyns.build.layertar import LayerWriter, Meta
from pyns.build.rootfs import OPAQUE_XATTRS, LayeredFS

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="whiteouts and trusted xattrs need root")


def whiteout(path: Path) -> None:
    os.mknod(path, stat.S_IFCHR, os.makedev(0, 0))


def layers(tmp_path: Path) -> list[str]:
    """lower: /etc/{passwd,group}, /opt/{a,b}, /lib -> usr/lib; upper: no group, /opt opaque with c."""
    lower, upper = tmp_path / "lower", tmp_path / "upper"
    for d in (lower / "etc", lower / "opt", lower / "usr/lib", upper / "etc", upper / "opt"):
        d.mkdir(parents=True)
    (lower / "etc/passwd").write_text("root:x:0:0::/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n")
    (lower / "etc/group").write_text("root:x:0:\n")
    (lower / "opt/a").write_text("a")
    (lower / "opt/b").write_text("b")
    os.symlink("usr/lib", lower / "lib")
    os.chmod(lower / "opt", 0o750)
    whiteout(upper / "etc/group")
    os.setxattr(upper / "opt", OPAQUE_XATTRS[0], b"y")
    (upper / "opt/c").write_text("c")
    return [str(lower), str(upper)]


@needs_root
def test_layered_view(tmp_path: Path) -> None:
    fs = LayeredFS(layers(tmp_path))
    assert fs.listdir("/etc") == ["passwd"] and fs.lstat("/etc/group") is None
    assert fs.listdir("/opt") == ["c"] and fs.lstat("/opt/a") is None  # opaque hides the lower copy
    assert fs.resolve("/lib/x") == "/usr/lib/x" and fs.resolve("/lib", follow_last=False) == "/lib"
    assert fs.resolve("/../../lib/../etc") == "/usr/etc"  # ".." after a symlink: its target's parent
    assert fs.read_file("/etc/passwd").startswith(b"root")
    assert [e.path for e in fs.walk("/")] == ["/etc", "/etc/passwd", "/lib", "/opt", "/opt/c", "/usr", "/usr/lib"]


@needs_root
def test_copy_destination_rules(tmp_path: Path) -> None:
    fs = LayeredFS(layers(tmp_path))
    dest = destination("x/", "/lib", fs)
    assert (dest.path, dest.is_dir_hint, dest.existing) == ("/usr/lib/x", True, None)
    assert destination(".", "/opt", fs).existing is not None
    assert destination("/etc/passwd", "/", fs).path == "/etc/passwd"


def test_layer_writer_copies_parent_metadata() -> None:
    out = io.BytesIO()
    known = {"/tmp": Meta(0o1777, 0, 0, 5)}
    writer = LayerWriter(out, known.get, Meta(0o755, 7, 7, 9))
    writer.file("/tmp/new/file", Meta(0o600, 1, 2, 3), io.BytesIO(b"hi"), 2)
    writer.whiteout("/tmp/gone")
    writer.close()
    out.seek(0)
    with tarfile.open(fileobj=out) as tf:
        got = [(m.name, oct(m.mode), m.uid, m.type) for m in tf.getmembers()]
    assert got == [("tmp", "0o1777", 0, tarfile.DIRTYPE), ("tmp/new", "0o755", 7, tarfile.DIRTYPE),
                   ("tmp/new/file", "0o600", 1, tarfile.REGTYPE), ("tmp/.wh.gone", "0o644", 0, tarfile.REGTYPE)]
    assert writer.entries == 4


@needs_root
def test_upper_diff_skips_runtime_mount_points_and_volumes(tmp_path: Path) -> None:
    fs = LayeredFS(layers(tmp_path))
    upper = tmp_path / "run-upper"
    for d in ("etc", "proc", "dev", "data/sub", "opt"):
        (upper / d).mkdir(parents=True)
    os.chmod(upper / "etc", 0o755)
    for name in ("hosts", "hostname", "resolv.conf"):
        (upper / "etc" / name).write_text("")
    (upper / "data/sub/file").write_text("under a volume")
    os.chmod(upper / "opt", 0o750)
    whiteout(upper / "opt/c")
    (upper / "opt/d").write_text("d")
    os.link(upper / "opt/d", upper / "opt/d2")
    diff = UpperDiff(str(upper), fs, ["/data"])
    out = io.BytesIO()
    writer = LayerWriter(out, lambda p: None, Meta(0o755))
    diff.write(writer)
    writer.close()
    out.seek(0)
    with tarfile.open(fileobj=out) as tf:
        members = {m.name: m for m in tf.getmembers()}
    assert sorted(members) == ["data", "opt", "opt/.wh.c", "opt/d", "opt/d2"]
    assert members["opt/d2"].islnk() and members["opt/d2"].linkname == "opt/d"
    assert UpperDiff(str(tmp_path / "lower" / "usr"), fs).empty() is False
