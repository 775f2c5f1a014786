"""Namespace files (pyns.network.netns) and the inodes the network layer recycles.

Each test works in its own temporary directory; the namespaces it makes
are dropped again, and the fixture checks that nothing stays mounted.
"""
from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import Iterator

import pytest

from tests.conftest import needs_root

pytestmark = [needs_root, pytest.mark.root]


def _mounts_under(path: Path) -> list[str]:
    with open("/proc/self/mountinfo", encoding="utf-8") as f:
        return [ln.split()[4] for ln in f if ln.split()[4].startswith(str(path))]


@pytest.fixture
def nsdir(tmp_path: Path) -> Iterator[Path]:
    d = tmp_path / "run" / "netns"
    yield d
    from pyns.network import netns

    for name in os.listdir(d) if d.exists() else []:
        netns.delete(str(d / name))
    assert _mounts_under(tmp_path) == []


def test_create_binds_a_new_namespace_and_returns_a_socket_inside(nsdir: Path) -> None:
    from pyns.network import netns

    own = os.stat("/proc/thread-self/ns/net").st_ino
    blocked = signal.pthread_sigmask(signal.SIG_BLOCK, set())
    path = nsdir / "c1"
    inside = netns.create(str(path))
    try:
        assert os.stat(path).st_ino not in (own, 0)  # the bind mount shows the namespace's nsfs inode
        assert str(path) in _mounts_under(nsdir)
        assert os.stat("/proc/thread-self/ns/net").st_ino == own  # the thread is back home
        assert signal.pthread_sigmask(signal.SIG_BLOCK, set()) == blocked
        assert inside.link_index("lo") == 1
        assert inside.route_destinations() == []  # an empty namespace: lo is down, no routes
    finally:
        inside.close()
    assert netns.delete(str(path)) is True
    assert not path.exists() and str(path) not in _mounts_under(nsdir)
    assert netns.delete(str(path)) is False  # idempotent


def test_a_dropped_namespace_file_is_the_next_ones_mount_point(nsdir: Path) -> None:
    from pyns.network import netns

    netns.create(str(nsdir / "a")).close()
    netns.delete(str(nsdir / "a"))
    spares_dir = Path(netns.spare_dir(str(nsdir)))
    (spare,) = list(spares_dir.iterdir())
    inode = spare.stat().st_ino
    netns.create(str(nsdir / "b")).close()
    assert list(spares_dir.iterdir()) == []  # taken as b's mount point
    netns.delete(str(nsdir / "b"))
    (again,) = list(spares_dir.iterdir())
    assert again.stat().st_ino == inode


def test_create_refuses_an_existing_path_and_leaves_it_alone(nsdir: Path) -> None:
    from pyns.errors import PynsError
    from pyns.network import netns

    nsdir.mkdir(parents=True)
    taken = nsdir / "taken"
    taken.write_text("not ours")
    with pytest.raises(PynsError, match="File exists"):
        netns.create(str(taken))
    assert taken.read_text() == "not ours" and _mounts_under(nsdir) == []
    taken.unlink()


def test_setup_and_teardown_reuse_their_files(root: Path) -> None:
    """Records and mount points are recycled inodes; what stays between containers is only spares."""
    import secrets

    from pyns.network import netns
    from pyns.network.manager import NetworkManager

    mgr = NetworkManager(str(root), str(root / "run"))
    endpoints = root / "network" / "endpoints"
    try:
        spares_dir = Path(netns.spare_dir(mgr.netns_dir))
        seen = []
        for _ in range(3):
            cid = secrets.token_hex(32)
            mgr.setup(cid, "c", [("bridge", [])], [], "c")
            record = (endpoints / f"{cid}.json").stat().st_ino
            mgr.teardown(cid)
            seen.append((record, sorted(p.stat().st_ino for p in spares_dir.iterdir()),
                         sorted(p.stat().st_ino for p in endpoints.iterdir()),
                         (root / "network" / "allocations.json").stat().st_ino))
        assert seen[1] == seen[2]  # from the second container on, no new inode
        assert [n for n in os.listdir(endpoints) if not n.startswith(".spare-")] == []
        assert os.listdir(mgr.netns_dir) == []
        assert all(not (Path(netns.spare_dir(mgr.netns_dir)) / n).is_mount()
                   for n in os.listdir(netns.spare_dir(mgr.netns_dir)))
    finally:
        mgr.close()
