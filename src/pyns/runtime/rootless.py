"""Rootless mode: pyns run by an ordinary user.

An unprivileged user cannot mount, make device nodes or own many uids, but
can own a user namespace. Rootless pyns does what podman does: it becomes
root of a user namespace that maps the user's own uid to 0 and the user's
/etc/subuid and /etc/subgid ranges to 1..N (``newuidmap``/``newgidmap``
from Debian's ``uidmap`` write those maps: they are setuid and check the
ranges), and runs the whole engine in it. Containers are then ordinary
pyns containers whose namespaces belong to that user namespace, with their
state under ``~/.local/share/pyns``.

The namespace is kept by ``pyns-pause`` (csrc/pause_main.c), one small
process per user and state root, and every later pyns process joins it:
a second CLI can then exec into, stop or attach to what the first started.

What needs the host's root is refused with an error naming why (see
``check_container``): bridge networks and published ports (a bridge and
veths in the host's network namespace), resource limits unless a cgroup
tree is delegated to the user (the cgroup parent exists in every
hierarchy and belongs to it: cgroups/__init__.detect),
--userns-remap (ids outside the user's own ranges).
"""
from __future__ import annotations

import os
import signal

from pyns.errors import InvalidArgument, PynsError

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (see pyns/__init__.py)
if TYPE_CHECKING:
    from pyns.runtime import idmap

# Only the cheap questions (active(), the default paths) run on every start:
# what entering the namespace needs (idmap, subprocess, pwd) is imported there.

PAUSE_PID = "pause.pid"
CLONE_NEWUSER = 0x10000000
_FULL_MAP = ["0", "0", "4294967295"]
_inside: tuple[int, bool] | None = None  # (pid, answer): a forked child must ask again


def in_user_namespace() -> bool:
    """True when this process is in a user namespace other than the host's."""
    global _inside
    pid = os.getpid()
    if _inside is None or _inside[0] != pid:
        try:
            with open("/proc/self/uid_map", encoding="ascii") as f:
                _inside = (pid, f.read().split() != _FULL_MAP)
        except OSError:
            _inside = (pid, False)
    return _inside[1]


def active() -> bool:
    """Rootless semantics apply: an ordinary user, or (after enter) its namespace's root."""
    return os.geteuid() != 0 or in_user_namespace()


def opaque_xattr() -> str:
    """The xattr marking an opaque directory for overlayfs: a user namespace may not
    set trusted.* xattrs, so rootless layers use user.* (mounted with userxattr)."""
    return "user.overlay.opaque" if active() else "trusted.overlay.opaque"


def default_root() -> str:
    """$XDG_DATA_HOME/pyns, else ~/.local/share/pyns (docker rootless's layout)."""
    base = os.environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local", "share")
    return os.path.join(base, "pyns")


def default_run_root(root: str) -> str:
    """$XDG_RUNTIME_DIR/pyns when the session has one, else <root>/run."""
    xdg = os.environ.get("XDG_RUNTIME_DIR")
    return os.path.join(xdg, "pyns") if xdg else os.path.join(root, "run")


def user_map(subuid: str | None = None, subgid: str | None = None) -> idmap.IdMap:
    """0 = this user's uid/gid, then its subordinate ranges from 1 up (from
    /etc/subuid and /etc/subgid unless other files are named)."""
    import pwd

    from pyns.runtime import idmap

    subuid, subgid = subuid or idmap.SUBUID, subgid or idmap.SUBGID
    uid, gid = os.getuid(), os.getgid()
    try:
        name = pwd.getpwuid(uid).pw_name
    except KeyError:
        raise PynsError(f"rootless: uid {uid} has no passwd entry, so it has no subordinate ids") from None
    uids = idmap.ranges_for(idmap.read_subid(subuid), {name, str(uid)})
    gids = idmap.ranges_for(idmap.read_subid(subgid), {name, str(uid)})
    if not uids or not gids:
        raise PynsError(f"rootless: {name} has no subordinate ids in {subuid} and {subgid}; add a range, e.g. "
                        f"usermod --add-subuids 100000-165535 --add-subgids 100000-165535 {name}")
    shift = lambda rs: tuple((i + 1, o, n) for i, o, n in rs)  # noqa: E731
    return idmap.IdMap(((0, uid, 1), *shift(uids)), ((0, gid, 1), *shift(gids)))


def _live_pause(run_root: str) -> int | None:
    from pyns.runtime import procs

    try:
        with open(os.path.join(run_root, PAUSE_PID), encoding="ascii") as f:
            pid, start = (int(x) for x in f.read().split())
        with open(f"/proc/{pid}/comm", encoding="ascii") as f:
            comm = f.read().strip()
    except (OSError, ValueError):
        return None
    return pid if comm == "pyns-pause" and procs.alive(pid, start) else None


def _map(tool: str, pid: int, ranges: tuple[idmap.Range, ...]) -> None:
    import shutil
    import subprocess

    exe = shutil.which(tool)
    if exe is None:
        raise PynsError(f"rootless: {tool} not found: install the uidmap package")
    args = [exe, str(pid)] + [str(x) for r in ranges for x in r]
    r = subprocess.run(args, capture_output=True, text=True)
    if r.returncode != 0:
        raise PynsError(f"rootless: {tool} failed: {(r.stderr or r.stdout).strip()}")


def _start_pause(run_root: str) -> int:
    from pyns.fsutil import atomic_write
    from pyns.runtime import native, procs

    m = user_map()
    pid, release = native.pause_spawn(native.libexec("pyns-pause"))
    try:
        _map("newuidmap", pid, m.uids)
        _map("newgidmap", pid, m.gids)
        os.write(release, b"x")
    except BaseException:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        raise
    finally:
        os.close(release)
    atomic_write(os.path.join(run_root, PAUSE_PID), f"{pid} {procs.start_time(pid)}\n".encode())
    return pid


def enter(run_root: str) -> None:
    """Join this user's rootless namespace (starting its pause process if needed).

    setns into a user namespace needs a single-threaded process: do it
    before starting threads (the CLI and the Engine constructor do).
    """
    import threading

    from pyns.fsutil import FileLock
    from pyns.runtime import native

    if threading.active_count() > 1:
        raise PynsError("rootless: pyns must join its user namespace before the process starts threads "
                        "(create the Engine first)")
    os.makedirs(run_root, mode=0o700, exist_ok=True)
    with FileLock(os.path.join(run_root, "pause.lock")):
        pid = _live_pause(run_root) or _start_pause(run_root)
    fd = os.open(f"/proc/{pid}/ns/user", os.O_RDONLY | os.O_CLOEXEC)
    try:
        native.setns(fd, CLONE_NEWUSER)
    finally:
        os.close(fd)
    global _inside
    _inside = (os.getpid(), True)


def stop_pause(run_root: str) -> None:
    """Kill the pause process (its namespace goes once no container uses it)."""
    pid = _live_pause(run_root)
    if pid:
        os.kill(pid, signal.SIGKILL)


def check_container(hc: dict) -> None:
    """Refuse, with the reason, what a rootless engine cannot give a container."""
    from pyns.containers import networking

    mode = hc.get("NetworkMode") or "none"
    if networking.is_managed(mode):
        raise InvalidArgument(f"rootless: network mode {mode} needs root (a bridge and veth pairs in the host's "
                              "network namespace); use --network none or host")
    limits = ("Memory", "MemorySwap", "NanoCpus", "CpuShares", "PidsLimit", "CpusetCpus", "CpusetMems")
    if any(hc.get(k) for k in limits):
        from pyns.runtime.cgroups import detect

        driver = detect()
        if not driver.version:
            raise InvalidArgument(
                f"rootless: resource limits need cgroups, and the cgroup parent {driver.parent!r} is not "
                "delegated to this user (PYNS_CGROUP_PARENT names one an admin made and gave to it)")
