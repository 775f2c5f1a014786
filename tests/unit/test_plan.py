"""The plan builder: spec -> the token stream csrc/plan.c parses (pure, no root)."""
from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from pyns.runtime import capabilities, defaults
from pyns.runtime.plan import (MS_BIND, MS_NODEV, MS_NOEXEC, MS_NOSUID, MS_RDONLY, MS_REC, MS_REMOUNT, build_plan,
                               mount_flags, overlay_options)
from pyns.runtime.spec import Process, Root, Spec


def tokens(spec: Spec) -> list[str]:
    data = build_plan(spec)
    assert data.endswith(b"\0")
    return data[:-1].decode().split("\0")


def test_mount_options_become_flags_and_data():
    assert mount_flags(["nosuid", "noexec", "nodev", "mode=755", "size=65536k"]) == (
        MS_NOSUID | MS_NOEXEC | MS_NODEV, "mode=755,size=65536k")
    assert mount_flags(["ro", "rw"]) == (0, "")
    assert mount_flags(["rbind", "ro", "rprivate"]) == (MS_BIND | MS_REC | MS_RDONLY, "")
    assert mount_flags(["remount", "ro"]) == (MS_REMOUNT | MS_RDONLY, "")


def test_overlay_lists_topmost_layer_first():
    assert overlay_options(["/l/bottom", "/l/top"], "/u", "/w") == "lowerdir=/l/top:/l/bottom,upperdir=/u,workdir=/w"


def test_default_caps_mask_is_dockers():
    assert capabilities.mask(capabilities.DEFAULT_CAPABILITIES) == 0xA80425FB


def test_devices_and_symlinks_follow_the_dev_tmpfs():
    spec = Spec(process=Process(args=["true"]), root=Root("/r", ["/l"]), mounts=defaults.base_mounts(),
                devices=list(defaults.DEVICES), symlinks=list(defaults.SYMLINKS))
    t = tokens(spec)
    dev_mount = next(i for i, x in enumerate(t) if x == "mount" and t[i + 2] == "/dev")
    first_node = t.index("mknod")
    pts = next(i for i, x in enumerate(t) if x == "mount" and t[i + 2] == "/dev/pts")
    assert dev_mount < first_node < pts
    assert t[t.index("ns") + 1] == str(0x00020000 | 0x04000000 | 0x08000000 | 0x20000000 | 0x40000000)
    assert "cgroupns" in t and "lo_up" in t


def test_host_network_joins_no_new_netns_and_keeps_lo_alone():
    spec = Spec(process=Process(args=["true"]), root=Root("/r"),
                namespaces=frozenset({"pid", "mount", "uts", "ipc"}))
    t = tokens(spec)
    assert int(t[t.index("ns") + 1]) & 0x40000000 == 0
    assert "lo_up" not in t and "cgroupns" not in t and "overlay" not in t


@given(st.lists(st.text(alphabet=st.characters(blacklist_characters="\0", blacklist_categories=("Cs",)), min_size=1),
                min_size=1, max_size=5))
def test_argv_and_env_round_trip(argv):
    spec = Spec(process=Process(args=argv, env=[f"K{i}={a}" for i, a in enumerate(argv)]), root=Root("/r"))
    data = build_plan(spec)
    assert b"".join(b"arg\0" + a.encode() + b"\0" for a in argv) in data
    assert b"".join(b"env\0" + f"K{i}={a}".encode() + b"\0" for i, a in enumerate(argv)) in data


def test_a_remapped_spec_carries_its_maps_root_owner_and_idmapped_dirs():
    from pyns.runtime.idmap import IdMap

    m = IdMap(((0, 100000, 65536),), ((0, 200000, 1000), (1000, 300000, 64536)))
    spec = Spec(process=Process(args=["true"]), root=Root("/r", ["/s/layers/a/diff"]), idmap=m,
                idmapped_dirs=["/s/layers"], sysctls={"net.ipv4.ip_unprivileged_port_start": "0"})
    t = tokens(spec)
    assert t[t.index("uid_map") + 1] == "0 100000 65536\n"
    assert t[t.index("gid_map") + 1] == "0 200000 1000\n1000 300000 64536\n"
    assert t[t.index("userns_root") + 1:t.index("userns_root") + 3] == ["100000", "200000"]
    assert t[t.index("idmap") + 1] == "/s/layers"
    assert t[t.index("sysctl") + 1:t.index("sysctl") + 3] == ["net.ipv4.ip_unprivileged_port_start", "0"]
    # The C parser accepts it (and refuses a map without its pair).
    from pyns.runtime import native

    native.Plan(build_plan(spec), "true")
    import pytest

    from pyns.errors import PynsError

    spec.idmap = None
    with pytest.raises(PynsError, match="needs uid_map and gid_map"):
        native.Plan(build_plan(spec), "true")


def test_a_sysctl_name_cannot_climb_out_of_proc_sys():
    import pytest

    from pyns.errors import PynsError
    from pyns.runtime import native

    for name in ("../../etc/x", "net/../../x", "net..x"):
        spec = Spec(process=Process(args=["true"]), root=Root("/r"), sysctls={name: "1"})
        with pytest.raises(PynsError, match="bad value for plan keyword: sysctl"):
            native.Plan(build_plan(spec), "true")
