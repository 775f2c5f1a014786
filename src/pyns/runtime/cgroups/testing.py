"""A fake cgroup filesystem in an ordinary directory, for tests without root.

Real cgroupfs does work on its own that plain directories do not: mkdir
creates the interface files, rmdir succeeds on a directory full of them but
fails with EBUSY while processes or children remain, v2 files appear only
for controllers enabled in the parent's cgroup.subtree_control, v1 cpuset
cgroups start empty and reject tasks. :class:`FakeCgroupFs` emulates exactly
those behaviours (and records every write) so the drivers can be exercised
end to end by any layer's unit tests; :class:`FakeHierarchy` lays out the
tree and the mountinfo file that :func:`pyns.runtime.cgroups.detect` reads.

Processes are not faked: a test that wants pids writes a real child's pid
into a cgroup.procs file (writing "0", "myself", is refused); dead and zombie pids drop out of it as they do in the
kernel, and cgroup.kill really sends SIGKILL to the listed pids.
"""
from __future__ import annotations

import errno
import os
import signal

from pyns.runtime.cgroups.fs import CgroupFs
from pyns.runtime.cgroups.mountinfo import V1_CONTROLLERS
from pyns.runtime.cgroups.resources import parse_cpuset

#: What the kernel shows for "no memory limit" on v1 (LONG_MAX rounded down to a page).
V1_UNLIMITED = "9223372036854771712"

_V1_COMMON = {"cgroup.procs": "", "tasks": "", "cgroup.clone_children": "0", "notify_on_release": "0"}
_V1_FILES: dict[str, dict[str, str]] = {
    "memory": {"memory.limit_in_bytes": V1_UNLIMITED, "memory.usage_in_bytes": "0",
               "memory.oom_control": "oom_kill_disable 0\nunder_oom 0\noom_kill 0\n"},
    "cpu": {"cpu.cfs_period_us": "100000", "cpu.cfs_quota_us": "-1", "cpu.shares": "1024"},
    "cpuacct": {"cpuacct.usage": "0"},
    "cpuset": {"cpuset.cpus": "", "cpuset.mems": ""},
    "pids": {"pids.max": "max", "pids.current": "0"},
    "devices": {"devices.allow": "", "devices.deny": "", "devices.list": "a *:* rwm"},
    "freezer": {"freezer.state": "THAWED"},
    "blkio": {"blkio.throttle.read_bps_device": ""},
}
_V2_COMMON = {"cgroup.procs": "", "cgroup.controllers": "", "cgroup.subtree_control": "",
              "cgroup.events": "populated 0\nfrozen 0\n", "cgroup.freeze": "0", "cgroup.type": "domain"}
_V2_FILES: dict[str, dict[str, str]] = {
    "memory": {"memory.max": "max", "memory.current": "0",
               "memory.events": "low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\noom_group_kill 0\n"},
    "cpu": {"cpu.max": "max 100000", "cpu.weight": "100"},
    "cpuset": {"cpuset.cpus": "", "cpuset.mems": "", "cpuset.cpus.effective": ""},
    "io": {"io.max": ""},
    "pids": {"pids.max": "max", "pids.current": "0"},
    "hugetlb": {},
}


def _alive(pid: int) -> bool:
    """True for a running (non-zombie) process: the kernel drops exited tasks from cgroup.procs."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as f:
            state = f.read().rpartition(")")[2].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


class FakeCgroupFs(CgroupFs):
    """CgroupFs over plain directories, emulating the kernel's side effects.

    ``fail`` maps a file name (basename) to an errno that writes to it raise,
    to test error paths and rollback. ``writes`` records (path, value) of
    every successful write, in order.
    """

    def __init__(self, hierarchy: FakeHierarchy):
        self.h = hierarchy
        self.writes: list[tuple[str, str]] = []
        self.fail: dict[str, int] = {}

    # --- helpers -----------------------------------------------------------
    def _mount_of(self, path: str) -> str:
        for mount in sorted(self.h.mounts, key=len, reverse=True):
            if path == mount or path.startswith(mount + "/"):
                return mount
        raise OSError(errno.ENOENT, "not in a fake cgroup mount", path)

    @staticmethod
    def _put(path: str, value: str) -> None:
        with open(path, "w", encoding="ascii") as f:
            f.write(value)

    def _populate(self, d: str, files: dict[str, str]) -> None:
        for name, value in files.items():
            if not os.path.exists(os.path.join(d, name)):
                self._put(os.path.join(d, name), value)

    def _v2_controller_files(self, controller: str) -> dict[str, str]:
        files = dict(_V2_FILES.get(controller, {}))
        if controller == "memory" and self.h.swap_accounting:
            files["memory.swap.max"] = "max"
        return files

    # --- CgroupFs ----------------------------------------------------------
    def mkdir(self, path: str) -> None:
        mount = self._mount_of(path)
        os.mkdir(path, 0o755)
        if self.h.version == 1:
            self._populate(path, _V1_COMMON)
            for c in self.h.mounts[mount]:
                self._populate(path, self._v1_files(c, root=False))
            return
        self._populate(path, _V2_COMMON)
        if self.h.has_kill:
            self._populate(path, {"cgroup.kill": ""})
        enabled = self.read(os.path.join(os.path.dirname(path), "cgroup.subtree_control")).split()
        self._put(os.path.join(path, "cgroup.controllers"), " ".join(enabled))
        for c in enabled:
            self._populate(path, self._v2_controller_files(c))

    def _v1_files(self, controller: str, root: bool) -> dict[str, str]:
        files = dict(_V1_FILES.get(controller, {}))
        if controller == "memory" and self.h.swap_accounting:
            files["memory.memsw.limit_in_bytes"] = V1_UNLIMITED
        if controller == "cpuset" and root:
            files.update({"cpuset.cpus": self.h.cpus, "cpuset.mems": self.h.mems})
        return files

    def online(self, kind: str) -> str | None:
        return self.h.cpus if kind == "cpu" else self.h.mems

    def rmdir(self, path: str) -> None:
        if not os.path.isdir(path):
            raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), path)
        if self.subdirs(path) or self.read(os.path.join(path, "cgroup.procs")).split():
            raise OSError(errno.EBUSY, os.strerror(errno.EBUSY), path)
        for name in os.listdir(path):
            os.unlink(os.path.join(path, name))
        os.rmdir(path)

    def read(self, path: str) -> str:
        text = super().read(path)
        if os.path.basename(path) == "cgroup.procs":
            live = [p for p in text.split() if _alive(int(p))]
            if len(live) != len(text.split()):
                self._put(path, "".join(f"{p}\n" for p in live))
            return "".join(f"{p}\n" for p in live)
        return text

    def write_each(self, path: str, values: list[str]) -> None:
        for value in values:
            self.write(path, value)

    def write(self, path: str, value: str) -> None:
        name = os.path.basename(path)
        d = os.path.dirname(path)
        if not os.path.isfile(path):
            raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), path)
        if name in self.fail:
            code = self.fail[name]
            raise OSError(code, os.strerror(code), path)
        handler = getattr(self, "_w_" + name.replace(".", "_"), None)
        if handler is not None:
            handler(d, path, value.strip())
        else:
            self._put(path, value.strip() + "\n")
        self.writes.append((path, value))

    # --- per-file semantics --------------------------------------------------
    def _einval(self, path: str) -> OSError:
        return OSError(errno.EINVAL, os.strerror(errno.EINVAL), path)

    def _w_cgroup_procs(self, d: str, path: str, value: str) -> None:
        if value == "0":
            raise OSError(errno.EINVAL, "the fake cannot move the writer in; write a child's pid", path)
        pid = int(value)
        if self.h.version == 1 and os.path.exists(os.path.join(d, "cpuset.cpus")):
            if not (super().read(os.path.join(d, "cpuset.cpus")).strip()
                    and super().read(os.path.join(d, "cpuset.mems")).strip()):
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), path)
        pids = self.read(path).split()
        if str(pid) not in pids:
            pids.append(str(pid))
        self._put(path, "".join(f"{p}\n" for p in pids))

    def _w_cgroup_kill(self, d: str, path: str, value: str) -> None:
        if value != "1":
            raise self._einval(path)
        for sub, _dirs, _files in os.walk(d):
            for pid in self.read(os.path.join(sub, "cgroup.procs")).split():
                try:
                    os.kill(int(pid), signal.SIGKILL)
                except ProcessLookupError:
                    pass

    def _w_cgroup_subtree_control(self, d: str, path: str, value: str) -> None:
        available = self.read(os.path.join(d, "cgroup.controllers")).split()
        enabled = self.read(path).split()
        for token in value.split():
            op, c = token[0], token[1:]
            if op not in "+-" or c not in available:
                raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), path)
            if op == "+" and c not in enabled:
                enabled.append(c)
            elif op == "-" and c in enabled:
                enabled.remove(c)
        self._put(path, " ".join(enabled) + "\n")
        for child in self.subdirs(d):
            self._put(os.path.join(child, "cgroup.controllers"), " ".join(enabled))
            for c in enabled:
                self._populate(child, self._v2_controller_files(c))

    def _w_cpuset_cpus(self, d: str, path: str, value: str) -> None:
        self._cpuset_write(d, path, value, "cpuset.cpus")

    def _w_cpuset_mems(self, d: str, path: str, value: str) -> None:
        self._cpuset_write(d, path, value, "cpuset.mems")

    def _cpuset_write(self, d: str, path: str, value: str, name: str) -> None:
        """v1 rejects sets that are not a subset of the parent's (empty parent: nothing allowed)."""
        if self.h.version == 1 and d != self._mount_of(d):
            try:
                wanted = parse_cpuset(value)
            except ValueError:
                raise self._einval(path) from None
            allowed = parse_cpuset(super().read(os.path.join(os.path.dirname(d), name)).strip())
            if not wanted <= allowed:
                raise self._einval(path)
        self._put(path, value + "\n")

    def _w_memory_limit_in_bytes(self, d: str, path: str, value: str) -> None:
        limit = int(V1_UNLIMITED) if value == "-1" else int(value)
        memsw = os.path.join(d, "memory.memsw.limit_in_bytes")
        if os.path.exists(memsw) and limit > int(super().read(memsw)):
            raise self._einval(path)
        self._put(path, f"{limit}\n")

    def _w_memory_memsw_limit_in_bytes(self, d: str, path: str, value: str) -> None:
        limit = int(V1_UNLIMITED) if value == "-1" else int(value)
        if limit < int(super().read(os.path.join(d, "memory.limit_in_bytes"))):
            raise self._einval(path)
        self._put(path, f"{limit}\n")

    def _w_devices_deny(self, d: str, path: str, value: str) -> None:
        rules = [] if value == "a" else [r for r in super().read(os.path.join(d, "devices.list")).splitlines()
                                         if r != value]
        self._put(os.path.join(d, "devices.list"), "".join(f"{r}\n" for r in rules))

    def _w_devices_allow(self, d: str, path: str, value: str) -> None:
        rules = super().read(os.path.join(d, "devices.list")).splitlines()
        self._put(os.path.join(d, "devices.list"), "".join(f"{r}\n" for r in rules + [value]))

    def _w_freezer_state(self, d: str, path: str, value: str) -> None:
        if value not in ("FROZEN", "THAWED"):
            raise self._einval(path)
        self._put(path, value + "\n")


class FakeHierarchy:
    """A v1 or v2 cgroup tree under ``base`` plus the mountinfo describing it.

    v1 mounts every pyns controller at ``base/cgroup/<controller>`` (with
    ``comount_cpu`` cpu and cpuacct share ``base/cgroup/cpu,cpuacct`` as on
    many distros) and, like hybrid hosts, an empty cgroup2 at
    ``base/cgroup/unified``. v2 mounts cgroup2 at ``base/cgroup``.
    """

    def __init__(self, base: str, version: int, *, controllers: tuple[str, ...] | None = None,
                 swap_accounting: bool = True, cpus: str = "0-1", mems: str = "0",
                 has_kill: bool = True, comount_cpu: bool = False):
        self.base = base
        self.version = version
        self.swap_accounting = swap_accounting
        self.cpus = cpus
        self.mems = mems
        self.has_kill = has_kill
        self.cgroup_root = os.path.join(base, "cgroup")
        self.mounts: dict[str, tuple[str, ...]] = {}
        self.mountinfo = os.path.join(base, "mountinfo")
        self.fs = FakeCgroupFs(self)
        os.makedirs(self.cgroup_root, exist_ok=True)
        if version == 1:
            self._build_v1(controllers if controllers is not None else V1_CONTROLLERS, comount_cpu)
        else:
            self._build_v2(controllers if controllers is not None else ("cpuset", "cpu", "io", "memory",
                                                                       "hugetlb", "pids"))

    def _build_v1(self, controllers: tuple[str, ...], comount_cpu: bool) -> None:
        groups: list[tuple[str, ...]] = []
        for c in controllers:
            if comount_cpu and c in ("cpu", "cpuacct"):
                if ("cpu", "cpuacct") not in groups:
                    groups.append(("cpu", "cpuacct"))
            else:
                groups.append((c,))
        lines = [f"31 23 0:28 / {self.cgroup_root} rw,relatime - tmpfs tmpfs rw,mode=755"]
        for i, group in enumerate(groups):
            mount = os.path.join(self.cgroup_root, ",".join(group))
            os.mkdir(mount)
            self.mounts[mount] = group
            self.fs._populate(mount, _V1_COMMON)
            for c in group:
                self.fs._populate(mount, self.fs._v1_files(c, root=True))
            lines.append(f"{40 + i} 31 0:{40 + i} / {mount} rw,nosuid,nodev,noexec,relatime shared:{9 + i} "
                         f"- cgroup cgroup rw,{','.join(group)}")
        unified = os.path.join(self.cgroup_root, "unified")
        os.mkdir(unified)
        lines.append(f"60 31 0:60 / {unified} rw,nosuid,nodev,noexec,relatime - cgroup2 cgroup2 rw")
        self._write_mountinfo(lines)

    def _build_v2(self, controllers: tuple[str, ...]) -> None:
        self.mounts[self.cgroup_root] = controllers
        self.fs._populate(self.cgroup_root, {"cgroup.procs": "", "cgroup.subtree_control": "",
                                             "cgroup.controllers": " ".join(controllers)})
        self._write_mountinfo([f"31 23 0:28 / {self.cgroup_root} rw,nosuid,nodev,noexec,relatime shared:4 "
                               f"- cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot"])

    def _write_mountinfo(self, cgroup_lines: list[str]) -> None:
        lines = ["22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/root rw",
                 "23 22 0:21 / /sys rw,nosuid,nodev,noexec,relatime shared:2 - sysfs sysfs rw"] + cgroup_lines
        with open(self.mountinfo, "w", encoding="ascii") as f:
            f.write("\n".join(lines) + "\n")

    def mount_of(self, controller: str) -> str:
        """The fake mount point holding ``controller`` (v2: the single root)."""
        for mount, group in self.mounts.items():
            if controller in group:
                return mount
        raise KeyError(controller)

    def leftovers(self) -> list[str]:
        """Directories other than the mount points themselves (should be empty after remove())."""
        out: list[str] = []
        for mount in self.mounts:
            for dirpath, dirnames, _files in os.walk(mount):
                out.extend(os.path.join(dirpath, n) for n in dirnames)
        return sorted(out)
