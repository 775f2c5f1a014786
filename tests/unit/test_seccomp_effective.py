"""includes/excludes for a capability set, arch and kernel: docker's rules (pure, no root)."""
from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from pyns.runtime import capabilities, seccomp
from pyns.runtime.seccomp.context import Host, kernel_version
from pyns.runtime.seccomp.effective import Syscall, resolve
from pyns.runtime.seccomp.profile import Arg, parse

AMD64 = Host("amd64", (6, 1))
ALLOW, EPERM, ENOSYS = 0x7FFF0000, 0x00050001, 0x00050026
CLONE_NS = 0x7E020000


def by_name(syscalls: tuple[Syscall, ...]) -> dict[str, list[Syscall]]:
    out: dict[str, list[Syscall]] = {}
    for s in syscalls:
        out.setdefault(s.name, []).append(s)
    return out


def test_default_caps_keep_clone_guarded_and_mount_out():
    eff = resolve(seccomp.default_profile(), capabilities.DEFAULT_CAPABILITIES, AMD64)
    assert eff.default_action == EPERM
    assert eff.architectures == ("SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32")
    rules = by_name(eff.syscalls)
    assert rules["clone"] == [Syscall("clone", ALLOW, (Arg(0, CLONE_NS, 0, "SCMP_CMP_MASKED_EQ"),))]
    assert rules["clone3"] == [Syscall("clone3", ENOSYS)]
    assert rules["chroot"] == [Syscall("chroot", ALLOW)]  # SYS_CHROOT is a default capability
    assert rules["ptrace"] == [Syscall("ptrace", ALLOW)]  # kernel >= 4.8
    assert rules["arch_prctl"] == [Syscall("arch_prctl", ALLOW)]
    for name in ("mount", "unshare", "setns", "bpf", "keyctl", "reboot", "init_module", "open_by_handle_at",
                 "s390_runtime_instr", "cacheflush", "kcmp", "settimeofday"):
        assert name not in rules, name


def test_cap_sys_admin_widens_like_docker_in_either_spelling():
    for extra in ("SYS_ADMIN", "CAP_SYS_ADMIN", "cap_sys_admin"):
        rules = by_name(resolve(seccomp.default_profile(), capabilities.DEFAULT_CAPABILITIES | {extra}, AMD64).syscalls)
        assert rules["clone"] == [Syscall("clone", ALLOW)]  # the guarded variant is excluded
        assert rules["clone3"] == [Syscall("clone3", ALLOW)]
        for name in ("mount", "umount2", "unshare", "setns", "bpf", "sethostname"):
            assert rules[name] == [Syscall(name, ALLOW)]
        assert "keyctl" not in rules


def test_other_capabilities_unlock_their_own_calls():
    rules = by_name(resolve(seccomp.default_profile(), {"SYS_TIME", "SYS_PTRACE", "SYS_MODULE"}, AMD64).syscalls)
    assert {"settimeofday", "clock_settime", "kcmp", "process_madvise", "init_module", "finit_module"} <= set(rules)
    assert "chroot" not in rules and "mount" not in rules


def test_arch_includes_and_excludes():
    s390 = by_name(resolve(seccomp.default_profile(), frozenset(), Host("s390x", (6, 1))).syscalls)
    assert s390["clone"] == [Syscall("clone", ALLOW, (Arg(1, CLONE_NS, 0, "SCMP_CMP_MASKED_EQ"),))]
    assert "s390_runtime_instr" in s390 and "arch_prctl" not in s390
    arm = resolve(seccomp.default_profile(), frozenset(), Host("arm64", (6, 1)))
    assert arm.architectures == ("SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM")
    assert "cacheflush" in by_name(arm.syscalls)
    assert resolve(seccomp.default_profile(), frozenset(), Host("sparc", (6, 1))).architectures == ()


def test_min_kernel_compares_major_then_minor():
    old = by_name(resolve(seccomp.default_profile(), frozenset(), Host("amd64", (4, 7))).syscalls)
    assert "ptrace" not in old
    assert "ptrace" in by_name(resolve(seccomp.default_profile(), frozenset(), Host("amd64", (4, 8))).syscalls)
    p = parse(json.dumps({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
        {"names": ["a"], "action": "SCMP_ACT_ERRNO", "excludes": {"minKernel": "5.10"}}]}))
    assert [s.name for s in resolve(p, frozenset(), Host("amd64", (5, 9))).syscalls] == ["a"]
    assert resolve(p, frozenset(), Host("amd64", (5, 10))).syscalls == ()
    assert resolve(p, frozenset(), Host("amd64", (6, 0))).syscalls == ()


def test_includes_need_every_cap_excludes_any():
    p = parse(json.dumps({"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [
        {"names": ["inc"], "action": "SCMP_ACT_ALLOW", "includes": {"caps": ["CAP_A", "CAP_B"]}},
        {"names": ["exc"], "action": "SCMP_ACT_ALLOW", "excludes": {"caps": ["CAP_A", "CAP_B"]}}]}))

    def names(caps: set[str]) -> list[str]:
        return [s.name for s in resolve(p, frozenset(caps), AMD64).syscalls]

    assert names(set()) == ["exc"]
    assert names({"A"}) == []
    assert names({"A", "B"}) == ["inc"]


def test_rules_equal_to_the_default_are_dropped_and_same_arg_comparisons_are_ored():
    p = parse(json.dumps({"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [
        {"names": ["same"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1},
        {"names": ["other_errno"], "action": "SCMP_ACT_ERRNO", "errnoRet": 2},
        {"names": ["and"], "action": "SCMP_ACT_ALLOW", "args": [
            {"index": 0, "value": 1, "op": "SCMP_CMP_EQ"}, {"index": 1, "value": 2, "op": "SCMP_CMP_EQ"}]},
        {"names": ["or"], "action": "SCMP_ACT_ALLOW", "args": [
            {"index": 0, "value": 1, "op": "SCMP_CMP_EQ"}, {"index": 0, "value": 2, "op": "SCMP_CMP_EQ"}]}]}))
    got = resolve(p, frozenset(), AMD64).syscalls
    assert got == (
        Syscall("other_errno", 0x00050002),
        Syscall("and", ALLOW, (Arg(0, 1, 0, "SCMP_CMP_EQ"), Arg(1, 2, 0, "SCMP_CMP_EQ"))),
        Syscall("or", ALLOW, (Arg(0, 1, 0, "SCMP_CMP_EQ"),)),
        Syscall("or", ALLOW, (Arg(0, 2, 0, "SCMP_CMP_EQ"),)),
    )


def test_architectures_list_is_used_as_given():
    p = parse(json.dumps({"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86"]}))
    assert resolve(p, frozenset(), AMD64).architectures == ("SCMP_ARCH_X86",)


def test_kernel_version_parsing():
    assert kernel_version("6.18.44-fc-v657") == (6, 18)
    assert kernel_version("5.4.0-150-generic") == (5, 4)
    assert kernel_version("7") == (7, 0)
    assert kernel_version("weird") == (0, 0)


@given(st.sets(st.sampled_from(sorted(capabilities.CAPABILITIES))))
def test_adding_capabilities_never_takes_an_unconditional_allow_away(extra):
    base = resolve(seccomp.default_profile(), capabilities.DEFAULT_CAPABILITIES, AMD64)
    wider = resolve(seccomp.default_profile(), capabilities.DEFAULT_CAPABILITIES | extra, AMD64)
    unconditional = {s.name for s in wider.syscalls if s.action == ALLOW and not s.args}
    allowed = {s.name for s in wider.syscalls if s.action == ALLOW}
    assert {s.name for s in base.syscalls if s.action == ALLOW and not s.args} <= unconditional
    assert {s.name for s in base.syscalls if s.action == ALLOW} <= allowed
