"""Short l/ links: deterministic names, created on publish, recreated when lost, collision-safe."""
from __future__ import annotations

import base64
import io
import os
import tarfile

from hypothesis import given
from hypothesis import strategies as st

from pyns.images.layers import LayerStore
from pyns.images.links import LayerLinks, link_name


def tar(name: str) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        info = tarfile.TarInfo(name)
        info.size = 1
        tf.addfile(info, io.BytesIO(b"x"))
    return buf.getvalue()


@given(st.binary(min_size=32, max_size=32))
def test_link_names_are_base32_of_the_chain_ids_first_40_bits(raw):
    """The names on disk predate the hand-rolled encoder: they must not change."""
    assert link_name("sha256:" + raw.hex()) == base64.b32encode(raw[:5]).decode()


def test_link_names_are_short_and_overlay_safe():
    name = link_name("sha256:" + "ab" * 32)
    assert len(name) == 8 and name == link_name("sha256:" + "ab" * 32)
    assert not set(name) & set(":,/")


def test_links_follow_layers(tmp_path):
    store = LayerStore(str(tmp_path))
    layer = store.register(io.BytesIO(tar("a")))
    short = store.short_path(layer)
    assert short == str(tmp_path / "l" / link_name(layer.chain_id))
    assert os.path.realpath(short) == layer.diff_dir and os.listdir(short) == ["a"]
    os.unlink(short)  # lost (say, an older store): recreated on demand
    assert store.short_path(layer) == short and os.path.isdir(short)
    store.delete(layer.chain_id)
    assert not os.path.lexists(short)


def test_collision_falls_back_to_the_long_path(tmp_path):
    store = LayerStore(str(tmp_path))
    a = store.register(io.BytesIO(tar("a")))
    b = store.register(io.BytesIO(tar("b")))
    links = LayerLinks(str(tmp_path), store.root)
    squatter = os.path.join(links.dir, link_name(b.chain_id))
    os.unlink(squatter)
    os.symlink(os.readlink(os.path.join(links.dir, link_name(a.chain_id))), squatter)  # b's name taken by a
    assert store.short_path(b) == b.diff_dir
    store.delete(a.chain_id)  # the squatter dangles now: b gets its name back
    assert store.short_path(b) == squatter and os.path.realpath(squatter) == b.diff_dir
