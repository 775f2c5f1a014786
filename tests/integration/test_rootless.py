"""Rootless mode: pyns run by an ordinary user (a test user made here, removed after).

The user runs Debian's /usr/bin/python3 (make deps installs its cffi and
click: an ordinary user may not reach a Python installed under /root) on a
copy of the pyns package under test placed where that user can read it.
"""
from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

import pyns
from pyns.runtime import idmap
from tests.conftest import needs_root
from tests.integration.test_userns import status_ids

pytestmark = needs_root
SYSTEM_PY = "/usr/bin/python3"


def _system_python_ready() -> str | None:
    if not os.path.exists(SYSTEM_PY) or not shutil.which("newuidmap") or not shutil.which("setpriv"):
        return "needs /usr/bin/python3, newuidmap (uidmap) and setpriv: make deps installs them"
    r = subprocess.run([SYSTEM_PY, "-c", "import _cffi_backend, cffi, click"], capture_output=True)
    if r.returncode != 0:
        return "Debian's python3 lacks cffi/click (python3-cffi, python3-click: make deps installs them)"
    return None


@pytest.fixture(scope="module")
def package_copy(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The pyns package under test (with its native parts), readable by anyone."""
    why = _system_python_ready()
    if why:
        pytest.skip(why)
    base = Path(tempfile.mkdtemp(prefix="pyns-rootless-pkg-"))
    os.chmod(base, 0o755)
    shutil.copytree(os.path.dirname(pyns.__file__), base / "pyns",
                    ignore=shutil.ignore_patterns("__pycache__"))
    for d, _, files in os.walk(base):
        os.chmod(d, 0o755)
        for f in files:
            p = os.path.join(d, f)
            os.chmod(p, 0o755 if os.access(p, os.X_OK) else 0o644)
    yield str(base)
    shutil.rmtree(base, ignore_errors=True)


class User:
    """An ordinary user with subordinate ids, and a way to run pyns as it."""

    def __init__(self, name: str, home: str, pythonpath: str) -> None:
        self.name, self.home, self.pythonpath = name, home, pythonpath
        self.env: dict[str, str] = {}
        pw = pwd.getpwnam(name)
        self.uid, self.gid = pw.pw_uid, pw.pw_gid

    def pyns(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
        env = {"HOME": self.home, "PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "PYTHONPATH": self.pythonpath,
               "LANG": "C.UTF-8", **self.env}
        return subprocess.run(["setpriv", f"--reuid={self.uid}", f"--regid={self.gid}", "--clear-groups", "--",
                               SYSTEM_PY, "-m", "pyns.cli.main", *args],
                              env=env, capture_output=True, timeout=timeout, cwd="/")

    def ok(self, *args: str) -> str:
        r = self.pyns(*args)
        assert r.returncode == 0, (args, r.returncode, r.stderr.decode())
        return r.stdout.decode()

    def processes(self) -> list[str]:
        """The user's live processes (zombies excluded: this host's init reaps late)."""
        out = []
        for p in os.listdir("/proc"):
            try:
                if not p.isdigit() or os.stat(f"/proc/{p}").st_uid != self.uid:
                    continue
                if Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z":
                    continue
                out.append(f"{p}:{Path(f'/proc/{p}/comm').read_text().strip()}")
            except (OSError, IndexError):
                continue
        return out


def _make_user(home_parent: Path, pythonpath: str, subids: bool) -> User:
    name = f"pynsrl{os.getpid() % 10000}{os.urandom(2).hex()}"
    args = ["useradd", "-M", "-N", "-g", "users", "-s", "/usr/sbin/nologin", "-d", "/nonexistent",
            "-K", "SUB_UID_COUNT=0", "-K", "SUB_GID_COUNT=0", name]
    subprocess.run(args, check=True, capture_output=True)
    if subids:
        entries = idmap.read_subid("/etc/subuid") + \
            idmap.parse_subid(Path("/etc/subgid").read_text())
        start = idmap.free_range(entries, start=1_000_000)
        span = f"{start}-{start + 65535}"
        subprocess.run(["usermod", "--add-subuids", span, "--add-subgids", span, name], check=True,
                       capture_output=True)
    home = home_parent / name
    home.mkdir()
    os.chown(home, pwd.getpwnam(name).pw_uid, pwd.getpwnam(name).pw_gid)
    return User(name, str(home), pythonpath)


def _remove_user(user: User) -> list[str]:
    """Kill what the user still runs (the pause process at least), delete it; what leaked."""
    deadline = time.monotonic() + 5
    leaked = [p for p in user.processes() if not p.endswith(":pyns-pause")]
    while user.processes() and time.monotonic() < deadline:
        subprocess.run(["pkill", "-9", "-u", str(user.uid)], capture_output=True)
        time.sleep(0.05)
    subprocess.run(["userdel", user.name], capture_output=True)
    mounts = [line for line in Path("/proc/self/mountinfo").read_text().splitlines() if user.home in line]
    shutil.rmtree(user.home, ignore_errors=True)
    return [f"process {p}" for p in leaked] + [f"mount {m}" for m in mounts]


@pytest.fixture
def user(package_copy: str, tmp_path_factory: pytest.TempPathFactory, busybox_tar: Path):
    parent = Path(tempfile.mkdtemp(prefix="pyns-rootless-home-"))
    os.chmod(parent, 0o755)
    u = _make_user(parent, package_copy, subids=True)
    shutil.copy(busybox_tar, Path(u.home) / "busybox.tar")
    os.chmod(Path(u.home) / "busybox.tar", 0o644)
    try:
        yield u
    finally:
        leaks = _remove_user(u)
        shutil.rmtree(parent, ignore_errors=True)
    assert not leaks, "left behind: " + "; ".join(leaks)


def test_an_ordinary_user_runs_containers(user):
    user.ok("import", f"{user.home}/busybox.tar", "busybox:latest")
    store = Path(user.home) / ".local" / "share" / "pyns"
    assert (store / "layers").is_dir()
    # Root inside; the user's own uid outside, its subordinate ids after it.
    out = user.ok("run", "--rm", "busybox", "sh", "-c", "id -u; cat /proc/self/uid_map; ls -n /dev/null")
    lines = out.split("\n")
    assert lines[0] == "0"
    assert lines[1].split() == ["0", str(user.uid), "1"]
    assert lines[2].split()[:2] == ["1", str(idmap.ranges_for(
        idmap.read_subid("/etc/subuid"), {user.name})[0][1])]
    assert lines[3].startswith("crw-rw-rw-")  # the host's node, bound (a user namespace may not mknod)

    cid = user.ok("run", "-d", "--name", "bg", "busybox", "sh", "-c",
                  "echo hi > /f; chown 33:33 /f; echo started; sleep 60").strip()
    pid = int(user.ok("inspect", "-f", "{{.State.Pid}}", "bg"))
    assert status_ids(pid)[0] == user.uid  # checked from the host: not root
    # A second CLI process acts on it: it joins the same user namespace.
    assert user.ok("exec", "bg", "id", "-u").strip() == "0"
    assert "bg" in user.ok("ps")
    assert "sleep 60" in user.ok("top", "bg")  # no cgroup: found through its pid namespace
    for _ in range(100):
        if "started" in user.ok("logs", "bg"):
            break
        time.sleep(0.05)
    upper = store / "containers" / cid / "diff" / "f"
    sub_start = idmap.ranges_for(idmap.read_subid("/etc/subuid"), {user.name})[0][1]
    assert upper.stat().st_uid == sub_start + 32  # container uid 33 = the user's 33rd subordinate id
    user.ok("stop", "-t", "1", "bg")
    user.ok("rm", "bg")
    assert not (store / "containers" / cid).exists()
    assert [p for p in user.processes() if not p.endswith(":pyns-pause")] == []


def test_what_needs_root_fails_with_the_reason(user):
    user.ok("import", f"{user.home}/busybox.tar", "busybox:latest")
    cases = [
        (["run", "--rm", "--network", "bridge", "busybox", "true"], "rootless: network mode bridge needs root"),
        (["run", "--rm", "-p", "8080:80", "busybox", "true"], "published ports are not available"),
        (["run", "--rm", "-m", "64m", "busybox", "true"], "rootless: resource limits need cgroups, and the cgroup "
                                                          "parent 'pyns' is not delegated to this user"),
        (["--userns-remap", "default", "run", "--rm", "busybox", "true"], "rootless: --userns-remap needs root"),
    ]
    for args, msg in cases:
        r = user.pyns(*args)
        assert r.returncode == 125, (args, r.stderr)
        err = r.stderr.decode()
        assert err.startswith("Error: ") and msg in err and err.count("\n") == 1, (args, err)
    # --network host works: the user's own network namespace, /sys bound from the host.
    assert "lo" in user.ok("run", "--rm", "--network", "host", "busybox", "ls", "/sys/class/net").split()


@pytest.fixture
def delegated(user):
    """A cgroup parent in every hierarchy, given to the user (what an admin or systemd does)."""
    from pyns.runtime.cgroups import detect

    name = f"pyns-test-rl-{user.name}"
    dirs = [os.path.join(h, name) for h in detect().hierarchies()]
    for d in dirs:
        os.mkdir(d)
        for p in [d, *(os.path.join(d, f) for f in os.listdir(d))]:
            os.chown(p, user.uid, user.gid)
    user.env["PYNS_CGROUP_PARENT"] = name
    try:
        yield dirs
    finally:
        for d in dirs:
            for sub in sorted((os.path.join(d, x) for x in os.listdir(d) if os.path.isdir(os.path.join(d, x))),
                              reverse=True):
                os.rmdir(sub)
            os.rmdir(d)


def test_limits_in_a_delegated_cgroup_tree(user, delegated):
    user.ok("import", f"{user.home}/busybox.tar", "busybox:latest")
    cid = user.ok("run", "-d", "--name", "lim", "-m", "64m", "--pids-limit", "50", "busybox", "sleep", "60").strip()
    pid = int(user.ok("inspect", "-f", "{{.State.Pid}}", "lim"))
    mem = next(d for d in delegated if "/memory/" in d)
    pids = next(d for d in delegated if "/pids/" in d)
    assert Path(mem, cid, "memory.limit_in_bytes").read_text().strip() == str(64 << 20)
    assert Path(pids, cid, "pids.max").read_text().strip() == "50"
    assert str(pid) in Path(pids, cid, "cgroup.procs").read_text().split()
    assert "sleep 60" in user.ok("top", "lim")
    user.ok("rm", "-f", "lim")
    assert all(not os.path.exists(os.path.join(d, cid)) for d in delegated)


def test_escape_attempts_fail_rootless(user, tmp_path):
    user.ok("import", f"{user.home}/busybox.tar", "busybox:latest")
    secret = Path(tempfile.mkdtemp(prefix="pyns-rootless-secret-")) / "f"
    os.chmod(secret.parent, 0o700)
    secret.write_text("host secret\n")
    try:
        checks = {
            "write /proc/sys": "echo 1 > /proc/sys/kernel/panic",
            "mknod a host disk": "mknod /tmp/disk b 8 0 && head -c 1 /tmp/disk",
            "mount the host root": "mkdir -p /h && mount /dev/vda /h",
            "new user namespace": "unshare -U -r true",
            "read root's file through /proc/1/root": f"cat /proc/1/root{secret}",
            "set the clock": "date -s 2001-01-01 >/dev/null 2>&1; test $(date +%Y) = 2001",
        }
        for name, script in checks.items():
            out = user.ok("run", "--rm", "busybox", "sh", "-c", f"({script}) 2>&1; echo rc=$?")
            assert "rc=0" not in out, f"{name}: succeeded: {out}"
    finally:
        shutil.rmtree(secret.parent)


def test_a_user_without_subordinate_ids_gets_told_what_to_add(package_copy):
    parent = Path(tempfile.mkdtemp(prefix="pyns-rootless-home-"))
    os.chmod(parent, 0o755)
    u = _make_user(parent, package_copy, subids=False)
    try:
        r = u.pyns("images")
        assert r.returncode == 125
        err = r.stderr.decode()
        assert err.startswith(f"Error: rootless: {u.name} has no subordinate ids in /etc/subuid") and \
            "usermod --add-subuids" in err, err
    finally:
        leaks = _remove_user(u)
        shutil.rmtree(parent, ignore_errors=True)
    assert not leaks
