"""Rootless mode's pure parts: the user's map, the mounts and plan it changes, its refusals."""
from __future__ import annotations

import os

import pytest

from pyns.containers.userns import rootless_mounts
from pyns.errors import InvalidArgument, PynsError
from pyns.runtime import defaults, rootless
from pyns.runtime.cgroups.null import NullDriver
from pyns.runtime.plan import build_plan
from pyns.runtime.spec import Process, Root, Spec


def test_the_users_own_id_is_root_then_its_ranges(tmp_path):
    subuid, subgid = tmp_path / "subuid", tmp_path / "subgid"
    name = __import__("pwd").getpwuid(os.getuid()).pw_name
    subuid.write_text(f"{name}:200000:1000\nother:1:5\n{os.getuid()}:500000:10\n")
    subgid.write_text(f"{name}:300000:65536\n")
    m = rootless.user_map(str(subuid), str(subgid))
    assert m.uids == ((0, os.getuid(), 1), (1, 200000, 1000), (1001, 500000, 10))
    assert m.gids == ((0, os.getgid(), 1), (1, 300000, 65536))
    subgid.write_text("")
    with pytest.raises(PynsError, match="has no subordinate ids .* usermod --add-subuids"):
        rootless.user_map(str(subuid), str(subgid))


def test_shared_host_namespaces_get_binds_not_new_proc_or_sysfs():
    mounts = defaults.base_mounts()
    own = {m.destination: m.type for m in rootless_mounts(mounts, frozenset({"pid", "network", "mount"}))}
    assert own["/proc"] == "proc" and own["/sys"] == "sysfs"
    shared = {m.destination: m for m in rootless_mounts(mounts, frozenset({"mount"}))}
    assert shared["/proc"].type == "bind" and shared["/proc"].source == "/proc"
    assert shared["/sys"].type == "bind" and "ro" in shared["/sys"].options


def test_bound_devices_and_userxattr_in_the_plan():
    spec = Spec(process=Process(args=["true"]), root=Root("/r", ["/l"], "/u", "/w", userxattr=True),
                mounts=defaults.base_mounts(), devices=list(defaults.DEVICES), bind_devices=True)
    t = build_plan(spec).decode().split("\0")
    assert "mknod" not in t
    i = t.index("/dev/null")
    assert t[i - 1] == "mount" and t[i + 1] == "/dev/null" and t[i + 2] == "bind"
    assert t[t.index("overlay") + 1].endswith(",userxattr")


def test_refusals_name_the_reason(monkeypatch):
    import pyns.runtime.cgroups as cgroups

    monkeypatch.setattr(cgroups, "detect", lambda: NullDriver(parent="pyns"))
    with pytest.raises(InvalidArgument, match="rootless: network mode bridge needs root"):
        rootless.check_container({"NetworkMode": "bridge"})
    with pytest.raises(InvalidArgument, match="rootless: network mode mynet needs root"):
        rootless.check_container({"NetworkMode": "mynet"})
    with pytest.raises(InvalidArgument, match="the cgroup parent 'pyns' is not delegated"):
        rootless.check_container({"NetworkMode": "none", "PidsLimit": 10})
    rootless.check_container({"NetworkMode": "host", "Memory": 0})


def test_no_cgroup_driver_hands_out_empty_cgroups():
    cg = NullDriver(parent="pyns").create("abc")
    assert (cg.dirs, cg.procs_files, cg.exists(), cg.pids()) == ([], [], False, [])
    cg.kill_all()
    cg.remove()


def test_root_in_the_host_namespace_is_not_rootless():
    if os.geteuid() != 0:
        pytest.skip("runs as root")
    assert not rootless.in_user_namespace() and not rootless.active()
    assert rootless.opaque_xattr() == "trusted.overlay.opaque"
