"""cgroup v1: one directory per controller hierarchy.

v1 quirks handled here: a new cpuset cgroup starts with empty cpus/mems and
refuses tasks until they are filled in (we copy the parent's values down the
chain); memory.memsw.limit_in_bytes exists only with swap accounting and must
never be below memory.limit_in_bytes (so it is written second); the devices
controller gives docker's default allow-list; the freezer stops fork races
while killing.
"""
from __future__ import annotations

import os
import signal
import time
from collections.abc import Mapping

from pyns.errors import CgroupError
from pyns.runtime.cgroups import resources as res
from pyns.runtime.cgroups.base import Cgroup, CgroupDriver, check_name
from pyns.runtime.cgroups.fs import CgroupFs, cgroup_error
from pyns.runtime.cgroups.mountinfo import V1_CONTROLLERS
from pyns.runtime.cgroups.resources import Resources

#: docker's default device rules: deny everything, then allow these (mknod any, and the usual nodes).
DEFAULT_DEVICE_RULES: tuple[str, ...] = (
    "c *:* m",
    "b *:* m",
    "c 1:3 rwm",     # /dev/null
    "c 1:5 rwm",     # /dev/zero
    "c 1:7 rwm",     # /dev/full
    "c 1:8 rwm",     # /dev/random
    "c 1:9 rwm",     # /dev/urandom
    "c 5:0 rwm",     # /dev/tty
    "c 5:1 rwm",     # /dev/console
    "c 5:2 rwm",     # /dev/ptmx
    "c 136:* rwm",   # /dev/pts/*
    "c 10:200 rwm",  # /dev/net/tun
)

#: Files read_limits() reports, per controller.
LIMIT_FILES: tuple[tuple[str, str], ...] = (
    ("memory", "memory.limit_in_bytes"),
    ("memory", "memory.memsw.limit_in_bytes"),
    ("cpu", "cpu.cfs_period_us"),
    ("cpu", "cpu.cfs_quota_us"),
    ("cpu", "cpu.shares"),
    ("cpuset", "cpuset.cpus"),
    ("cpuset", "cpuset.mems"),
    ("pids", "pids.max"),
    ("devices", "devices.list"),
)

FREEZE_WAIT_SECONDS = 1.0


class V1Cgroup(Cgroup):
    """A v1 container cgroup; kills under the freezer when it is mounted."""

    def __init__(self, name: str, dirs: list[str], parent_dirs: list[list[str]], fs: CgroupFs,
                 oom_events_file: str, limit_files: list[tuple[str, str]], freezer_dir: str = ""):
        super().__init__(name, dirs, parent_dirs, fs, oom_events_file, limit_files)
        self._freezer_dir = freezer_dir

    def _kill_fast(self, timeout: float) -> None:
        """Freeze, signal the (now stable) set of pids, thaw.

        Frozen tasks cannot fork, so no child escapes between reading
        cgroup.procs and sending SIGKILL; the kill lands on thaw.
        """
        if not self._freezer_dir:
            return
        state = os.path.join(self._freezer_dir, "freezer.state")
        try:
            self._fs.write(state, "FROZEN")
        except OSError:
            return
        try:
            deadline = time.monotonic() + min(FREEZE_WAIT_SECONDS, timeout / 2)
            while time.monotonic() < deadline:
                if self._fs.read(state).strip() == "FROZEN":
                    break
                time.sleep(0.002)
            for pid in self.pids():
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        except OSError:
            pass
        finally:
            try:
                self._fs.write(state, "THAWED")
            except OSError:
                pass


class V1Driver(CgroupDriver):
    """Container cgroups in the v1 hierarchies listed by ``mounts`` (controller -> mount point)."""

    version = 1

    def __init__(self, mounts: Mapping[str, str], *, parent: str | None = None, fs: CgroupFs | None = None):
        super().__init__(parent=parent, fs=fs)
        self.mounts = {c: mounts[c] for c in V1_CONTROLLERS if c in mounts}
        if not self.mounts:
            raise CgroupError("cgroup v1: none of the controllers pyns uses is mounted")

    def hierarchies(self) -> list[str]:
        """Distinct mount points in controller order (co-mounted cpu,cpuacct count once)."""
        return list(dict.fromkeys(self.mounts.values()))

    def open(self, name: str) -> V1Cgroup:
        check_name(name)
        return self._handle(name, self.hierarchies())

    def create(self, name: str, resources: Resources = Resources()) -> V1Cgroup:
        """Create the leaf in every mounted hierarchy, then write the limits.

        On any failure the leaves made so far are removed again and a
        CgroupError naming the file and errno is raised.
        """
        check_name(name)
        self._validate(resources)
        self._require_controllers(resources)
        created: list[str] = []
        try:
            for mount in self.hierarchies():
                self._make_leaf(mount, name)
                created.append(mount)
            self._configure(name, resources)
        except BaseException:
            try:
                self._handle(name, created).remove()
            except CgroupError:
                pass
            raise
        return self._handle(name, created)

    def _handle(self, name: str, mounts: list[str]) -> V1Cgroup:
        leaf = {m: os.path.join(m, *self._parent_parts, name) for m in mounts}
        memory = self.mounts.get("memory")
        limit_files = [(f, os.path.join(leaf[self.mounts[c]], f))
                       for c, f in LIMIT_FILES if c in self.mounts and self.mounts[c] in leaf]
        freezer = self.mounts.get("freezer")
        return V1Cgroup(
            name, [leaf[m] for m in mounts], [self._parent_chain(m) for m in mounts], self.fs,
            os.path.join(leaf[memory], "memory.oom_control") if memory in leaf else "",
            limit_files,
            freezer_dir=leaf[freezer] if freezer in leaf else "",
        )

    def _require_controllers(self, r: Resources) -> None:
        """Fail before creating anything when a requested limit has no hierarchy."""
        wanted = {
            "memory": res.memory_limit(r) is not None,
            "cpu": bool(r.nano_cpus or r.cpu_shares),
            "cpuset": bool(r.cpuset_cpus or r.cpuset_mems),
            "pids": res.pids_max(r) is not None,
        }
        missing = [c for c, need in wanted.items() if need and c not in self.mounts]
        if missing:
            raise CgroupError(f"cgroup v1: controller(s) not mounted: {', '.join(missing)}")

    def _leaf(self, controller: str, name: str) -> str:
        return os.path.join(self.mounts[controller], *self._parent_parts, name)

    def _configure(self, name: str, r: Resources) -> None:
        if "cpuset" in self.mounts:
            self._init_cpuset(name, r)
        if (limit := res.memory_limit(r)) is not None:
            d = self._leaf("memory", name)
            self._write(os.path.join(d, "memory.limit_in_bytes"), str(limit))
            if (memsw := res.memsw_limit(r)) is not None:
                self._write(os.path.join(d, "memory.memsw.limit_in_bytes"), str(memsw), optional=True)
        if (quota := res.cfs_quota(r)) is not None:
            d = self._leaf("cpu", name)
            self._write(os.path.join(d, "cpu.cfs_period_us"), str(res.CFS_PERIOD_US))
            self._write(os.path.join(d, "cpu.cfs_quota_us"), str(quota))
        if (shares := res.cpu_shares(r)) is not None:
            self._write(os.path.join(self._leaf("cpu", name), "cpu.shares"), str(shares))
        if (pids := res.pids_max(r)) is not None:
            self._write(os.path.join(self._leaf("pids", name), "pids.max"), str(pids))
        if r.devices_default and "devices" in self.mounts:
            d = self._leaf("devices", name)
            self._write(os.path.join(d, "devices.deny"), "a")
            self._write_each(os.path.join(d, "devices.allow"), list(DEFAULT_DEVICE_RULES))

    def _init_cpuset(self, name: str, r: Resources) -> None:
        """Fill empty cpus/mems from the top down, then apply the requested sets.

        Done after the leaf exists so no concurrent remove() can take a parent
        away half-way; copying is idempotent, so racing creators agree.
        """
        mount = self.mounts["cpuset"]
        chain = list(reversed(self._parent_chain(mount))) + [self._leaf("cpuset", name)]
        above = mount
        for d in chain:
            for f in ("cpuset.cpus", "cpuset.mems"):
                path = os.path.join(d, f)
                try:
                    if self.fs.read(path).strip():
                        continue
                    value = self.fs.read(os.path.join(above, f)).strip()
                except OSError as exc:
                    raise cgroup_error("read", path, exc) from exc
                self._write(path, value)
            above = d
        leaf = chain[-1]
        if r.cpuset_cpus:
            self._write(os.path.join(leaf, "cpuset.cpus"), r.cpuset_cpus)
        if r.cpuset_mems:
            self._write(os.path.join(leaf, "cpuset.mems"), r.cpuset_mems)
