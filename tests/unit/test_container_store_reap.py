"""Removing a container: gone for readers at once, files deleted off the caller's clock."""
from __future__ import annotations

import os
import threading

from pyns.containers.store import ContainerStore


def _join_reapers() -> None:
    for t in threading.enumerate():
        if t.name == "pyns-reap":
            t.join(10)


def test_delete_hides_at_once_and_reaps_in_a_thread(tmp_path):
    store = ContainerStore(str(tmp_path))
    cid = "a" * 64
    store.create(cid, {"Name": "/x", "Id": cid})
    for i in range(50):
        (tmp_path / "containers" / cid / "diff" / f"f{i}").write_text("x")
    assert store.ids() == [cid]
    store.delete(cid)
    assert store.ids() == [] and not os.path.exists(store.path(cid))
    _join_reapers()
    assert os.listdir(tmp_path / "containers") == []


def test_leftovers_of_a_killed_reaper_are_swept(tmp_path):
    left = tmp_path / "containers" / (".rm-" + "b" * 64) / "diff"
    left.mkdir(parents=True)
    (left / "f").write_text("x")
    ContainerStore(str(tmp_path))
    assert os.listdir(tmp_path / "containers") == []
