"""The C tar parser (csrc/untar.c) against archives Python's tarfile writes:
every header format, long names and links, base-256 numbers, PAX times,
and any split of the stream into chunks."""
from __future__ import annotations

import io
import os
import stat
import tarfile

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pyns.errors import LayerError
from pyns.images.unpack import unpack

LONG_DIR = "d" * 60 + "/" + "e" * 70  # > 100 bytes with the file name: ustar prefix, GNU 'L' or PAX path
LONG_LINK = "/" + "t" * 150  # a symlink target longer than the 100-byte field


def _info(name: str, kind: bytes = tarfile.REGTYPE, data: bytes = b"", **kw) -> tuple[tarfile.TarInfo, bytes]:
    info = tarfile.TarInfo(name)
    info.type, info.size = kind, len(data) if kind == tarfile.REGTYPE else 0
    info.mode, info.mtime = kw.pop("mode", 0o644), kw.pop("mtime", 1_600_000_000)
    for key, value in kw.items():
        setattr(info, key, value)
    return info, data


def _tree(fmt: int) -> list[tuple[tarfile.TarInfo, bytes]]:
    entries = [_info("top", tarfile.DIRTYPE, mode=0o750, mtime=1_500_000_000),
               _info("top/plain", data=b"plain\n", mode=0o600),
               _info(f"top/{LONG_DIR}/file-with-a-long-path", data=b"deep\n" * 300),
               _info("top/link", tarfile.SYMTYPE, linkname=LONG_LINK if fmt != tarfile.USTAR_FORMAT else "plain"),
               _info("top/hard", tarfile.LNKTYPE, linkname="top/plain"),
               _info("top/empty", data=b"")]
    if fmt != tarfile.USTAR_FORMAT:  # numbers past ustar's 8 octal digits: base-256 (GNU) or PAX records
        entries.append(_info("top/big-owner", data=b"x", uid=3_000_000, gid=4_000_000, mtime=9_000_000_007))
    return entries


def _archive(entries: list[tuple[tarfile.TarInfo, bytes]], fmt: int, **kw) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=fmt, **kw) as tf:
        for info, data in entries:
            tf.addfile(info, io.BytesIO(data) if info.isreg() else None)
    return buf.getvalue()


def _snapshot(root: str, dir_times: bool = True) -> dict[str, tuple]:
    """Every path under root: kind, mode, mtime, owner and content or link target. Without
    dir_times, directories' mtimes are left out: those the archive does not name get the time
    their last child was made."""
    out = {}
    for dirpath, dirs, files in os.walk(root):
        for name in dirs + files:
            path = os.path.join(dirpath, name)
            st_ = os.lstat(path)
            rel = os.path.relpath(path, root)
            if stat.S_ISLNK(st_.st_mode):
                body = ("link", os.readlink(path))
            elif stat.S_ISDIR(st_.st_mode):
                body = ("dir",)
            else:
                with open(path, "rb") as f:
                    body = ("file", f.read(), st_.st_nlink)
            mtime = int(st_.st_mtime) if dir_times or body[0] != "dir" else None
            out[rel] = (body, stat.S_IMODE(st_.st_mode), mtime, st_.st_uid if os.geteuid() == 0 else 0)
    return out


class _Chunked(io.RawIOBase):
    """A stream that hands out data in the given chunk sizes (cycled)."""

    def __init__(self, data: bytes, sizes: list[int]) -> None:
        self.data, self.sizes, self.pos, self.i = data, sizes, 0, 0

    def read(self, n: int = -1) -> bytes:
        size = min(self.sizes[self.i % len(self.sizes)], n if n >= 0 else len(self.data))
        self.i += 1
        chunk = self.data[self.pos:self.pos + size]
        self.pos += len(chunk)
        return chunk


@pytest.mark.parametrize("fmt", [tarfile.USTAR_FORMAT, tarfile.GNU_FORMAT, tarfile.PAX_FORMAT],
                         ids=["ustar", "gnu", "pax"])
def test_every_header_format(tmp_path, fmt) -> None:
    entries = _tree(fmt)
    dest = tmp_path / "dest"
    dest.mkdir()
    result = unpack(io.BytesIO(_archive(entries, fmt)), str(dest))
    assert result.entries == len(entries)
    assert result.size == sum(len(data) for info, data in entries if info.isreg())
    snap = _snapshot(str(dest))
    assert snap["top"][1:3] == (0o750, 1_500_000_000)
    assert snap["top/plain"][0] == ("file", b"plain\n", 2) and snap["top/plain"][1] == 0o600
    assert snap[f"top/{LONG_DIR}/file-with-a-long-path"][0][1] == b"deep\n" * 300
    assert snap["top/link"][0] == ("link", entries[3][0].linkname)
    assert snap["top/empty"][0] == ("file", b"", 1)
    if fmt != tarfile.USTAR_FORMAT:
        assert snap["top/big-owner"][2] == 9_000_000_007
        if os.geteuid() == 0:
            st_ = os.lstat(dest / "top" / "big-owner")
            assert (st_.st_uid, st_.st_gid) == (3_000_000, 4_000_000)


def test_pax_times_keep_nanoseconds_and_global_headers_apply(tmp_path) -> None:
    info, data = _info("f", data=b"1")
    info.pax_headers = {"mtime": "1700000000.123456789", "atime": "1600000000.5"}
    archive = _archive([(info, data), _info("g", data=b"2")], tarfile.PAX_FORMAT,
                       pax_headers={"comment": "a global header ('g'), which applies to every entry"})
    unpack(io.BytesIO(archive), str(tmp_path))
    st_ = os.lstat(tmp_path / "f")
    assert st_.st_mtime_ns == 1_700_000_000_123_456_789 and st_.st_atime_ns == 1_600_000_000_500_000_000
    assert (tmp_path / "g").read_bytes() == b"2"


def test_v7_directory_and_data_after_the_end_marker(tmp_path) -> None:
    info, _ = _info("olddir/", tarfile.AREGTYPE)
    archive = _archive([(info, b""), _info("olddir/f", data=b"v7")], tarfile.USTAR_FORMAT)
    unpack(io.BytesIO(archive + b"garbage after the end-of-archive blocks" * 100), str(tmp_path))
    assert os.path.isdir(tmp_path / "olddir") and (tmp_path / "olddir" / "f").read_bytes() == b"v7"


def test_stream_ends_mid_header_or_mid_padding(tmp_path) -> None:
    archive = _archive([_info("a", data=b"1" * 700)], tarfile.USTAR_FORMAT)
    (tmp_path / "x").mkdir()
    (tmp_path / "y").mkdir()
    with pytest.raises(LayerError, match="truncated header"):
        unpack(io.BytesIO(archive[:512 + 1024 + 100]), str(tmp_path / "x"))
    with pytest.raises(LayerError, match="after a: unexpected end of data"):
        unpack(io.BytesIO(archive[:512 + 800]), str(tmp_path / "y"))
    assert unpack(io.BytesIO(archive[:512 + 1024]), str(tmp_path)).entries == 1  # no end marker: like tarfile


def test_unknown_entry_type_and_gnu_sparse_are_refused(tmp_path) -> None:
    info, _ = _info("volume", b"V")
    with pytest.raises(LayerError, match="volume: unsupported tar entry type 'V'"):
        unpack(io.BytesIO(_archive([(info, b"")], tarfile.GNU_FORMAT)), str(tmp_path))


@settings(max_examples=40, deadline=None)
@given(sizes=st.lists(st.integers(min_value=1, max_value=1500), min_size=1, max_size=8),
       fmt=st.sampled_from([tarfile.GNU_FORMAT, tarfile.PAX_FORMAT]))
def test_any_split_of_the_stream_gives_the_same_tree(tmp_path_factory, sizes, fmt) -> None:
    archive = _archive(_tree(fmt), fmt)
    whole, parts = tmp_path_factory.mktemp("whole"), tmp_path_factory.mktemp("parts")
    unpack(io.BytesIO(archive), str(whole))
    unpack(_Chunked(archive, sizes), str(parts))  # type: ignore[arg-type]
    assert _snapshot(str(parts), dir_times=False) == _snapshot(str(whole), dir_times=False)


@settings(max_examples=150, deadline=None)
@given(flips=st.lists(st.tuples(st.integers(min_value=0, max_value=4095), st.integers(min_value=0, max_value=255)),
                      min_size=1, max_size=6),
       fmt=st.sampled_from([tarfile.USTAR_FORMAT, tarfile.GNU_FORMAT, tarfile.PAX_FORMAT]))
def test_corrupted_archives_fail_cleanly_and_stay_inside(tmp_path_factory, flips, fmt) -> None:
    """Bytes of the headers overwritten at random: a LayerError or a tree, never a crash or a write outside."""
    archive = bytearray(_archive(_tree(fmt), fmt))
    for pos, value in flips:
        archive[pos % len(archive)] = value
    base = tmp_path_factory.mktemp("fuzz")
    dest = base / "dest"
    dest.mkdir()
    try:
        unpack(io.BytesIO(bytes(archive)), str(dest))
    except LayerError:
        pass
    assert os.listdir(base) == ["dest"]


def test_names_longer_than_any_path_are_refused(tmp_path) -> None:
    info, data = _info("x" * 9000, data=b"1")
    with pytest.raises(LayerError, match="file name too long"):
        unpack(io.BytesIO(_archive([(info, data)], tarfile.PAX_FORMAT)), str(tmp_path))
    assert os.listdir(tmp_path) == []


def test_a_path_too_long_under_the_destination_is_refused_not_cut(tmp_path) -> None:
    """dest + name past the path buffer: an error, never a shortened path (which could name a parent)."""
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "keep").write_bytes(b"k")
    name = "a/" + "/".join(["d" * 200] * 40)  # ~8 KiB
    with pytest.raises(LayerError, match="(?i)file name too long"):  # ours, or the kernel's past PATH_MAX
        unpack(io.BytesIO(_archive([_info(name, data=b"x")], tarfile.PAX_FORMAT)), str(tmp_path))
    assert (tmp_path / "a" / "keep").read_bytes() == b"k"
