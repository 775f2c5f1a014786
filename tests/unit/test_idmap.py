"""--userns-remap id maps: /etc/subuid parsing, docker's range stacking, pyns's default range."""
from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pyns.containers.config import checked_sysctls
from pyns.containers.userns import owned_by_root
from pyns.errors import InvalidArgument
from pyns.runtime import defaults, idmap
from pyns.runtime.idmap import IdMap


def test_subid_lines_skip_comments_and_garbage():
    text = "# comment\nalice:100000:65536\nbad line\nbob:x:1\n1001:300000:1000\n\ncarol:5:0\n"
    assert idmap.parse_subid(text) == [("alice", 100000, 65536), ("1001", 300000, 1000)]


def test_ranges_stack_from_zero_in_file_order():
    entries = [("a", 500000, 10), ("b", 1, 1), ("a", 100000, 65536)]
    assert idmap.ranges_for(entries, {"a"}) == ((0, 500000, 10), (10, 100000, 65536))
    m = IdMap(idmap.ranges_for(entries, {"a"}), ((0, 7, 1),))
    assert m.uid_map == "0 500000 10\n10 100000 65536\n"
    assert (m.host_uid(0), m.host_uid(9), m.host_uid(10), m.host_uid(11)) == (500000, 500009, 100000, 100001)
    with pytest.raises(InvalidArgument):
        m.host_gid(1)


@given(st.lists(st.tuples(st.integers(0, 10**6), st.integers(1, 10**5)), max_size=8))
def test_the_default_range_overlaps_no_entry(spans):
    entries = [("u", s, n) for s, n in spans]
    start = idmap.free_range(entries)
    assert start >= idmap.DEFAULT_START
    for _, s, n in entries:
        assert start + idmap.DEFAULT_SIZE <= s or s + n <= start


def test_resolve_default_and_named_users(tmp_path):
    subuid, subgid = tmp_path / "subuid", tmp_path / "subgid"
    subuid.write_text("someone:100000:65536\n")
    subgid.write_text("")
    m = idmap.resolve("default", str(subuid), str(subgid))
    assert m.uids == m.gids == ((0, 165536, 65536),)
    subuid.write_text("pyns-remap:400000:65536\n")
    subgid.write_text("pyns-remap:500000:65536\n")
    m = idmap.resolve("default", str(subuid), str(subgid))
    assert (m.host_uid(0), m.host_gid(0), m.key) == (400000, 500000, "400000.500000")
    subuid.write_text("root:600000:1000\n")
    subgid.write_text("0:700000:1000\n")  # by number works too
    m = idmap.resolve("root", str(subuid), str(subgid))
    assert (m.host_uid(0), m.host_gid(0)) == (600000, 700000)
    assert IdMap.from_record(m.to_record()) == m
    with pytest.raises(InvalidArgument, match="no subuid ranges found for user 'nobody'"):
        idmap.resolve("nobody", str(subuid), str(subgid))
    with pytest.raises(InvalidArgument, match="no subgid ranges found for group 'daemon'"):
        idmap.resolve("root:daemon", str(subuid), str(subgid))
    with pytest.raises(InvalidArgument, match="invalid --userns-remap"):
        idmap.resolve("a:b:c", str(subuid), str(subgid))


def test_remapped_mounts_give_dev_to_the_mapped_root():
    m = IdMap(((0, 100000, 65536),), ((0, 200000, 65536),))
    mounts = {x.destination: x for x in owned_by_root(defaults.base_mounts() + defaults.cgroup_mounts(1, []), m)}
    assert "uid=100000" in mounts["/dev"].options and "gid=200000" in mounts["/dev"].options
    assert "uid=100000" in mounts["/dev/shm"].options
    assert "gid=200005" in mounts["/dev/pts"].options and "gid=5" not in mounts["/dev/pts"].options
    assert not any(o.startswith("uid=") for o in mounts["/sys/fs/cgroup"].options)


def test_sysctls_follow_dockers_rules():
    assert checked_sysctls({"net.ipv4.ip_forward": 1, "kernel.shmmax": "9", "fs.mqueue.msg_max": "5"},
                           "bridge", "private") == {"net.ipv4.ip_forward": "1", "kernel.shmmax": "9",
                                                    "fs.mqueue.msg_max": "5"}
    with pytest.raises(InvalidArgument, match="not whitelisted"):
        checked_sysctls({"kernel.hostname": "x"}, "bridge", "private")
    with pytest.raises(InvalidArgument, match="host network namespace"):
        checked_sysctls({"net.ipv4.ip_forward": "1"}, "host", "private")
    with pytest.raises(InvalidArgument, match="host IPC namespace"):
        checked_sysctls({"kernel.shmmax": "1"}, "bridge", "host")
    with pytest.raises(InvalidArgument, match="invalid sysctl name"):
        checked_sysctls({"net.a/b": "1"}, "bridge", "private")
