"""pyns.bench.oci: the peers' config.json is pyns's own spec, translated (pure)."""
from __future__ import annotations

import resource

from pyns.bench import oci
from pyns.runtime import capabilities, defaults
from pyns.runtime.seccomp.effective import Effective, Syscall
from pyns.runtime.seccomp.profile import ACTIONS, Arg
from pyns.runtime.spec import Mount, Process, Rlimit, Root, Spec


def container_spec() -> Spec:
    mounts = defaults.base_mounts() + defaults.cgroup_mounts(1, [("memory", "memory"), ("cpu,cpuacct", "cpu,cpuacct")])
    mounts.append(Mount("/etc/hosts", "bind", "/c/hosts", ["ro"]))
    return Spec(
        process=Process(args=["/bin/true"], env=["PATH=/bin"], uid=1000, gid=1000, additional_gids=[1000, 10],
                        capabilities=capabilities.DEFAULT_CAPABILITIES,
                        rlimits=[Rlimit(resource.RLIMIT_NOFILE, 1024, 4096)]),
        root=Root("/r", ["/l"]), hostname="abc", mounts=mounts, devices=list(defaults.DEVICES),
        masked_paths=list(defaults.MASKED_PATHS), readonly_paths=list(defaults.READONLY_PATHS))


def test_process_and_root():
    cfg = oci.config_from_spec(container_spec(), rootfs="/bundle/rootfs")
    p = cfg["process"]
    assert p["args"] == ["/bin/true"] and p["env"] == ["PATH=/bin"]
    assert p["user"] == {"uid": 1000, "gid": 1000, "additionalGids": [1000, 10]}
    assert set(p["capabilities"]["bounding"]) == {f"CAP_{c}" for c in capabilities.DEFAULT_CAPABILITIES}
    assert p["rlimits"] == [{"type": "RLIMIT_NOFILE", "soft": 1024, "hard": 4096}]
    assert cfg["root"] == {"path": "/bundle/rootfs", "readonly": False}
    assert cfg["hostname"] == "abc"


def test_namespaces_follow_the_spec_and_join_a_given_netns():
    cfg = oci.config_from_spec(container_spec(), netns_path="/run/netns/x", cgroups_path="/p/c")
    ns = {n["type"]: n.get("path") for n in cfg["linux"]["namespaces"]}
    assert ns == {"pid": None, "network": "/run/netns/x", "mount": None, "ipc": None, "uts": None, "cgroup": None}
    assert cfg["linux"]["cgroupsPath"] == "/p/c"
    spec = container_spec()
    spec.namespaces = frozenset({"pid", "mount"})
    assert [n["type"] for n in oci.config_from_spec(spec)["linux"]["namespaces"]] == ["pid", "mount"]


def test_mounts_collapse_cgroup_hierarchies_and_remap_bind_sources():
    cfg = oci.config_from_spec(container_spec(), sources={"/c/hosts": "/bundle/hosts"})
    dests = [m["destination"] for m in cfg["mounts"]]
    assert dests == ["/proc", "/dev", "/dev/pts", "/dev/shm", "/dev/mqueue", "/sys", "/sys/fs/cgroup", "/etc/hosts"]
    cg = cfg["mounts"][6]
    assert cg["type"] == "cgroup" and "ro" in cg["options"]
    hosts = cfg["mounts"][7]
    assert hosts["source"] == "/bundle/hosts" and hosts["options"][0] == "rbind" and "ro" in hosts["options"]
    assert cfg["linux"]["maskedPaths"] == defaults.MASKED_PATHS
    assert cfg["linux"]["readonlyPaths"] == defaults.READONLY_PATHS


def test_device_rules_deny_all_then_allow():
    cfg = oci.config_from_spec(container_spec(), device_rules=["c *:* m", "c 1:3 rwm", "c 136:* rwm"])
    rules = cfg["linux"]["resources"]["devices"]
    assert rules[0] == {"allow": False, "access": "rwm"}
    assert rules[1] == {"allow": True, "type": "c", "access": "m"}
    assert rules[2] == {"allow": True, "type": "c", "major": 1, "minor": 3, "access": "rwm"}
    assert rules[3] == {"allow": True, "type": "c", "major": 136, "access": "rwm"}
    assert {d["path"] for d in cfg["linux"]["devices"]} == {d.path for d in defaults.DEVICES}


def test_seccomp_section_groups_rules_and_keeps_errno_and_args():
    allow, eperm = ACTIONS["SCMP_ACT_ALLOW"], ACTIONS["SCMP_ACT_ERRNO"] | 1
    eff = Effective(default_action=eperm, architectures=("SCMP_ARCH_X86",), syscalls=(
        Syscall("read", allow), Syscall("write", allow),
        Syscall("personality", allow, (Arg(0, 8, 0, "SCMP_CMP_EQ"),)),
        Syscall("clone3", ACTIONS["SCMP_ACT_ERRNO"] | 38)))
    sec = oci.seccomp_section(eff)
    assert sec["defaultAction"] == "SCMP_ACT_ERRNO" and sec["defaultErrnoRet"] == 1
    assert sec["architectures"] == ["SCMP_ARCH_X86"]
    assert sec["syscalls"][0] == {"names": ["read", "write"], "action": "SCMP_ACT_ALLOW"}
    assert sec["syscalls"][1]["args"] == [{"index": 0, "value": 8, "valueTwo": 0, "op": "SCMP_CMP_EQ"}]
    assert sec["syscalls"][2] == {"names": ["clone3"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38}
