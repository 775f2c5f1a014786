"""Start a container: from its stored config and image to a running process.

``prepare`` resolves everything (layers, user, mounts, cgroup, plan) in
Python; then either the C monitor starts it detached, or this process
spawns and supervises it in the foreground. Both record the same state.
"""
from __future__ import annotations

import json
import os
import sys
import time

from pyns import options, records
from pyns.containers import mounts as mounts_mod
from pyns.containers.rootfs_files import read_file
from pyns.containers import networking, userns
from pyns.containers.config import resources_from_host_config, seccomp_profile
from pyns.containers.status import now_rfc3339
from pyns.containers.store import ContainerStore
from pyns.errors import Conflict, PynsError
from pyns.records import record
from pyns.runtime import capabilities, defaults, native, procs, rootless
from pyns.runtime.cgroups import Cgroup, detect
from pyns.runtime.monitor import start_detached
from pyns.runtime.plan import build_plan
from pyns.runtime.spec import CgroupJoin, Mount, Process, Root, Spec

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (see pyns/__init__.py)
if TYPE_CHECKING:
    from typing import Any, Callable


ATTACH_SOCKET = "attach.sock"  # in the container's directory, served by its monitor
TIMINGS_ENV = "PYNS_TIMINGS"  # `pyns run` appends its start-up instants to this file (pyns bench --via cli)


@record
class Prepared:
    spec: Spec
    plan: native.Plan
    cgroup: Cgroup


def _v1_hierarchies(driver: Any) -> list[tuple[str, str]]:
    by_mount: dict[str, list[str]] = {}
    for controller, mount_point in getattr(driver, "mounts", {}).items():
        by_mount.setdefault(mount_point, []).append(controller)
    return [(os.path.basename(mp), ",".join(ctrls)) for mp, ctrls in by_mount.items()]


class Launcher:
    def __init__(self, root: str, store: ContainerStore, images: Any,
                 networks: Callable[[], Any] | None = None) -> None:
        self.root = root
        self.store = store
        self.images = images
        self.networks = networks  # -> NetworkManager, only called for bridge/user networks
        self._image_cache: dict[str, tuple[Any, list[str]]] = {}
        #: None, or a dict that a foreground start fills with CLOCK_MONOTONIC ns instants
        #: by name (pyns bench); the first value of a name is kept. None costs one test.
        self.timings: dict[str, int] | None = None

    def mark(self, name: str) -> None:
        if self.timings is not None and name not in self.timings:
            self.timings[name] = time.monotonic_ns()

    def image_and_layers(self, image_id: str) -> tuple[Any, list[str]]:
        """An image and its layer dirs, remembered per id: content-addressed, so
        they cannot change; only checked to still exist (rmi -f)."""
        hit = self._image_cache.get(image_id)
        if hit and all(os.path.isdir(d) for d in hit[1][-1:]):
            return hit
        image = self.images.get(image_id)
        hit = (image, self.images.layer_dirs(image))
        self._image_cache[image_id] = hit
        return hit

    # ---------------------------------------------------------------- spec
    def build_spec(self, cid: str, record: dict[str, Any], cgroup: Cgroup, detached: bool) -> Spec:
        cfg, hc = record["Config"], record["HostConfig"]
        cdir = self.store.path(cid)
        _, layers = self.image_and_layers(record["Image"])
        layers = list(layers) or [self.empty_layer()]
        upper, work = os.path.join(cdir, "diff"), os.path.join(cdir, "work")
        idmap, lowers, idmapped = userns.remapped_layers(self.root, record, layers)
        root = Root(path=os.path.join(cdir, "rootfs"), layers=lowers, upper=upper, work=work,
                    readonly=bool(hc.get("ReadonlyRootfs")))

        hostname: str | None = cfg.get("Hostname") or (
            os.uname().nodename if hc.get("NetworkMode") == "host" or hc.get("UTSMode") == "host" else cid[:12])
        argv = list(cfg.get("Entrypoint") or []) + list(cfg.get("Cmd") or [])
        privileged = bool(hc.get("Privileged"))
        init_mount: list[Mount] = []
        if hc.get("Init"):
            argv = ["/dev/init", "--", *argv]
            init_mount = [Mount("/dev/init", "bind", native.libexec("pyns-init"), ["bind", "ro"])]

        process = self.process_for(record, argv, hostname or os.uname().nodename, upper, layers)
        rlimits = {r.resource: r for r in defaults.default_rlimits()}
        for u in hc.get("Ulimits") or []:
            r = defaults.checked_rlimit(options.rlimit_number(u["Name"]), int(u["Soft"]), int(u["Hard"]))
            rlimits[r.resource] = r
        process.rlimits = list(rlimits.values())

        network_mode = hc.get("NetworkMode") or "none"
        namespaces = namespaces_for(hc)
        if "uts" not in namespaces:
            hostname = None  # sharing the host's: never sethostname() it
        driver = detect()
        mount_list = defaults.base_mounts(sysfs_readonly=not privileged)
        unprivileged = rootless.active()
        if not unprivileged:  # a user namespace may not mount cgroup hierarchies
            mount_list += defaults.cgroup_mounts(driver.version, _v1_hierarchies(driver))
        else:
            mount_list = userns.rootless_mounts(mount_list, namespaces)
            root.userxattr = True
        if "ipc" not in namespaces:
            mount_list = [m for m in mount_list if m.destination not in ("/dev/shm", "/dev/mqueue")]
            mount_list.append(Mount("/dev/shm", "bind", "/dev/shm", ["rbind"]))
        mount_list += mounts_mod.etc_files(cdir, hostname or os.uname().nodename, network_mode)
        mount_list += mounts_mod.resolve(self.root, hc).mounts
        mount_list += init_mount
        if idmap:
            mount_list = userns.owned_by_root(mount_list, idmap)

        return Spec(
            process=process,
            seccomp_bpf=self.seccomp_for(record, process),
            root=root,
            hostname=hostname,
            namespaces=namespaces,
            mounts=mount_list,
            devices=list(defaults.DEVICES),
            symlinks=list(defaults.SYMLINKS),
            masked_paths=[] if privileged else list(defaults.MASKED_PATHS),
            readonly_paths=[] if privileged else list(defaults.READONLY_PATHS),
            cgroup=CgroupJoin(procs_files=list(cgroup.procs_files), dirs=list(cgroup.dirs),
                              oom_events_file=cgroup.oom_events_file),
            log_path=self.store.log_path(cid),
            exit_path=self.store.path(cid, "exit.json"),
            on_exit=self._on_exit(cid, hc) if detached else [],
            tty=bool(cfg.get("Tty")) and detached,
            open_stdin=bool(cfg.get("OpenStdin")) and detached,
            attach_socket=ATTACH_SOCKET if detached else None,
            idmap=idmap,
            idmapped_dirs=idmapped,
            sysctls={**(userns.net_sysctls(unprivileged) if "network" in namespaces and not network_mode.startswith("container:")
                        else {}), **(hc.get("Sysctls") or {})},
            bind_devices=unprivileged,
        )

    def _on_exit(self, cid: str, hc: dict[str, Any]) -> list[str]:
        run_root = os.path.dirname(self.store.locks)
        if hc.get("AutoRemove"):
            return _on_exit_argv(self.root, run_root, cid, remove=True)
        if networking.is_managed(hc.get("NetworkMode") or "bridge"):
            return _on_exit_argv(self.root, run_root, cid, remove=False)
        return []

    def empty_layer(self) -> str:
        """overlayfs needs one lower dir: an image with no layers (scratch) gets an empty one."""
        empty = os.path.join(self.root, "layers", "empty")
        os.makedirs(empty, exist_ok=True)
        return empty

    def process_for(self, record: dict[str, Any], argv: list[str], hostname: str, upper: str,
                    layers: list[str], user: str | None = None, extra_env: list[str] = (),
                    cwd: str | None = None) -> Process:
        """The process settings shared by a container's init and its execs:
        user resolved in the container's /etc/passwd, docker's env defaults,
        capabilities and no_new_privs from HostConfig."""
        cfg, hc = record["Config"], record["HostConfig"]
        u = options.lookup_exec_user(user if user is not None else (cfg.get("User") or ""),
                                     lambda p: read_file(upper, layers, p))
        # The daemon's defaults, then Config.Env on top (a bare "K" unsets K);
        # HOME from the user's passwd entry when still unset, as runc does.
        env = options.replace_or_append_env(
            [f"PATH={defaults.DEFAULT_PATH}", f"HOSTNAME={hostname}"], [*(cfg.get("Env") or []), *extra_env])
        if not any(e.startswith("HOME=") for e in env):
            env.append(f"HOME={u.home}")
        sec = hc.get("SecurityOpt") or []
        caps = capabilities.resolve(hc.get("CapAdd") or (), hc.get("CapDrop") or (), bool(hc.get("Privileged")))
        return Process(
            args=argv, env=env, cwd=cwd or cfg.get("WorkingDir") or "/", uid=u.uid, gid=u.gid,
            additional_gids=[u.gid, *[g for g in u.sgids if g != u.gid]],
            capabilities=caps,
            no_new_privileges=any(s.startswith("no-new-privileges") and not s.endswith("false") for s in sec),
        )

    def seccomp_for(self, record: dict[str, Any], process: Process) -> bytes | None:
        """docker's default filter unless the container is privileged or asked for
        another profile (or unconfined); compiled once, then cached on disk."""
        hc = record["HostConfig"]
        if hc.get("Privileged"):
            return None
        from pyns.runtime import seccomp

        caps = process.capabilities if process.capabilities is not None else capabilities.held_by_engine()
        return seccomp.program_for(self.root, seccomp_profile(hc), caps)

    def exec_spec(self, cid: str, pid: int, argv: list[str], user: str | None, env: list[str],
                  cwd: str | None) -> Spec:
        """An exec: the container's process settings, joining pid's namespaces and cgroup."""
        record = self.store.config(cid)
        _, layers = self.image_and_layers(record["Image"])
        hostname = record["Config"].get("Hostname") or cid[:12]
        process = self.process_for(record, argv, hostname, self.store.path(cid, "diff"), list(layers),
                                   user=user, extra_env=env, cwd=cwd)
        cgroup = detect().open(cid)
        return Spec(process=process, root=Root(path="/"), join_pid=pid, parent_death_signal=0,
                    cgroup=CgroupJoin(procs_files=list(cgroup.procs_files)),
                    seccomp_bpf=self.seccomp_for(record, process))

    def prepare(self, cid: str, detached: bool, winsize: tuple[int, int] | None = None) -> Prepared:
        self.mark("prepare")
        record = self.store.config(cid)
        driver = detect()
        stale = driver.open(cid)
        if stale.exists():
            stale.kill_all()
            stale.remove()
        resources = resources_from_host_config(record["HostConfig"])
        if rootless.active():  # device rules need the host's root; its nodes are bound ones anyway
            resources = records.replace(resources, devices_default=False)
        cgroup = driver.create(cid, resources)
        try:
            spec = self.build_spec(cid, record, cgroup, detached)
            spec.winsize = winsize
            self.mark("spec")
            self.join_network(cid, record, spec)
            self.mark("netns")
            if spec.idmap:  # what the container's root must own, as docker chowns it
                userns.give_to_root(spec.idmap, self.store.path(cid, "diff"),
                             *(m.source for m in spec.mounts if m.source and m.source.startswith(self.store.path(cid))))
            plan_bytes = build_plan(spec)
            if detached:  # the monitor reads it; an attached run hands it over in memory
                with open(self.store.path(cid, "plan"), "wb") as f:
                    f.write(plan_bytes)
            prepared = Prepared(spec, native.Plan(plan_bytes, spec.process.args[0]), cgroup)
            self.mark("prepared")
            return prepared
        except BaseException:
            self.release(cid, cgroup)
            raise

    def join_network(self, cid: str, record: dict[str, Any], spec: Spec) -> None:
        """Point the spec at the network namespace its mode asks for (made now for bridge/user networks)."""
        hc, cfg = record["HostConfig"], record["Config"]
        mode = hc.get("NetworkMode") or "bridge"
        if mode.startswith("container:"):
            other = mode.split(":", 1)[1]
            st = self.store.state(other)
            if not procs.alive(int(st.get("Pid", 0)), int(st.get("PidStart", 0))):
                raise Conflict(f"cannot join network of a non running container: {other}")
            spec.network_namespace_path = f"/proc/{st['Pid']}/ns/net"
            return
        if not networking.is_managed(mode):
            return
        eps = (record.get("NetworkingConfig") or {}).get("EndpointsConfig") or {}
        nets = [(mode, list((eps.get(mode) or {}).get("Aliases") or []))]
        nets += [(n, list((e or {}).get("Aliases") or [])) for n, e in eps.items() if n != mode]
        att = self.networks().setup(
            cid, record["Name"].lstrip("/"), nets,
            networking.bindings_from(hc, (cfg.get("ExposedPorts") or {}).keys()),
            spec.hostname or cid[:12], hosts_path=self.store.path(cid, "hosts"))
        spec.network_namespace_path = att.netns_path

    def release(self, cid: str, cgroup: Cgroup | None = None) -> None:
        """Free what a start took once the process is gone: cgroup and network."""
        (cgroup or detect().open(cid)).remove()
        mode = (self.store.config(cid)["HostConfig"].get("NetworkMode") or "bridge")
        if networking.is_managed(mode):
            self.networks().teardown(cid)

    # --------------------------------------------------------------- start
    def _running_state(self, cid: str, pid: int, owner: int, detached: bool, restarts: int) -> dict[str, Any]:
        return {
            "Status": "running", "Pid": pid, "PidStart": procs.start_time(pid),
            "OwnerPid": owner, "OwnerStart": procs.start_time(owner), "Detached": detached,
            "StartedAt": now_rfc3339(), "BootId": procs.boot_id(), "RestartCount": restarts,
        }

    def start_detached(self, cid: str, winsize: tuple[int, int] | None = None) -> dict[str, Any]:
        """Start under a monitor; returns the new state record."""
        prev = self.store.state(cid)
        self.store.clear_exit_record(cid)
        prepared = self.prepare(cid, detached=True, winsize=winsize)
        try:
            started = start_detached(self.store.path(cid, "plan"), prepared.spec.process.args[0], _monitor_env(self.root))
        except PynsError as e:
            self.release(cid, prepared.cgroup)
            self._record_failure(cid, prev, e)
            raise
        state = self._running_state(cid, started.pid, started.monitor_pid, True, _restarts(prev))
        self.store.save_state(cid, state)
        return state

    def run_attached(self, cid: str, stdin: int = -1, tee_out: int = -1, tee_err: int = -1,
                     forward_signals: bool = False) -> native.ExitInfo:
        """Spawn in this process, supervise until exit, record the exit."""
        prev = self.store.state(cid)
        self.store.clear_exit_record(cid)
        prepared = self.prepare(cid, detached=False)
        out_r, out_w = os.pipe2(os.O_CLOEXEC)
        err_r, err_w = os.pipe2(os.O_CLOEXEC)
        devnull = os.open(os.devnull, os.O_RDONLY | os.O_CLOEXEC) if stdin < 0 else -1
        try:
            try:
                res = prepared.plan.spawn(stdin if stdin >= 0 else devnull, out_w, err_w)
            finally:
                os.close(out_w)
                os.close(err_w)
                if devnull >= 0:
                    os.close(devnull)
        except PynsError as e:
            os.close(out_r)
            os.close(err_r)
            self.release(cid, prepared.cgroup)
            self._record_failure(cid, prev, e)
            raise
        if self.timings is not None:
            self.timings.update({k: v for k, v in res.timestamps.items() if v and k not in self.timings})
        self.store.save_state(cid, self._running_state(cid, res.pid, os.getpid(), False, _restarts(prev)))
        flags = native.SUPERVISE_FORWARD_SIGNALS if forward_signals else 0
        try:
            info = prepared.plan.supervise(res.pid, out_r, err_r, tee_out, tee_err, flags)
        finally:
            self.mark("exit")
            self.release(cid, prepared.cgroup)
            self.mark("released")
        return info

    def _record_failure(self, cid: str, prev: dict[str, Any], e: PynsError) -> None:
        """A start that failed leaves the container 'created' (or exited) with the error, like docker."""
        state = dict(prev or {"Status": "created"})
        if state.get("Status") == "running":
            state["Status"] = "exited"
        state["Error"] = str(e)
        state["ExitCode"] = getattr(e, "exit_code", 125)
        self.store.save_state(cid, state)


def write_timings(path: str, marks: dict[str, int]) -> None:
    """Append one process's instants to path as a JSON line (O_APPEND: one write)."""
    line = json.dumps({"pid": os.getpid(), "marks": marks}, separators=(",", ":")) + "\n"
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        os.write(fd, line.encode())
    finally:
        os.close(fd)


def _restarts(prev: dict[str, Any]) -> int:
    """Docker counts restarts made by a restart policy only; pyns has none yet."""
    return int(prev.get("RestartCount", 0))


def namespaces_for(hc: dict[str, Any]) -> frozenset[str]:
    """The namespaces a container gets: all six, minus those it shares with the host."""
    ns = {"pid", "mount", "uts", "ipc", "network", "cgroup"}
    for key, name in (("NetworkMode", "network"), ("PidMode", "pid"), ("IpcMode", "ipc"),
                      ("UTSMode", "uts"), ("CgroupnsMode", "cgroup")):
        if hc.get(key) == "host":
            ns.discard(name)
    return frozenset(ns)


def _monitor_env(root: str) -> dict[str, str]:
    """The monitor's environment: what its on_exit `pyns rm` needs to find this very pyns."""
    import pyns

    pkg_parent = os.path.dirname(os.path.dirname(os.path.abspath(pyns.__file__)))
    path = [pkg_parent] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    return dict(os.environ, PYNS_ROOT=root, PYTHONPATH=os.pathsep.join(os.path.abspath(p) for p in path))


def _on_exit_argv(root: str, run_root: str, cid: str, remove: bool) -> list[str]:
    """What a detached container's monitor runs once it has exited: `pyns rm -f`
    for --rm, else the network teardown (rules and ports go when it stops)."""
    if remove:
        return [sys.executable, "-m", "pyns.cli.main", "--root", root, "--run-root", run_root, "rm", "-f", cid]
    return [sys.executable, "-m", "pyns.network", "teardown", "--root", root, "--run-root", run_root, cid]
