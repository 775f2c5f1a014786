"""Safe layer extraction: metadata, whiteouts, and hostile tarballs."""
from __future__ import annotations

import io
import os
import stat
import tarfile

import pytest

from pyns.errors import LayerError
from pyns.images.unpack import clean_name, unpack

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="needs root: ownership, device nodes, trusted xattrs")
MTIME = 1_600_000_000


def member(name: str, kind: bytes = tarfile.REGTYPE, *, data: bytes = b"", mode: int = 0o644, uid: int = 0,
           gid: int = 0, link: str = "", major: int = 0, minor: int = 0, mtime: int = MTIME,
           pax: dict[str, str] | None = None) -> tuple[tarfile.TarInfo, bytes]:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.mode, info.uid, info.gid, info.mtime = mode, uid, gid, mtime
    info.linkname, info.devmajor, info.devminor = link, major, minor
    info.size = len(data) if kind == tarfile.REGTYPE else 0
    if pax:
        info.pax_headers = pax
    return info, data


def d(name: str, mode: int = 0o755, **kw) -> tuple[tarfile.TarInfo, bytes]:
    return member(name, tarfile.DIRTYPE, mode=mode, **kw)


def tar(*members: tuple[tarfile.TarInfo, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tf:
        for info, data in members:
            tf.addfile(info, io.BytesIO(data) if info.isreg() else None)
    return buf.getvalue()


def extract(tmp_path, *members: tuple[tarfile.TarInfo, bytes]) -> str:
    dest = tmp_path / "dest"
    dest.mkdir(exist_ok=True)
    unpack(io.BytesIO(tar(*members)), str(dest))
    return str(dest)


@pytest.fixture
def outside(tmp_path):
    """A directory next to the destination that nothing may touch."""
    path = tmp_path / "outside"
    path.mkdir()
    (path / "victim").write_bytes(b"original")
    return path


def test_clean_name() -> None:
    assert clean_name("./a//b/./c/") == "a/b/c"
    assert clean_name("/abs/path") == "abs/path"
    assert clean_name("a/../b") == "b"
    assert clean_name("./") == "" and clean_name("/") == "" and clean_name(".") == ""
    for bad in ("..", "../x", "a/../../x", "/../x", "./.."):
        with pytest.raises(LayerError):
            clean_name(bad)


def test_files_dirs_modes_and_times(tmp_path) -> None:
    dest = extract(tmp_path,
                   d("etc", mode=0o750, mtime=MTIME - 100),
                   member("etc/motd", data=b"hello\n", mode=0o640, mtime=MTIME + 5),
                   member("/abs/inside", data=b"abs"),  # absolute names land inside the layer
                   member("deep/er/file", data=b"x"),  # parents are created as needed
                   d("etc", mode=0o751, mtime=MTIME - 50))  # repeated dir: metadata merged
    st = os.lstat(f"{dest}/etc")
    assert stat.S_IMODE(st.st_mode) == 0o751 and st.st_mtime == MTIME - 50  # dir times restored last
    st = os.lstat(f"{dest}/etc/motd")
    assert stat.S_IMODE(st.st_mode) == 0o640 and st.st_mtime == MTIME + 5
    assert open(f"{dest}/etc/motd", "rb").read() == b"hello\n"
    assert open(f"{dest}/abs/inside", "rb").read() == b"abs"
    assert stat.S_IMODE(os.lstat(f"{dest}/deep/er").st_mode) == 0o755


def test_root_entry_is_skipped(tmp_path) -> None:
    (tmp_path / "dest").mkdir(mode=0o755)
    before = os.lstat(tmp_path / "dest")
    dest = extract(tmp_path, d("./", mode=0o700, uid=123), member("./f", data=b"1"))
    after = os.lstat(dest)
    assert (after.st_mode, after.st_uid) == (before.st_mode, before.st_uid)  # like docker: root left alone
    assert os.path.isfile(f"{dest}/f")
    with pytest.raises(LayerError, match="root must be a directory"):
        extract(tmp_path, member("./", data=b""))


def test_symlinks_and_hardlinks(tmp_path) -> None:
    dest = extract(tmp_path,
                   member("bin/busybox", data=b"\x7fELF", mode=0o755),
                   member("bin/sh", tarfile.SYMTYPE, link="busybox"),
                   member("bin/abs", tarfile.SYMTYPE, link="/etc/passwd"),
                   member("bin/ls", tarfile.LNKTYPE, link="bin/busybox"),
                   member("/bin/cat", tarfile.LNKTYPE, link="/bin/busybox"),
                   member("bin/sh-link", tarfile.LNKTYPE, link="bin/sh"))  # hardlink to a symlink
    assert os.readlink(f"{dest}/bin/sh") == "busybox"
    assert os.readlink(f"{dest}/bin/abs") == "/etc/passwd"  # kept verbatim, never followed
    ino = os.lstat(f"{dest}/bin/busybox").st_ino
    assert os.lstat(f"{dest}/bin/ls").st_ino == ino and os.lstat(f"{dest}/bin/cat").st_ino == ino
    assert os.lstat(f"{dest}/bin/busybox").st_nlink == 3
    assert os.path.islink(f"{dest}/bin/sh-link")


def test_replacing_entries(tmp_path, outside) -> None:
    dest = extract(tmp_path,
                   member("x", tarfile.SYMTYPE, link=str(outside / "victim")),
                   member("x", data=b"mine"),  # replaces the symlink instead of writing through it
                   d("dir"), member("dir/child", data=b"c"),
                   member("dir", data=b"now a file"),
                   member("f", data=b"file"), d("f"))
    assert (outside / "victim").read_bytes() == b"original"
    assert not os.path.islink(f"{dest}/x") and open(f"{dest}/x", "rb").read() == b"mine"
    assert open(f"{dest}/dir", "rb").read() == b"now a file"
    assert os.path.isdir(f"{dest}/f")


def test_user_xattrs_and_reserved_overlay_xattrs(tmp_path) -> None:
    dest = extract(tmp_path, member("f", data=b"x", pax={"SCHILY.xattr.user.comment": "hi there",
                                                          "SCHILY.xattr.trusted.overlay.opaque": "y"}))
    try:
        assert os.getxattr(f"{dest}/f", "user.comment") == b"hi there"
    except OSError:
        pytest.skip("filesystem without user xattrs")
    if os.geteuid() == 0:
        with pytest.raises(OSError):
            os.getxattr(f"{dest}/f", "trusted.overlay.opaque")


@needs_root
def test_ownership_setuid_and_security_xattr(tmp_path) -> None:
    dest = extract(tmp_path,
                   member("usr/bin/su", data=b"su", mode=0o4755, uid=0, gid=0),
                   member("usr/bin/wall", data=b"w", mode=0o2755, uid=0, gid=5),
                   member("home/u/file", data=b"u", mode=0o4711, uid=1000, gid=1001),
                   d("home/u", mode=0o1770, uid=1000, gid=1000),
                   member("home/u/link", tarfile.SYMTYPE, link="file", uid=1000, gid=1001),
                   member("ping", data=b"p", mode=0o755,
                          pax={"SCHILY.xattr.security.capability":
                               "\x01\x00\x00\x02\x00\x20\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"}))
    st = os.lstat(f"{dest}/usr/bin/su")
    assert stat.S_IMODE(st.st_mode) == 0o4755 and (st.st_uid, st.st_gid) == (0, 0)
    st = os.lstat(f"{dest}/usr/bin/wall")
    assert stat.S_IMODE(st.st_mode) == 0o2755 and st.st_gid == 5
    st = os.lstat(f"{dest}/home/u/file")
    assert stat.S_IMODE(st.st_mode) == 0o4711 and (st.st_uid, st.st_gid) == (1000, 1001)
    st = os.lstat(f"{dest}/home/u")
    assert stat.S_IMODE(st.st_mode) == 0o1770 and (st.st_uid, st.st_gid) == (1000, 1000)
    assert os.lstat(f"{dest}/home/u/link").st_uid == 1000
    assert os.getxattr(f"{dest}/ping", "security.capability")[:4] == b"\x01\x00\x00\x02"


@needs_root
def test_devices_and_fifos(tmp_path) -> None:
    dest = extract(tmp_path,
                   member("dev/null", tarfile.CHRTYPE, major=1, minor=3, mode=0o666),
                   member("dev/loop0", tarfile.BLKTYPE, major=7, minor=0, mode=0o660, gid=6),
                   member("run/fifo", tarfile.FIFOTYPE, mode=0o620, uid=7))
    st = os.lstat(f"{dest}/dev/null")
    assert stat.S_ISCHR(st.st_mode) and os.major(st.st_rdev) == 1 and os.minor(st.st_rdev) == 3
    assert stat.S_IMODE(st.st_mode) == 0o666
    st = os.lstat(f"{dest}/dev/loop0")
    assert stat.S_ISBLK(st.st_mode) and os.major(st.st_rdev) == 7 and st.st_gid == 6
    st = os.lstat(f"{dest}/run/fifo")
    assert stat.S_ISFIFO(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o620 and st.st_uid == 7


@needs_root
def test_whiteouts_become_overlay_whiteouts(tmp_path) -> None:
    dest = extract(tmp_path,
                   d("etc"), member("etc/.wh.hosts"),
                   member("gone-file", data=b"x"), member(".wh.gone-file"),  # same-layer whiteout replaces
                   member("new/dir/.wh..wh..opq"),  # parent created on the fly, then marked opaque
                   d("opaque"), member("opaque/.wh..wh..opq"), member("opaque/kept", data=b"k"),
                   member("aufs/.wh..wh.plnk/123", data=b""),  # aufs bookkeeping is dropped
                   member(".wh..wh.orph"))
    for path in (f"{dest}/etc/hosts", f"{dest}/gone-file"):
        st = os.lstat(path)
        assert stat.S_ISCHR(st.st_mode) and st.st_rdev == os.makedev(0, 0)
    assert not os.path.lexists(f"{dest}/etc/.wh.hosts")
    assert os.getxattr(f"{dest}/opaque", "trusted.overlay.opaque") == b"y"
    assert os.getxattr(f"{dest}/new/dir", "trusted.overlay.opaque") == b"y"
    assert os.listdir(f"{dest}/opaque") == ["kept"]
    assert not os.path.lexists(f"{dest}/.wh..wh.orph")


@pytest.mark.parametrize("members, culprit", [
    ([member("../evil", data=b"x")], "../evil"),
    ([member("a/../../evil", data=b"x")], "a/../../evil"),
    ([member("/../evil", data=b"x")], "/../evil"),
    ([member("../.wh.evil")], "../.wh.evil"),
    ([member("ok", data=b"1"), member("hl", tarfile.LNKTYPE, link="../../x")], "hl"),
    ([member("hl", tarfile.LNKTYPE, link="missing")], "hl"),
    ([member("dir", tarfile.DIRTYPE), member("hl", tarfile.LNKTYPE, link="dir")], "hl"),
])
def test_escapes_rejected(tmp_path, members, culprit) -> None:
    with pytest.raises(LayerError, match=culprit.replace(".", r"\.")):
        extract(tmp_path, *members)
    assert not os.path.exists(tmp_path / "evil")


def test_writing_through_a_symlink_rejected(tmp_path, outside) -> None:
    with pytest.raises(LayerError, match=r"a/victim: parent a is a symlink"):
        extract(tmp_path, member("a", tarfile.SYMTYPE, link=str(outside)), member("a/victim", data=b"pwned"))
    assert (outside / "victim").read_bytes() == b"original"


def test_writing_into_etc_through_a_symlink_rejected(tmp_path) -> None:
    name = f"pyns-test-{os.getpid()}-must-not-exist"
    with pytest.raises(LayerError, match=f"a/{name}: parent a is a symlink"):
        extract(tmp_path, member("a", tarfile.SYMTYPE, link="/etc"), member(f"a/{name}", data=b"pwned"))
    assert not os.path.lexists(f"/etc/{name}")


@pytest.mark.parametrize("tail", [
    [member("sub/file", data=b"pwned")],
    [d("sub/newdir")],
    [member("sub/link", tarfile.SYMTYPE, link="/")],
    [member("sub/.wh.victim")],
    [member("sub/.wh..wh..opq")],
    [member("ok", data=b"1"), member("sub/hl", tarfile.LNKTYPE, link="ok")],
    [member("hl", tarfile.LNKTYPE, link="sub/victim")],  # hardlink whose target path goes through a symlink
])
def test_every_entry_kind_checks_its_parents(tmp_path, outside, tail) -> None:
    with pytest.raises(LayerError, match="is a symlink"):
        extract(tmp_path, member("sub", tarfile.SYMTYPE, link=str(outside)), *tail)
    assert sorted(os.listdir(outside)) == ["victim"] and (outside / "victim").read_bytes() == b"original"


def test_dir_times_never_touch_paths_behind_new_symlinks(tmp_path, outside) -> None:
    before = os.lstat(outside / "victim").st_mtime
    extract(tmp_path, d("x"), d("x/victim", mtime=1), member("x", tarfile.SYMTYPE, link=str(outside)))
    assert os.lstat(outside / "victim").st_mtime == before


def test_corrupt_and_truncated_streams(tmp_path) -> None:
    good = tar(member("a", data=b"1" * 2000), member("b", data=b"2"))
    dest = tmp_path / "d"
    dest.mkdir()
    with pytest.raises(LayerError, match="invalid tar"):
        unpack(io.BytesIO(b"this is not a tar file at all" * 40), str(dest))
    with pytest.raises(LayerError):
        unpack(io.BytesIO(good[:1500]), str(dest))  # cut inside a file's data
    corrupt = bytearray(good)
    second_header = 1024 + 2048 + 512  # pax header + header + data of "a", then "b"'s pax header
    corrupt[second_header + 148:second_header + 156] = b"0000000\0"  # wrong checksum
    with pytest.raises(LayerError, match="invalid tar header"):
        unpack(io.BytesIO(bytes(corrupt)), str(tmp_path / "d"))


def test_empty_stream_is_an_empty_layer(tmp_path) -> None:
    result = unpack(io.BytesIO(b""), str(tmp_path))
    assert result.entries == 0 and result.size == 0


def test_result_counts(tmp_path) -> None:
    dest = tmp_path / "d"
    dest.mkdir()
    result = unpack(io.BytesIO(tar(d("a"), member("a/f", data=b"12345"), member("a/g", tarfile.LNKTYPE,
                                                                                 link="a/f"))), str(dest))
    assert (result.size, result.entries) == (5, 3)


@pytest.mark.skipif(os.geteuid() == 0, reason="checks the non-root error path")
def test_devices_need_root(tmp_path) -> None:
    with pytest.raises(LayerError, match="requires root"):
        extract(tmp_path, member("dev/null", tarfile.CHRTYPE, major=1, minor=3))
