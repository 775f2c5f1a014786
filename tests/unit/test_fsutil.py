"""fsutil's tree removal: everything goes, nothing outside through a symlink."""
from __future__ import annotations

import os

from pyns import fsutil


def test_remove_tree_quietly_deletes_without_following_symlinks(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "keep").write_text("x")
    tree = tmp_path / "tree"
    (tree / "a" / "b").mkdir(parents=True)
    (tree / "a" / "b" / "f").write_text("x")
    (tree / "link-dir").symlink_to(outside)
    (tree / "link-file").symlink_to(outside / "keep")
    os.mkfifo(tree / "fifo")
    fsutil.remove_tree_quietly(str(tree))
    assert not tree.exists() and (outside / "keep").read_text() == "x"
    fsutil.remove_tree_quietly(str(tree))  # absent: nothing to do, no error
