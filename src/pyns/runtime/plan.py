"""Turn a Spec into the flat plan the C side executes.

The plan is NUL-separated tokens (keyword, then a fixed number of
arguments); csrc/plan.c parses it once in the parent. Everything is
resolved here: mount options become MS_* flags plus a data string, device
modes include S_IFCHR, namespaces become CLONE_* flags.
"""
from __future__ import annotations

import os
import stat

from pyns.runtime import capabilities
from pyns.runtime.spec import Mount, Spec

CLONE_FLAGS = {
    "mount": 0x00020000,
    "uts": 0x04000000,
    "ipc": 0x08000000,
    "pid": 0x20000000,
    "network": 0x40000000,
}

MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_SYNCHRONOUS, MS_REMOUNT, MS_MANDLOCK, MS_DIRSYNC = 16, 32, 64, 128
MS_NOATIME, MS_NODIRATIME, MS_BIND = 1024, 2048, 4096
MS_REC, MS_PRIVATE, MS_SLAVE, MS_SHARED = 16384, 1 << 18, 1 << 19, 1 << 20
MS_RELATIME, MS_STRICTATIME = 1 << 21, 1 << 24

# option -> (set, clear)
_FLAG_OPTIONS: dict[str, tuple[int, int]] = {
    "ro": (MS_RDONLY, 0), "rw": (0, MS_RDONLY),
    "nosuid": (MS_NOSUID, 0), "suid": (0, MS_NOSUID),
    "nodev": (MS_NODEV, 0), "dev": (0, MS_NODEV),
    "noexec": (MS_NOEXEC, 0), "exec": (0, MS_NOEXEC),
    "sync": (MS_SYNCHRONOUS, 0), "async": (0, MS_SYNCHRONOUS),
    "remount": (MS_REMOUNT, 0), "dirsync": (MS_DIRSYNC, 0),
    "noatime": (MS_NOATIME, 0), "atime": (0, MS_NOATIME),
    "nodiratime": (MS_NODIRATIME, 0), "diratime": (0, MS_NODIRATIME),
    "relatime": (MS_RELATIME, 0), "norelatime": (0, MS_RELATIME),
    "strictatime": (MS_STRICTATIME, 0),
    "bind": (MS_BIND, 0), "rbind": (MS_BIND | MS_REC, 0),
}
# Propagation flags are applied by the C side to / only; per-mount ones are ignored.
_IGNORED = {"private", "rprivate", "slave", "rslave", "shared", "rshared", "z", "Z", "nocopy", "defaults"}


def mount_flags(options: list[str]) -> tuple[int, str]:
    """OCI mount options -> (MS_* flags, comma-joined data for the filesystem)."""
    flags = 0
    data: list[str] = []
    for opt in options:
        if opt in _FLAG_OPTIONS:
            set_, clear = _FLAG_OPTIONS[opt]
            flags = (flags | set_) & ~clear
        elif opt not in _IGNORED:
            data.append(opt)
    return flags, ",".join(data)


def overlay_options(layers: list[str], upper: str | None, work: str | None, base: str | None = None) -> str:
    """overlayfs data: lowerdir lists the topmost layer first (relative to base when given)."""
    lower = ":".join(os.path.relpath(p, base) if base else p for p in reversed(layers))
    if upper and work:
        return f"lowerdir={lower},upperdir={upper},workdir={work}"
    return f"lowerdir={lower}"


class _Tokens:
    def __init__(self) -> None:
        self.parts: list[str] = []

    def add(self, key: str, *args: object) -> None:
        for tok in (key, *args):
            s = str(tok)
            if "\0" in s:
                raise ValueError(f"NUL byte in plan value for {key!r}")
            self.parts.append(s)

    def encode(self) -> bytes:
        return b"".join(p.encode("utf-8", "surrogateescape") + b"\0" for p in self.parts)


def _add_mount(t: _Tokens, m: Mount) -> None:
    flags, data = mount_flags(m.options)
    if m.type == "bind":
        t.add("mount", m.source or "", m.destination, "bind", flags | MS_BIND, "")
    else:
        t.add("mount", m.source or "", m.destination, m.type, flags, data)


def _common_dir(layers: list[str]) -> str | None:
    """The directory the layer paths share, if that makes them shorter (the
    image store's short links all live in one directory, <root>/l)."""
    if len(layers) < 2 or not all(os.path.isabs(p) for p in layers):
        return None
    base = os.path.commonpath(layers)
    return base if base not in ("", "/") else None


def _add_namespaces_and_root(t: _Tokens, spec: Spec) -> None:
    flags = 0
    for ns in spec.namespaces:
        if ns in CLONE_FLAGS and not (ns == "network" and spec.network_namespace_path):
            flags |= CLONE_FLAGS[ns]
    t.add("ns", flags)
    if "cgroup" in spec.namespaces:
        t.add("cgroupns")
    if spec.network_namespace_path:
        t.add("netns", spec.network_namespace_path)
    if spec.loopback_up and "network" in spec.namespaces and not spec.network_namespace_path:
        t.add("lo_up")

    if spec.idmap:
        t.add("uid_map", spec.idmap.uid_map)
        t.add("gid_map", spec.idmap.gid_map)
        t.add("userns_root", spec.idmap.host_uid(0), spec.idmap.host_gid(0))
    for d in spec.idmapped_dirs:
        t.add("idmap", d)
    for name, value in spec.sysctls.items():
        t.add("sysctl", name, value)

    root = spec.root
    t.add("rootfs", root.path)
    if root.layers:
        base = _common_dir(root.layers)
        if base:
            t.add("overlay_dir", base)
        t.add("overlay", overlay_options(root.layers, root.upper, root.work, base) + (",userxattr" if root.userxattr else ""))
    if root.readonly:
        t.add("readonly_root")
    if not root.pivot:
        t.add("no_pivot")

    # /dev must exist (a tmpfs) before nodes and symlinks go in; everything
    # else keeps the given order so later mounts may stack on earlier ones.
    dev_done = False
    for m in spec.mounts:
        _add_mount(t, m)
        if m.destination == "/dev" and not dev_done:
            dev_done = True
            for d in spec.devices:
                if spec.bind_devices:
                    t.add("mount", d.path, d.path, "bind", MS_BIND, "")
                    continue
                kind = stat.S_IFCHR if d.type == "c" else stat.S_IFBLK
                t.add("mknod", d.path, kind | d.mode, d.major, d.minor)
            for s in spec.symlinks:
                t.add("symlink", s.target, s.path)
    for path in spec.masked_paths:
        t.add("mask", path)
    for path in spec.readonly_paths:
        t.add("readonly", path)


def build_plan(spec: Spec) -> bytes:
    """Serialise a Spec for csrc/plan.c."""
    t = _Tokens()
    if spec.join_pid:
        t.add("join", spec.join_pid)
    else:
        _add_namespaces_and_root(t, spec)
    if spec.parent_death_signal:
        t.add("pdeathsig", spec.parent_death_signal)
    if spec.tty:
        t.add("tty")
        if spec.winsize:
            t.add("winsize", *spec.winsize)
    if spec.open_stdin:
        t.add("open_stdin")
    if spec.attach_socket:
        t.add("attach_sock", spec.attach_socket)
    if spec.hostname and not spec.join_pid:
        t.add("hostname", spec.hostname)
    for f in spec.cgroup.procs_files:
        t.add("cgroup_procs", f)
    for d in spec.cgroup.dirs:
        t.add("cgroup_dir", d)
    if spec.cgroup.oom_events_file:
        t.add("oom_file", spec.cgroup.oom_events_file)

    p = spec.process
    for r in p.rlimits:
        t.add("rlimit", r.resource, r.soft, r.hard)
    t.add("user", p.uid, p.gid)
    for g in p.additional_gids:
        t.add("group", g)
    if p.capabilities is not None:
        t.add("caps", capabilities.mask(p.capabilities))
    if p.no_new_privileges:
        t.add("nnp")
    if spec.seccomp_bpf:
        t.add("seccomp", spec.seccomp_bpf.hex())
    t.add("cwd", os.path.normpath(p.cwd) if p.cwd else "/")
    for e in p.env:
        t.add("env", e)
    for a in p.args:
        t.add("arg", a)

    if spec.log_path:
        t.add("log", spec.log_path)
    if spec.exit_path:
        t.add("exit_file", spec.exit_path)
    for a in spec.on_exit:
        t.add("on_exit", a)
    return t.encode()
