"""Compiling through libseccomp, the program cache, and what the BPF decides (no root).

A small classic-BPF interpreter runs the compiled program on made-up
``struct seccomp_data`` the way the kernel would, so the verdicts (allow,
EPERM, ENOSYS) are checked here without starting a process; the
integration tests prove the same from inside real containers.
"""
from __future__ import annotations

import json
import os
import platform
import struct
from pathlib import Path

import pytest

from pyns.errors import InvalidArgument
from pyns.runtime import capabilities, seccomp
from pyns.runtime.seccomp import cache
from pyns.runtime.seccomp.context import Host

try:
    from pyns.runtime.seccomp.libseccomp import load

    load()
except Exception as exc:  # noqa: BLE001 - any failure to load means "skip", with the reason
    pytest.skip(f"libseccomp is not usable here: {exc}", allow_module_level=True)

x86_64 = pytest.mark.skipif(platform.machine() != "x86_64", reason="syscall numbers below are x86_64's")
AUDIT_ARCH_X86_64, AUDIT_ARCH_I386 = 0xC000003E, 0x40000003
X32_BIT = 0x40000000
ALLOW, EPERM, ENOSYS = 0x7FFF0000, 0x00050001, 0x00050026
NR = {"read": 0, "socket": 41, "clone": 56, "execve": 59, "setresuid": 117, "capset": 126, "personality": 135,
      "mount": 165, "keyctl": 250, "unshare": 272, "clone3": 435, "mkdir": 83}
I386_NR = {"getpid": 20, "keyctl": 288, "mount": 21}


def run_bpf(program: bytes, nr: int, arch: int = AUDIT_ARCH_X86_64, args: tuple[int, ...] = ()) -> int:
    """Evaluate a classic BPF seccomp program on one syscall: the kernel's return value."""
    full = (*args, *[0] * (6 - len(args)))
    data = struct.pack("=iIQ6Q", nr, arch, 0, *full)
    insns = [struct.unpack_from("=HBBI", program, off) for off in range(0, len(program), 8)]
    a = x = 0
    mem = [0] * 16
    pc = 0
    while True:
        code, jt, jf, k = insns[pc]
        pc += 1
        cls, op, src = code & 0x07, code & 0xF0, code & 0x08
        if code == 0x20:  # ld [k]
            a = struct.unpack_from("=I", data, k)[0]
        elif code == 0x00:
            a = k
        elif code == 0x60:
            a = mem[k]
        elif code == 0x01:
            x = k
        elif code == 0x61:
            x = mem[k]
        elif code == 0x02:
            mem[k] = a
        elif code == 0x03:
            mem[k] = x
        elif code == 0x07:
            x = a
        elif code == 0x87:
            a = x
        elif cls == 0x04:  # alu
            v = x if src else k
            a = {0x00: a + v, 0x10: a - v, 0x40: a | v, 0x50: a & v, 0x60: a << v, 0x70: a >> v}[op] & 0xFFFFFFFF
        elif code == 0x05:  # ja
            pc += k
        elif cls == 0x05:
            v = x if src else k
            taken = {0x10: a == v, 0x20: a > v, 0x30: a >= v, 0x40: bool(a & v)}[op]
            pc += jt if taken else jf
        elif code == 0x06:
            return k
        elif code == 0x16:
            return a
        else:
            raise AssertionError(f"instruction {code:#x} not handled")


@pytest.fixture(autouse=True)
def _fresh_memory_cache():
    cache.clear_memory()
    yield
    cache.clear_memory()


def program(root: Path, caps=capabilities.DEFAULT_CAPABILITIES, profile: str | None = None) -> bytes:
    p = seccomp.program_for(str(root), profile, frozenset(caps))
    assert p is not None
    return p


@x86_64
def test_default_program_verdicts(tmp_path: Path):
    p = program(tmp_path)
    for name in ("read", "execve", "setresuid", "capset", "mkdir"):
        assert run_bpf(p, NR[name]) == ALLOW, name
    for name in ("mount", "keyctl", "unshare"):
        assert run_bpf(p, NR[name]) == EPERM, name
    assert run_bpf(p, NR["clone3"]) == ENOSYS
    assert run_bpf(p, NR["clone"], args=(0x11 | 0x00010000,)) == ALLOW  # a thread-ish clone
    assert run_bpf(p, NR["clone"], args=(0x10000000 | 17,)) == EPERM  # CLONE_NEWUSER
    assert run_bpf(p, NR["clone"], args=(0x00020000 | 17,)) == EPERM  # CLONE_NEWNS
    assert run_bpf(p, NR["clone"], args=(17 | (1 << 40),)) == ALLOW  # high bits are outside the mask
    assert run_bpf(p, NR["socket"], args=(2,)) == ALLOW  # AF_INET
    assert run_bpf(p, NR["socket"], args=(40,)) == EPERM  # AF_VSOCK
    assert run_bpf(p, NR["socket"], args=(38,)) == EPERM  # AF_ALG
    assert run_bpf(p, NR["socket"], args=(44,)) == ALLOW  # AF_XDP
    assert run_bpf(p, NR["personality"], args=(0xFFFFFFFF,)) == ALLOW
    assert run_bpf(p, NR["personality"], args=(0x0006,)) == EPERM
    assert run_bpf(p, I386_NR["getpid"], arch=AUDIT_ARCH_I386) == ALLOW
    assert run_bpf(p, I386_NR["keyctl"], arch=AUDIT_ARCH_I386) == EPERM
    assert run_bpf(p, NR["read"] | X32_BIT) == ALLOW
    assert run_bpf(p, NR["mount"] | X32_BIT) == EPERM


@x86_64
def test_syscalls_newer_than_the_profile_get_enosys_so_libc_falls_back(tmp_path: Path):
    p = program(tmp_path)
    assert run_bpf(p, 452) in (ALLOW, ENOSYS)  # fchmodat2: allowed if this libseccomp knows it
    assert run_bpf(p, 1000) == ENOSYS
    assert run_bpf(p, 1000, arch=AUDIT_ARCH_I386) == ENOSYS
    assert run_bpf(p, 1000 | X32_BIT) == ENOSYS
    assert run_bpf(p, -1) == ENOSYS
    assert run_bpf(p, 134) == EPERM  # uselib: old, known, denied
    assert run_bpf(p, 134, arch=0xDEAD) == 0  # an architecture not in the filter: killed
    allow_all = json.dumps({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
        {"names": ["mkdir"], "action": "SCMP_ACT_ERRNO"}]})
    assert run_bpf(program(tmp_path, profile=allow_all), 1000) == ALLOW


@x86_64
def test_sys_admin_program_allows_mount_and_namespaces(tmp_path: Path):
    p = program(tmp_path, capabilities.DEFAULT_CAPABILITIES | {"SYS_ADMIN"})
    assert run_bpf(p, NR["mount"]) == ALLOW
    assert run_bpf(p, NR["clone3"]) == ALLOW
    assert run_bpf(p, NR["clone"], args=(0x10000000 | 17,)) == ALLOW
    assert run_bpf(p, NR["keyctl"]) == EPERM


@x86_64
def test_custom_profile_errno(tmp_path: Path):
    path = tmp_path / "p.json"
    path.write_text(json.dumps({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
        {"names": ["mkdir"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13},
        {"names": ["no_such_syscall_anywhere"], "action": "SCMP_ACT_KILL"}]}))
    p = program(tmp_path, profile=str(path))
    assert run_bpf(p, NR["mkdir"]) == 0x00050000 | 13
    assert run_bpf(p, NR["mount"]) == ALLOW
    assert program(tmp_path, profile=path.read_text()) == p  # JSON text, as HostConfig stores it


def test_compiling_is_deterministic_and_fits_the_kernel_limit(tmp_path: Path):
    profile = seccomp.default_profile()
    a = seccomp.compile_profile(profile, capabilities.DEFAULT_CAPABILITIES)
    b = seccomp.compile_profile(profile, capabilities.DEFAULT_CAPABILITIES)
    assert a == b and a is not None
    assert len(a) % 8 == 0 and 0 < len(a) // 8 <= 4096
    assert program(tmp_path) == a


def test_unconfined_and_empty_profiles_give_no_program(tmp_path: Path):
    assert seccomp.program_for(str(tmp_path), "unconfined", frozenset()) is None
    assert seccomp.program_for(str(tmp_path), "{}", frozenset()) is None


def test_bad_profiles_raise_invalid_argument_with_dockers_words(tmp_path: Path):
    missing = tmp_path / "nope.json"
    with pytest.raises(InvalidArgument, match=rf"^opening seccomp profile \({missing}\) failed: No such file"):
        seccomp.program_for(str(tmp_path), str(missing), frozenset())
    bad = tmp_path / "bad.json"
    bad.write_text('{"defaultAction": 1}')
    with pytest.raises(InvalidArgument, match="^decoding seccomp profile failed: defaultAction"):
        seccomp.program_for(str(tmp_path), str(bad), frozenset())


def test_a_cached_start_does_not_compile(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    first = program(tmp_path)
    files = list((tmp_path / "seccomp").glob("*.bpf"))
    assert len(files) == 1

    def no_compiling(*a, **kw):
        raise AssertionError("compiled again")

    monkeypatch.setattr(seccomp, "compile_profile", no_compiling)
    assert program(tmp_path) == first  # from memory
    cache.clear_memory()
    assert program(tmp_path) == first  # from the file
    # Same capabilities in another spelling: same key.
    assert program(tmp_path, {"CAP_" + c for c in capabilities.DEFAULT_CAPABILITIES}) == first


def test_a_changed_library_or_a_torn_file_means_compiling_again(tmp_path: Path):
    first = program(tmp_path)
    (path,) = (tmp_path / "seccomp").glob("*.bpf")
    data = path.read_bytes()
    header, rest = data[len(cache.MAGIC):].split(b"\n", 1)
    meta = json.loads(header)
    k = rest[:meta["key"]]
    assert cache.path_for(str(tmp_path), k) == str(path) and cache.get(str(tmp_path), k) == first
    meta["library"]["size"] += 1  # as if libseccomp had been upgraded
    path.write_bytes(cache.MAGIC + json.dumps(meta).encode() + b"\n" + rest)
    cache.clear_memory()
    assert cache.get(str(tmp_path), k) is None
    assert program(tmp_path) == first
    assert path.read_bytes() == data  # rewritten with the real stamp
    path.write_bytes(data[:-8])
    cache.clear_memory()
    assert cache.get(str(tmp_path), k) is None
    assert program(tmp_path) == first


def test_a_file_of_another_key_with_the_same_name_is_a_miss(tmp_path: Path):
    """Files are named by a CRC: a hit must match the whole key, byte for byte."""
    host = Host("amd64", (6, 1))
    k, other = cache.key(b"{}", frozenset({"CHOWN"}), host), cache.key(b"{ }", frozenset({"CHOWN"}), host)
    cache.put(str(tmp_path), k, b"\x01" * 8, {})
    os.rename(cache.path_for(str(tmp_path), k), cache.path_for(str(tmp_path), other))
    cache.clear_memory()
    assert cache.get(str(tmp_path), other) is None


def test_an_unwritable_root_still_gives_a_program(tmp_path: Path):
    not_a_dir = tmp_path / "file"
    not_a_dir.write_text("")
    assert program(not_a_dir) == seccomp.compile_profile(seccomp.default_profile(), capabilities.DEFAULT_CAPABILITIES)


def test_cache_key_covers_profile_caps_arch_and_kernel():
    caps = frozenset({"CHOWN"})
    base = cache.key(b"{}", caps, Host("amd64", (6, 1)))
    assert base == cache.key(b"{}", caps, Host("amd64", (6, 1)))
    assert len({base, cache.key(b"{ }", caps, Host("amd64", (6, 1))),
                cache.key(b"{}", frozenset(), Host("amd64", (6, 1))),
                cache.key(b"{}", caps, Host("arm64", (6, 1))),
                cache.key(b"{}", caps, Host("amd64", (6, 2)))}) == 5


def test_profile_option_stores_compact_json_like_dockers_cli(tmp_path: Path):
    path = tmp_path / "p.json"
    path.write_text('{\n  "defaultAction": "SCMP_ACT_ALLOW",\n  "syscalls": []\n}\n')
    assert seccomp.profile_option(str(path)) == '{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[]}'
    assert seccomp.profile_option("unconfined") == "unconfined"
    path.write_text('{"defaultAction": "SCMP_ACT_NOPE"}')
    with pytest.raises(InvalidArgument, match="unknown action"):
        seccomp.profile_option(str(path))
    assert os.path.exists(seccomp.DEFAULT_PROFILE_PATH)
