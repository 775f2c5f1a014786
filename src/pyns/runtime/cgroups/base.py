"""What both backends share: the driver/handle interface and its common logic.

A container's cgroup is the same idea in v1 and v2 (a leaf ``<parent>/<id>``
that processes join, that is killed and removed as a whole); only the number
of directories and the files inside differ. So the handle keeps a plain list
of directories and everything that does not depend on the version (listing
pids, killing stragglers, removing trees, reading counters) lives here.
"""
from __future__ import annotations

import errno
import os
import signal
import time
from abc import ABC, abstractmethod
from collections.abc import Callable

from pyns.errors import CgroupError, InvalidArgument
from pyns.runtime.cgroups.fs import CgroupFs, cgroup_error
from pyns.runtime.cgroups.resources import Resources

DEFAULT_PARENT = "pyns"
PARENT_ENV = "PYNS_CGROUP_PARENT"
#: How often creating a leaf is retried when a concurrent remove() takes the parent away.
CREATE_ATTEMPTS = 50
#: How long rmdir keeps retrying EBUSY (the kernel may lag behind the last exit).
RMDIR_BUSY_SECONDS = 2.0


def split_parent(parent: str) -> list[str]:
    """Validate a parent like "pyns" or "a/b" and return its components.

    Leading and trailing slashes are tolerated (docker's --cgroup-parent
    style); ".." and empty components are not, since the parent is joined
    under the hierarchy root and must not escape it.
    """
    parts = parent.strip("/").split("/")
    if not parent.strip("/") or any(p in ("", ".", "..") or "\0" in p for p in parts):
        raise InvalidArgument(f"invalid cgroup parent {parent!r}")
    return parts


def check_name(name: str) -> None:
    """A leaf name must be a single safe path component."""
    if not name or name in (".", "..") or "/" in name or "\0" in name:
        raise InvalidArgument(f"invalid cgroup name {name!r}")


def parse_oom_kill(text: str) -> int:
    """The N of the "oom_kill N" line shared by memory.oom_control (v1) and memory.events (v2)."""
    for line in text.splitlines():
        key, _, value = line.partition(" ")
        if key == "oom_kill":
            try:
                return int(value.strip())
            except ValueError:
                return 0
    return 0


class Cgroup:
    """Handle to one container's cgroup: a leaf directory in each hierarchy.

    Holds no open files, so a handle can be made for a cgroup that is gone;
    every method then behaves as for an empty cgroup. ``parent_dirs`` lists,
    per hierarchy, the parent directories deepest first (what remove() tries
    to clean up); ``limit_files`` maps read_limits() keys to file paths.
    """

    def __init__(self, name: str, dirs: list[str], parent_dirs: list[list[str]], fs: CgroupFs,
                 oom_events_file: str, limit_files: list[tuple[str, str]]):
        self.name = name
        self.dirs = list(dirs)
        self.procs_files = [os.path.join(d, "cgroup.procs") for d in dirs]
        self.oom_events_file = oom_events_file
        self._parent_dirs = parent_dirs
        self._fs = fs
        self._limit_files = limit_files

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, dirs={self.dirs!r})"

    def exists(self) -> bool:
        """True while any of the leaf directories exists."""
        return any(self._fs.exists(d) for d in self.dirs)

    def oom_kill_count(self) -> int:
        """How many processes the kernel OOM-killed in this cgroup; 0 when unknown.

        Read it before remove(): the counter disappears with the directory.
        """
        if not self.oom_events_file:
            return 0
        try:
            return parse_oom_kill(self._fs.read(self.oom_events_file))
        except OSError:
            return 0

    def pids(self) -> list[int]:
        """Every process in the cgroup or its sub-cgroups, across all hierarchies.

        The union (not one hierarchy) catches a process that crashed half-way
        through joining, so kill_all() does not miss it.
        """
        found: set[int] = set()
        for d in self.dirs:
            for sub in self._tree(d):
                try:
                    text = self._fs.read(os.path.join(sub, "cgroup.procs"))
                except OSError:
                    continue
                found.update(int(t) for t in text.split() if t.isdigit() and t != "0")
        return sorted(found)

    def kill_all(self, timeout: float = 5.0) -> None:
        """SIGKILL every process and wait until the cgroup is empty.

        Backends first try their race-free mechanism (cgroup.kill, freezer);
        then a loop re-kills whatever is still listed, which also covers
        children forked while we were looking.
        """
        deadline = time.monotonic() + timeout
        self._kill_fast(timeout)
        delay = 0.002
        while True:
            pids = self.pids()
            if not pids:
                return
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            if time.monotonic() >= deadline:
                raise CgroupError(f"cgroup {self.name}: processes still running after {timeout:g}s: "
                                  f"{' '.join(map(str, pids))}")
            time.sleep(delay)
            delay = min(delay * 2, 0.05)

    def _kill_fast(self, timeout: float) -> None:
        """Backend hook: kill everything at once if the kernel allows it."""

    def remove(self) -> None:
        """rmdir the leaf (and any sub-cgroups) everywhere, then empty parents.

        Idempotent. The parent directories are removed bottom-up when they
        became empty so no trace of pyns remains after the last container;
        EBUSY/ENOTEMPTY there only means a sibling still lives, and a sibling
        being created concurrently retries when its parent vanishes.
        """
        first: CgroupError | None = None
        for d in self.dirs:
            try:
                for sub in reversed(self._tree(d)):
                    self._rmdir_busy_retry(sub)
            except CgroupError as exc:
                first = first or exc
        for chain in self._parent_dirs:
            for parent in chain:
                try:
                    self._fs.rmdir(parent)
                except FileNotFoundError:
                    continue
                except OSError:
                    break
        if first is not None:
            raise first

    def read_limits(self) -> dict[str, str]:
        """The kernel's current value of each limit file pyns may write (missing ones omitted)."""
        out: dict[str, str] = {}
        for key, path in self._limit_files:
            try:
                out[key] = self._fs.read(path).strip()
            except OSError:
                continue
        return out

    def _tree(self, top: str) -> list[str]:
        """``top`` and all its sub-cgroups, parents before children (empty when missing)."""
        if not self._fs.exists(top):
            return []
        out = [top]
        i = 0
        while i < len(out):
            out.extend(sorted(self._fs.subdirs(out[i])))
            i += 1
        return out

    def _rmdir_busy_retry(self, path: str) -> None:
        deadline = time.monotonic() + RMDIR_BUSY_SECONDS
        delay = 0.005
        while True:
            try:
                self._fs.rmdir(path)
                return
            except FileNotFoundError:
                return
            except OSError as exc:
                if exc.errno != errno.EBUSY or time.monotonic() >= deadline:
                    raise cgroup_error("remove", path, exc) from exc
            time.sleep(delay)
            delay = min(delay * 2, 0.1)


class CgroupDriver(ABC):
    """Creates and opens container cgroups in one cgroup version.

    The parent is read from ``PYNS_CGROUP_PARENT`` when the driver is built,
    so tests (and users) can confine pyns to a sub-tree of their own.
    """

    version: int
    parent: str

    def __init__(self, *, parent: str | None = None, fs: CgroupFs | None = None):
        self.parent = parent if parent is not None else (os.environ.get(PARENT_ENV) or DEFAULT_PARENT)
        self._parent_parts = split_parent(self.parent)
        self.fs = fs if fs is not None else CgroupFs()

    @abstractmethod
    def create(self, name: str, resources: Resources = Resources()) -> Cgroup:
        """Create ``<parent>/<name>`` in every hierarchy and apply ``resources``."""

    @abstractmethod
    def open(self, name: str) -> Cgroup:
        """A handle to ``<parent>/<name>`` without touching the filesystem."""

    @abstractmethod
    def hierarchies(self) -> list[str]:
        """The mount points containers get a leaf in."""

    def delegated(self) -> bool:
        """Whether the parent exists and this process may make cgroups in it in
        every hierarchy: how a rootless engine tells a tree an admin (or
        systemd) delegated to its user from one it cannot touch."""
        return all(os.access(os.path.join(h, *self._parent_parts), os.W_OK | os.X_OK)
                   for h in self.hierarchies())

    def _validate(self, resources: Resources) -> None:
        """Docker's checks, against the CPUs and memory nodes our fs reports online."""
        resources.validate(online_cpus=self.fs.online("cpu"), online_mems=self.fs.online("node") or "0")

    def _parent_chain(self, mount: str) -> list[str]:
        """The parent directories under ``mount``, deepest first (the order remove() wants)."""
        out = []
        path = mount
        for part in self._parent_parts:
            path = os.path.join(path, part)
            out.append(path)
        return list(reversed(out))

    def _make_leaf(self, mount: str, name: str) -> str:
        """mkdir -p ``mount/<parent>`` then mkdir the leaf, race-safe against remove().

        Another process removing the last sibling may rmdir a parent between
        our mkdirs; the leaf mkdir then fails with ENOENT and we start over.
        An existing leaf is an error: two containers must never share one.
        """
        leaf = os.path.join(mount, *self._parent_parts, name)
        for _ in range(CREATE_ATTEMPTS):
            path = mount
            try:
                for part in self._parent_parts:
                    path = os.path.join(path, part)
                    _mkdir_exist_ok(self.fs.mkdir, path)
                path = leaf
                self.fs.mkdir(leaf)
                return leaf
            except FileNotFoundError:
                continue
            except FileExistsError as exc:
                raise CgroupError(f"cgroup: {leaf} already exists") from exc
            except OSError as exc:
                raise cgroup_error("create", path, exc) from exc
        raise CgroupError(f"cgroup: cannot create {leaf}: its parent kept disappearing")

    def _write(self, path: str, value: str, optional: bool = False) -> bool:
        """Write one limit; with ``optional`` a missing file is skipped (returns False)."""
        try:
            self.fs.write(path, value)
            return True
        except FileNotFoundError as exc:
            if optional:
                return False
            raise cgroup_error(f"write {value!r} to", path, exc) from exc
        except OSError as exc:
            raise cgroup_error(f"write {value!r} to", path, exc) from exc

    def _write_each(self, path: str, values: list[str]) -> None:
        """Write several rules to one file (each in its own write(2))."""
        try:
            self.fs.write_each(path, values)
        except OSError as exc:
            raise cgroup_error(f"write {len(values)} rules to", path, exc) from exc


def _mkdir_exist_ok(mkdir: Callable[[str], None], path: str) -> None:
    try:
        mkdir(path)
    except FileExistsError:
        pass
