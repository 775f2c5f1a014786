"""Seccomp, proven from inside real processes started by the runtime layer.

Each test spawns a busybox root (the image's layers plus a layer holding a
small static probe program) through Spec -> build_plan -> Plan.spawn with
the compiled program in Spec.seccomp_bpf, and reads what the process saw.
The probe makes raw syscalls (clone with CLONE_NEWUSER, clone3, keyctl,
the i386 ABI...) that no busybox applet makes, and prints their errno.
"""
from __future__ import annotations

import errno
import os
import platform
import shutil
import subprocess
from pathlib import Path

import pytest

from pyns.runtime import capabilities, defaults, seccomp
from pyns.runtime.native import Plan
from pyns.runtime.plan import build_plan
from pyns.runtime.spec import Process, Root, Spec
from tests.conftest import needs_root

pytestmark = needs_root

PROBE_C = r"""
#define _GNU_SOURCE
#include <errno.h>
#include <linux/sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static long child_done(long rc)
{
    if (rc == 0)
        _exit(0);
    if (rc > 0)
        waitpid((pid_t)rc, NULL, 0);
    return rc;
}

static long i386_syscall(long nr, long a, long b)
{
#ifdef __x86_64__
    long ret;
    __asm__ volatile("int $0x80" : "=a"(ret) : "a"(nr), "b"(a), "c"(b), "d"(0) : "memory");
    if (ret < 0 && ret > -4096) {
        errno = (int)-ret;
        return -1;
    }
    return ret;
#else
    (void)nr; (void)a; (void)b;
    errno = ENOSYS;
    return -1;
#endif
}

static long probe(const char *c)
{
    struct clone_args ca;
    if (!strcmp(c, "clone_newuser"))
        return child_done(syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, 0, 0, 0, 0));
    if (!strcmp(c, "clone_newns"))
        return child_done(syscall(SYS_clone, CLONE_NEWNS | SIGCHLD, 0, 0, 0, 0));
    if (!strcmp(c, "clone_plain"))
        return child_done(syscall(SYS_clone, SIGCHLD, 0, 0, 0, 0));
    if (!strcmp(c, "clone3")) {
        memset(&ca, 0, sizeof ca);
        ca.exit_signal = SIGCHLD;
        return child_done(syscall(SYS_clone3, &ca, sizeof ca));
    }
    if (!strcmp(c, "keyctl"))
        return syscall(SYS_keyctl, 0 /* GET_KEYRING_ID */, -3 /* session */, 0);
    if (!strcmp(c, "add_key"))
        return syscall(SYS_add_key, "user", "pyns-test", "x", 1, -3);
    if (!strcmp(c, "unshare_user"))
        return syscall(SYS_unshare, CLONE_NEWUSER);
    if (!strcmp(c, "mount"))
        return syscall(SYS_mount, "x", "/mnt", "tmpfs", 0, NULL);
    if (!strcmp(c, "userfaultfd"))
        return syscall(SYS_userfaultfd, 0);
    if (!strcmp(c, "socket_vsock"))
        return socket(40 /* AF_VSOCK */, SOCK_STREAM, 0);
    if (!strcmp(c, "socket_inet"))
        return socket(AF_INET, SOCK_STREAM, 0);
    if (!strcmp(c, "personality_bsd"))
        return syscall(SYS_personality, 0x0006 /* PER_BSD */);
    if (!strcmp(c, "personality_query"))
        return syscall(SYS_personality, 0xffffffffUL);
    if (!strcmp(c, "fchmodat2"))  /* x86_64 number; newer than libseccomp 2.5 */
        return syscall(452, -100 /* AT_FDCWD */, "/tmp", 01777, 0);
    if (!strcmp(c, "nosys"))
        return syscall(1000);
    if (!strcmp(c, "i386_getpid"))
        return i386_syscall(20, 0, 0);
    if (!strcmp(c, "i386_keyctl"))
        return i386_syscall(288, 0 /* GET_KEYRING_ID */, -3 /* session */);
    errno = EINVAL;
    return -2;
}

int main(int argc, char **argv)
{
    int i;
    for (i = 1; i < argc; i++) {
        long rc;
        errno = 0;
        rc = probe(argv[i]);
        if (rc < 0)
            printf("%s %d\n", argv[i], errno);
        else
            printf("%s 0\n", argv[i]);
        fflush(stdout);
    }
    return 0;
}
"""


@pytest.fixture(scope="session")
def probe_layer(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A layer directory with /probe: the C program above, built static so any root can run it."""
    if not shutil.which("gcc"):
        pytest.skip("gcc is needed to build the probe")
    d = tmp_path_factory.mktemp("probe")
    (d / "probe.c").write_text(PROBE_C)
    layer = d / "layer"
    layer.mkdir()
    subprocess.run(["gcc", "-static", "-O1", "-o", str(layer / "probe"), str(d / "probe.c")], check=True)
    (d / "probe.c").unlink()
    return layer


def _userns_allowed() -> bool:
    try:
        return Path("/proc/sys/user/max_user_namespaces").read_text().strip() != "0"
    except OSError:
        return True


class Box:
    """Runs commands in a fresh container made of the busybox image plus the probe layer."""

    def __init__(self, layers: list[str], work: Path) -> None:
        self.layers = layers
        self.work = work
        self.runs = 0

    def run(self, argv: list[str], program: bytes | None, caps: frozenset[str] = capabilities.DEFAULT_CAPABILITIES,
            nnp: bool = False, uid: int = 0) -> tuple[int, str]:
        self.runs += 1
        d = self.work / f"c{self.runs}"
        for sub in ("rootfs", "upper", "work"):
            (d / sub).mkdir(parents=True)
        spec = Spec(
            process=Process(args=argv, env=[f"PATH={defaults.DEFAULT_PATH}"], uid=uid, gid=uid,
                            capabilities=caps, no_new_privileges=nnp),
            root=Root(path=str(d / "rootfs"), layers=self.layers, upper=str(d / "upper"), work=str(d / "work")),
            hostname="seccomp",
            mounts=defaults.base_mounts(),
            devices=list(defaults.DEVICES),
            symlinks=list(defaults.SYMLINKS),
            seccomp_bpf=program,
        )
        r, w = os.pipe()
        try:
            pid = Plan(build_plan(spec), argv[0]).spawn(-1, w, w).pid
        finally:
            os.close(w)
        with os.fdopen(r, "rb") as f:
            out = f.read().decode(errors="replace")
        _, status = os.waitpid(pid, 0)
        return os.waitstatus_to_exitcode(status), out

    def probe(self, program: bytes | None, *calls: str, **kw) -> dict[str, int]:
        code, out = self.run(["/probe", *calls], program, **kw)
        assert code == 0, out
        return {name: int(err) for name, err in (line.split() for line in out.splitlines())}


@pytest.fixture
def box(engine, busybox, probe_layer: Path, tmp_path: Path) -> Box:
    layers = [*engine.image_store.layer_dirs(busybox), str(probe_layer)]
    return Box(layers, tmp_path / "containers")


@pytest.fixture
def default_program(root: Path) -> bytes:
    program = seccomp.program_for(str(root), None, capabilities.DEFAULT_CAPABILITIES)
    assert program
    return program


def test_default_profile_denies_namespaces_mounts_and_keyrings(box: Box, default_program: bytes):
    seen = box.probe(default_program, "clone_newuser", "clone_newns", "unshare_user", "mount", "keyctl",
                     "add_key", "userfaultfd", "socket_vsock", "personality_bsd")
    assert seen == dict.fromkeys(seen, errno.EPERM)


def test_clone3_is_enosys_so_libc_falls_back_while_plain_clone_works(box: Box, default_program: bytes):
    seen = box.probe(default_program, "clone3", "clone_plain", "socket_inet", "personality_query")
    assert seen == {"clone3": errno.ENOSYS, "clone_plain": 0, "socket_inet": 0, "personality_query": 0}


@pytest.mark.skipif(platform.machine() != "x86_64", reason="syscall numbers are x86_64's")
def test_syscalls_the_profile_does_not_know_yet_look_unimplemented(box: Box, default_program: bytes):
    seen = box.probe(default_program, "fchmodat2", "nosys")
    assert seen["nosys"] == errno.ENOSYS
    assert seen["fchmodat2"] in (0, errno.ENOSYS)  # allowed by a libseccomp that knows it, else ENOSYS: never EPERM


@pytest.mark.skipif(platform.machine() != "x86_64", reason="the i386 ABI exists on x86_64 only")
def test_the_i386_abi_is_filtered_too(box: Box, default_program: bytes):
    assert box.probe(default_program, "i386_getpid", "i386_keyctl") == {"i386_getpid": 0, "i386_keyctl": errno.EPERM}
    assert box.probe(None, "i386_keyctl") == {"i386_keyctl": 0}


def test_busybox_applets_fail_as_docker_users_see_it(box: Box, default_program: bytes):
    code, out = box.run(["sh", "-c", "mkdir /mnt; unshare -U true; echo unshare=$?; mount -t tmpfs x /mnt; echo mount=$?"],
                        default_program)
    assert code == 0
    lines = out.splitlines()
    assert "unshare=1" in lines and "mount=1" in lines, out
    assert "unshare: unshare(0x10000000): Operation not permitted" in lines, out
    assert "mount: permission denied (are you root?)" in lines, out  # busybox's words for EPERM


def test_ordinary_programs_work_under_the_filter(box: Box, default_program: bytes):
    script = ("set -e; echo hello | tr a-z A-Z | sed s/L/l/g; ls / | grep -c . >/dev/null; "
              "mkdir -p /tmp/www && echo served > /tmp/www/index.html; "
              "httpd -p 127.0.0.1:8080 -h /tmp/www; "
              "for i in 1 2 3 4 5 6 7 8 9 10; do wget -q -O - http://127.0.0.1:8080/index.html && break; sleep 0.2; done; "
              "id -u; date +%Y >/dev/null; sleep 0.01 & wait; echo done")
    code, out = box.run(["sh", "-c", script], default_program)
    assert code == 0, out
    assert out.split() == ["HEllO", "served", "0", "done"]


def test_the_filter_survives_a_switch_to_a_non_root_user_and_no_new_privileges(box: Box, default_program: bytes):
    code, out = box.run(["sh", "-c", "id -u; grep Seccomp: /proc/self/status"], default_program, uid=1000)
    assert code == 0, out
    assert out.split() == ["1000", "Seccomp:", "2"]
    seen = box.probe(default_program, "clone_newuser", "clone_plain", nnp=True)
    assert seen == {"clone_newuser": errno.EPERM, "clone_plain": 0}


def test_cap_sys_admin_widens_the_filter_like_docker(box: Box, root: Path):
    caps = capabilities.DEFAULT_CAPABILITIES | {"SYS_ADMIN"}
    program = seccomp.program_for(str(root), None, caps)
    code, out = box.run(["sh", "-c", "mkdir /mnt && mount -t tmpfs x /mnt && echo mounted"], program, caps=caps)
    assert (code, out.strip()) == (0, "mounted")
    assert box.probe(program, "clone3", "keyctl", caps=caps) == {"clone3": 0, "keyctl": errno.EPERM}


def test_unconfined_with_sys_admin_can_mount(box: Box, root: Path):
    caps = capabilities.DEFAULT_CAPABILITIES | {"SYS_ADMIN"}
    assert seccomp.program_for(str(root), "unconfined", caps) is None
    code, out = box.run(["sh", "-c", "mkdir /mnt && mount -t tmpfs x /mnt && echo mounted; grep Seccomp: /proc/self/status"],
                        None, caps=caps)
    assert code == 0
    assert out.split() == ["mounted", "Seccomp:", "0"]


def test_a_custom_profile_denying_mkdir_returns_its_errno(box: Box, root: Path, tmp_path: Path):
    path = tmp_path / "no-mkdir.json"
    path.write_text('{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": ['
                    '{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13}]}')
    program = seccomp.program_for(str(root), str(path), capabilities.DEFAULT_CAPABILITIES)
    code, out = box.run(["sh", "-c", "mkdir /tmp/x; echo rc=$?; touch /tmp/y && echo touched"], program)
    assert code == 0
    assert "Permission denied" in out and "rc=1" in out and "touched" in out


def test_without_a_filter_the_same_calls_are_not_refused(box: Box):
    """The control for the tests above: it is the filter, not the kernel or the capabilities, that says no."""
    seen = box.probe(None, "clone_newuser", "clone3", "keyctl", "socket_inet")
    assert seen["clone3"] == 0 and seen["socket_inet"] == 0
    assert seen["clone_newuser"] != errno.EPERM or not _userns_allowed()
    assert seen["keyctl"] not in (errno.EPERM, errno.ENOSYS)
