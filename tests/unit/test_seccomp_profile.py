"""Docker's seccomp profile format: parsing and validation (pure, no root)."""
from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pyns.errors import InvalidArgument
from pyns.runtime import seccomp
from pyns.runtime.seccomp.profile import ACTIONS, ARCHITECTURES, OPERATORS, Arg, Condition, parse


def rule(**kw) -> dict:
    return {"names": ["mkdir"], "action": "SCMP_ACT_ERRNO", **kw}


def doc(*rules: dict, **top) -> str:
    return json.dumps({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": list(rules), **top})


def test_the_default_profile_is_an_allowlist_in_dockers_format():
    p = seccomp.default_profile()
    assert (p.default_action, p.default_errno_ret) == ("SCMP_ACT_ERRNO", 1)
    assert p.arch_map[0].architecture == "SCMP_ARCH_X86_64"
    assert p.arch_map[0].sub_architectures == ("SCMP_ARCH_X86", "SCMP_ARCH_X32")
    allowed = {n for r in p.syscalls if r.action == "SCMP_ACT_ALLOW" and not (r.includes or r.excludes or r.args)
               for n in r.names}
    assert {"read", "write", "execve", "setresuid", "capset", "prctl", "futex", "rseq"} <= allowed
    for denied in ("mount", "umount2", "unshare", "setns", "keyctl", "add_key", "request_key", "bpf", "kexec_load",
                   "userfaultfd", "pivot_root", "reboot", "init_module", "ptrace", "clone", "clone3", "socket",
                   "personality", "io_uring_setup", "acct", "swapon"):
        assert denied not in allowed, denied
    clone3 = [r for r in p.syscalls if r.names == ("clone3",)]
    assert [(r.action, r.errno_ret, r.excludes.caps) for r in clone3] == [("SCMP_ACT_ERRNO", 38, ("SYS_ADMIN",))]


def test_single_name_args_and_conditions():
    p = parse(doc({"name": "clone", "action": "SCMP_ACT_ALLOW",
                   "args": [{"index": 0, "value": 2114060288, "valueTwo": 0, "op": "SCMP_CMP_MASKED_EQ"}],
                   "includes": {"arches": ["amd64"], "minKernel": "4.8"}, "excludes": {"caps": ["CAP_SYS_ADMIN"]},
                   "comment": "guarded clone"}))
    (r,) = p.syscalls
    assert r.names == ("clone",)
    assert r.args == (Arg(0, 2114060288, 0, "SCMP_CMP_MASKED_EQ"),)
    assert r.includes == Condition(arches=("amd64",), min_kernel=(4, 8))
    assert r.excludes == Condition(caps=("SYS_ADMIN",))
    assert r.comment == "guarded clone"


def test_unknown_keys_are_ignored_like_gos_decoder():
    p = parse(doc(rule(errnoRet=13, whatever=1), description="x"))
    assert p.syscalls[0].errno_ret == 13


def test_an_empty_profile_disables_seccomp_as_in_docker():
    assert parse("{}").disabled
    assert not parse(doc()).disabled


@pytest.mark.parametrize("text, message", [
    ("{not json", "decoding seccomp profile failed: Expecting property name"),
    ("[]", "profile: expected an object, got array"),
    (doc(rule(name="mkdir")), "both 'name' and 'names' are specified"),
    (doc({"action": "SCMP_ACT_ALLOW"}), "syscalls[0]: a rule needs a non-empty 'name' or 'names'"),
    (doc(rule(names=["mkdir", ""])), "a rule needs a non-empty"),
    (doc(rule(action="SCMP_ACT_MAYBE")), "syscalls[0].action: unknown action 'SCMP_ACT_MAYBE'"),
    (doc(rule(action="SCMP_ACT_NOTIFY")), "SCMP_ACT_NOTIFY is not supported"),
    (doc(listenerPath="/run/x.sock"), "listenerPath"),
    (doc(rule(action="SCMP_ACT_ALLOW", errnoRet=1)), "errnoRet is only supported for SCMP_ACT_ERRNO and SCMP_ACT_TRACE"),
    (doc(rule(errnoRet=-1)), "syscalls[0].errnoRet: -1 is out of range"),
    (doc(rule(errnoRet=True)), "syscalls[0].errnoRet: expected an unsigned integer, got boolean"),
    (doc(rule(args=[{"index": 6, "value": 0, "op": "SCMP_CMP_EQ"}])), "syscalls[0].args[0].index: 6 is out of range 0..5"),
    (doc(rule(args=[{"index": 0, "value": 1 << 64, "op": "SCMP_CMP_EQ"}])), "args[0].value"),
    (doc(rule(args=[{"index": 0, "value": 1.5, "op": "SCMP_CMP_EQ"}])), "args[0].value: expected an unsigned integer"),
    (doc(rule(args=[{"index": 0, "value": 1, "op": "SCMP_CMP_SOMETIMES"}])), "unknown operator 'SCMP_CMP_SOMETIMES'"),
    (doc(rule(includes={"minKernel": "4"})), 'invalid kernel version \'4\', expected "<kernel>.<major>"'),
    (doc(rule(excludes={"caps": "CAP_SYS_ADMIN"})), "syscalls[0].excludes.caps: expected an array of strings"),
    (doc(architectures=["SCMP_ARCH_Z80"]), "architectures[0]: unknown value 'SCMP_ARCH_Z80'"),
    (doc(architectures=["SCMP_ARCH_X86_64"], archMap=[{"architecture": "SCMP_ARCH_X86_64"}]),
     "use either 'architectures' or 'archMap'"),
    (doc(flags=["SECCOMP_FILTER_FLAG_FAST"]), "flags[0]: unknown value"),
    (json.dumps({"syscalls": [rule()]}), "defaultAction: required when syscalls are given"),
    (json.dumps({"defaultAction": 1}), "defaultAction: expected a string, got number"),
    (json.dumps({"defaultAction": "SCMP_ACT_ALLOW", "defaultErrnoRet": 1}), "defaultErrnoRet: errnoRet is only supported"),
])
def test_invalid_profiles_say_what_and_where(text: str, message: str):
    with pytest.raises(InvalidArgument) as e:
        parse(text)
    assert str(e.value).startswith("decoding seccomp profile failed: ")
    assert message in str(e.value)


# -- property tests ---------------------------------------------------------------------------------------

_json = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 1 << 65) | st.floats(allow_nan=False) | st.text(max_size=8)
    | st.sampled_from([*ACTIONS, *OPERATORS, *ARCHITECTURES, "SCMP_ACT_NOTIFY"]),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(
        st.sampled_from(["defaultAction", "defaultErrnoRet", "architectures", "archMap", "syscalls", "names", "name",
                         "action", "errnoRet", "args", "index", "value", "valueTwo", "op", "includes", "excludes",
                         "caps", "arches", "minKernel", "flags", "architecture", "subArchitectures", "x"]),
        children, max_size=5),
    max_leaves=25)


@given(_json)
def test_any_json_document_gives_a_profile_or_invalid_argument(document):
    try:
        parse(json.dumps(document))
    except InvalidArgument as e:
        assert str(e).startswith("decoding seccomp profile failed: ")


_names = st.lists(st.from_regex(r"[a-z_][a-z0-9_]{0,15}", fullmatch=True), min_size=1, max_size=4)
_args = st.lists(st.builds(lambda i, v, v2, op: {"index": i, "value": v, "valueTwo": v2, "op": op},
                           st.integers(0, 5), st.integers(0, (1 << 64) - 1), st.integers(0, (1 << 64) - 1),
                           st.sampled_from(sorted(OPERATORS))), max_size=3)
_rule = st.builds(lambda names, action, errno, args: {"names": names, "action": action, "args": args,
                                                      **({"errnoRet": errno} if action.endswith(("ERRNO", "TRACE")) else {})},
                  _names, st.sampled_from(sorted(ACTIONS)), st.integers(0, 4095), _args)


@given(st.lists(_rule, max_size=5))
def test_valid_rules_round_trip_into_the_model(rules):
    p = parse(doc(*rules))
    assert len(p.syscalls) == len(rules)
    for got, want in zip(p.syscalls, rules):
        assert got.names == tuple(want["names"]) and got.action == want["action"]
        assert got.errno_ret == want.get("errnoRet")
        assert got.args == tuple(Arg(a["index"], a["value"], a["valueTwo"], a["op"]) for a in want["args"])
