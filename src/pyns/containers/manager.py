"""Container lifecycle operations over the store: create, start, stop, kill,
wait, remove, inspect, top.

The library objects (Container, ContainerCollection) and the CLI both call
these; nothing here prints.
"""
from __future__ import annotations

import os
import signal as signal_mod
import time

from pyns import options
from pyns.containers import config as config_mod
from pyns.containers import networking, userns
from pyns.containers import status as status_mod
from pyns.containers.launch import Launcher
from pyns.containers.status import now_rfc3339
from pyns.containers.mounts import resolve as resolve_mounts
from pyns.containers.names import new_id, random_name, validate_name
from pyns.containers.store import ContainerStore
from pyns.errors import Conflict, ImageNotFound, InvalidArgument, PynsError
from pyns.runtime import native, procs
from pyns.runtime.monitor import start_detached
from pyns.runtime.plan import build_plan
from pyns.runtime.spec import Process, Root, Spec
from pyns.runtime.cgroups import detect

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (see pyns/__init__.py)
if TYPE_CHECKING:
    from typing import Any, Callable

DEFAULT_STOP_TIMEOUT = 10


class ContainerManager:
    def __init__(self, root: str, images: Any, run_root: str | None = None,
                 networks: Callable[[], Any] | None = None, userns_remap: str | None = None) -> None:
        self.root = root
        #: docker's --userns-remap (default, USER[:GROUP]) for new containers; None: off
        self.userns_remap = userns_remap
        self.images = images
        self.store = ContainerStore(root, run_root)
        self._networks_factory = networks
        self.launcher = Launcher(root, self.store, images, lambda: self.networks)

    @property
    def networks(self) -> Any:  # -> pyns.network.manager.NetworkManager
        """The network layer, created on first use: --network none never imports it."""
        if self._networks_factory is None:
            from pyns.network.manager import NetworkManager

            net = NetworkManager(self.root, os.path.dirname(self.store.locks))
            self._networks_factory = lambda: net
        return self._networks_factory()

    # ------------------------------------------------------------- create
    def create(self, image: str, command: Any = None, name: str | None = None,
               pull: Callable[[str], Any] | None = None, **kwargs: Any) -> str:
        """A new container's id. pull, when given, fetches an image that is not here (run's rule)."""
        try:
            img = self.images.get(image)
        except ImageNotFound:
            if pull is None:
                raise
            pull(image)
            img = self.images.get(image)
        cfg, hc = config_mod.build(image, img.container_config, command, **kwargs)
        aliases = cfg.pop("NetworkAliases", [])
        mode = hc["NetworkMode"]
        if mode.startswith("container:"):
            hc["NetworkMode"] = "container:" + self.store.resolve(mode.split(":", 1)[1])
        elif networking.is_managed(mode) and mode != "bridge":
            self.networks.get(mode)  # NetworkNotFound now, not at start
        cid = new_id()
        name = validate_name(name) if name else self._free_name()
        full = (cfg.get("Entrypoint") or []) + (cfg.get("Cmd") or [])
        record = {
            "Id": cid,
            "Created": now_rfc3339(),
            "Path": full[0],
            "Args": full[1:],
            "Image": img.id,
            "Name": "/" + name,
            "Driver": "overlay",
            "Config": cfg,
            "HostConfig": hc,
            "NetworkingConfig": {"EndpointsConfig": {mode: {"Aliases": aliases}}} if aliases else {},
            "Mounts": [],
        }
        remap = self._userns_remap(hc)
        if remap is not None:
            record["UsernsRemap"] = remap.to_record()
        # Volumes are created (and bind sources made) at create time, as docker does.
        record["Mounts"] = resolve_mounts(self.root, hc).inspect
        self.store.create(cid, record)
        return cid

    def _userns_remap(self, hc: dict[str, Any]) -> Any:
        """The id map a new container gets (fixed for its life: its upper dir holds
        files with these host ids), refusing what docker refuses with remapping on
        and what a rootless engine cannot give (rootless.check_container)."""
        from pyns.runtime import idmap, rootless

        if rootless.active():
            rootless.check_container(hc)
            if self.userns_remap and hc.get("UsernsMode") != "host":
                raise InvalidArgument("rootless: --userns-remap needs root (it maps ids outside this user's ranges)")
        if not self.userns_remap or hc.get("UsernsMode") == "host":
            return None

        if hc.get("Privileged"):
            raise InvalidArgument("privileged mode is incompatible with user namespaces. You must run the "
                                  "container in the host namespace when running privileged mode")
        if hc.get("NetworkMode") == "host":
            raise InvalidArgument("cannot share the host's network namespace when user namespaces are enabled")
        if hc.get("PidMode") == "host":
            raise InvalidArgument("cannot share the host PID namespace when user namespaces are enabled")
        return idmap.resolve(self.userns_remap)

    def command_of(self, cid: str) -> list[str]:
        cfg = self.store.config(cid)["Config"]
        return list(cfg.get("Entrypoint") or []) + list(cfg.get("Cmd") or [])

    def _free_name(self) -> str:
        taken = {n for _, n in self.store.names()}
        for _ in range(100):
            n = random_name()
            if n not in taken:
                return n
        return random_name() + "_" + new_id()[:6]

    # -------------------------------------------------------------- state
    def observe(self, cid: str) -> dict[str, Any]:
        state = self.store.state(cid)
        observed = status_mod.observe(state, self.store.exit_record(cid))
        if status_mod.supervisor_died(state, observed):
            self._reconcile(cid, state, observed)
        return observed

    def _reconcile(self, cid: str, state: dict[str, Any], observed: dict[str, Any]) -> None:
        """Record the exit of a container whose supervisor was killed, and free its cgroup.

        Only when nobody else holds the container (a start in progress would
        otherwise be overwritten); the next observer tries again.
        """
        with self.store.try_lock(cid) as got:
            if not got or self.store.state(cid) != state:
                return
            cg = detect().open(cid)
            if cg.exists():
                cg.kill_all()
            self.launcher.release(cid, cg)
            new = dict(state, Status="exited", ExitCode=observed["ExitCode"], Error=observed["Error"],
                       FinishedAt=observed["FinishedAt"])
            self.store.save_state(cid, new)

    def is_running(self, cid: str) -> bool:
        return self.observe(cid)["Running"]

    def inspect(self, cid: str) -> dict[str, Any]:
        record = self.store.config(cid)
        cdir = self.store.path(cid)
        st = self.store.state(cid)
        out = dict(record)
        out["State"] = self.observe(cid)
        out["RestartCount"] = int(st.get("RestartCount", 0))
        out["LogPath"] = self.store.log_path(cid)
        out["ResolvConfPath"] = os.path.join(cdir, "resolv.conf")
        out["HostnamePath"] = os.path.join(cdir, "hostname")
        out["HostsPath"] = os.path.join(cdir, "hosts")
        try:
            layers = self.images.layer_dirs(self.images.get(record["Image"]))
        except PynsError:
            layers = []
        out["GraphDriver"] = {
            "Name": "overlay",
            "Data": {
                "LowerDir": ":".join(reversed(layers)),
                "UpperDir": os.path.join(cdir, "diff"),
                "WorkDir": os.path.join(cdir, "work"),
                "MergedDir": os.path.join(cdir, "rootfs"),
            },
        }
        out["NetworkSettings"] = self.network_settings(record)
        return out

    def network_settings(self, record: dict[str, Any]) -> dict[str, Any]:
        """inspect's NetworkSettings (empty for none/host/container modes)."""
        mode = record["HostConfig"].get("NetworkMode") or "bridge"
        exposed = list((record["Config"].get("ExposedPorts") or {}).keys())
        if networking.is_managed(mode):
            return self.networks.inspect_settings(record["Id"], exposed, [mode])
        return {"Networks": {mode: {}} if mode in ("host", "none") else {}, "Ports": {k: None for k in exposed},
                "IPAddress": "", "Gateway": "", "MacAddress": "", "SandboxKey": ""}

    def connect(self, cid: str, network: str, aliases: list[str]) -> None:
        """network connect: join now if running, and on every later start."""
        net = self.networks.get(network)
        with self.store.lock(cid):
            record = self.store.config(cid)
            mode = record["HostConfig"].get("NetworkMode") or "bridge"
            if not networking.is_managed(mode):
                raise Conflict("container sharing network namespace with another container or host cannot be connected to any other network")
            eps = record.setdefault("NetworkingConfig", {}).setdefault("EndpointsConfig", {})
            if net.name == mode or net.name in eps and net.name != mode:
                raise Conflict(f"endpoint with name {record['Name'].lstrip('/')} already exists in network {net.name}")
            if self.is_running(cid):
                self.networks.connect(cid, net.name, aliases)
            eps[net.name] = {"Aliases": aliases}
            self.store.save_config(cid, record)

    def disconnect(self, cid: str, network: str) -> None:
        net = self.networks.get(network)
        with self.store.lock(cid):
            record = self.store.config(cid)
            eps = (record.get("NetworkingConfig") or {}).get("EndpointsConfig") or {}
            mode = record["HostConfig"].get("NetworkMode") or "bridge"
            if net.name not in eps and net.name != mode:
                raise Conflict(f"container {cid[:12]} is not connected to network {net.name}")
            if self.is_running(cid):
                self.networks.disconnect(cid, net.name)
            eps.pop(net.name, None)
            if net.name == mode:
                record["HostConfig"]["NetworkMode"] = "none" if not eps else next(iter(eps))
                eps.pop(record["HostConfig"]["NetworkMode"], None)
            self.store.save_config(cid, record)

    def ports(self, cid: str) -> list[Any]:
        """The container's published ports as bound now (random host ports resolved); [] when stopped."""
        mode = self.store.config(cid)["HostConfig"].get("NetworkMode") or "bridge"
        if not networking.is_managed(mode) or not self.is_running(cid):
            return []
        att = self.networks.attachment(cid)
        return list(att.ports) if att else []

    def list(self, all: bool = False) -> list[str]:
        rows = []
        for cid in self.store.ids():
            try:
                created = self.store.config(cid).get("Created", "")
            except PynsError:
                continue
            if all or self.is_running(cid):
                rows.append((created, cid))
        return [cid for _, cid in sorted(rows, reverse=True)]

    def image_users(self, image_id: str) -> list[Any]:
        """Containers created from image_id, for rmi's conflict checks."""
        from pyns.images.removal import ImageUser

        users = []
        for cid in self.store.ids():
            try:
                if self.store.config(cid).get("Image") == image_id:
                    users.append(ImageUser(cid, self.is_running(cid)))
            except PynsError:
                continue
        return users

    # -------------------------------------------------------------- start
    def start(self, cid: str, winsize: tuple[int, int] | None = None) -> None:
        """Start detached (under a monitor); a running container is left alone."""
        with self.store.lock(cid):
            if self.is_running(cid):
                return
            self.launcher.start_detached(cid, winsize)

    def attach_socket(self, cid: str) -> str:
        from pyns.containers.launch import ATTACH_SOCKET

        return self.store.path(cid, ATTACH_SOCKET)

    def run_attached(self, cid: str, stdin: int = -1, tee_out: int = -1, tee_err: int = -1,
                     forward_signals: bool = False) -> native.ExitInfo:
        with self.store.lock(cid):
            if self.is_running(cid):
                raise Conflict(f"container {cid} is already running")
            # The lock is released while the container runs so that stop/kill/rm -f work.
        return self.launcher.run_attached(cid, stdin, tee_out, tee_err, forward_signals)

    # --------------------------------------------------------------- exec
    def exec_run(self, cid: str, cmd: list[str], user: str | None = None, workdir: str | None = None,
                 environment: list[str] | None = None, detach: bool = False, stdin: int = -1,
                 tee_out: int = -1, tee_err: int = -1, forward_signals: bool = False,
                 tty: bool = False, winsize: tuple[int, int] | None = None) -> int | None:
        """Run cmd inside the running container cid; its exit code (None when detached).

        The process joins every namespace and the cgroup of the container's
        init, with the container's capabilities, user and no_new_privs; it
        is not the container's main process and dies with the container.
        """
        if not cmd:
            raise InvalidArgument("No exec command specified")
        state = self.store.state(cid)
        if not self.is_running(cid):
            raise Conflict(f"Container {cid} is not running")
        spec = self.launcher.exec_spec(cid, int(state["Pid"]), list(cmd), user, list(environment or []), workdir)
        spec.tty, spec.winsize = tty and not detach, winsize
        data = build_plan(spec)
        if detach:
            # Under its own monitor, which reaps it: once we exit, an orphan
            # would go to the host's init, and a zombie in the container's
            # pid namespace would hold up that namespace's teardown.
            path = self.store.path(cid, f"exec-{os.getpid()}-{time.monotonic_ns()}.plan")
            with open(path, "wb") as f:
                f.write(data)
            try:
                start_detached(path, cmd[0], None)
            finally:
                os.unlink(path)
            return None
        plan = native.Plan(data, cmd[0])
        flags = native.SUPERVISE_FORWARD_SIGNALS if forward_signals else 0
        if spec.tty:
            return self._exec_with_pty(plan, stdin, tee_out, flags)
        out_r, out_w = os.pipe2(os.O_CLOEXEC)
        err_r, err_w = os.pipe2(os.O_CLOEXEC)
        try:
            res = plan.spawn(stdin, out_w, err_w)
        except BaseException:
            os.close(out_r)
            os.close(err_r)
            raise
        finally:
            os.close(out_w)
            os.close(err_w)
        return plan.supervise(res.pid, out_r, err_r, tee_out, tee_err, flags).exit_code

    @staticmethod
    def _exec_with_pty(plan: native.Plan, stdin: int, tee_out: int, flags: int) -> int:
        """The child makes a pty in the container and sends us the master."""
        import socket

        parent, child = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            res = plan.spawn(console_sock=child.fileno())
            child.close()
            _, fds, _, _ = socket.recv_fds(parent, 1, 1)
        finally:
            child.close()
            parent.close()
        master = fds[0]
        return plan.supervise(res.pid, out_fd=master, tee_out=tee_out, in_src=stdin, in_dst=master,
                              flags=flags | native.SUPERVISE_TTY).exit_code

    # --------------------------------------------------------- stop/kill
    def kill(self, cid: str, sig: int | str | None = None) -> None:
        signum = options.parse_signal(str(sig)) if sig is not None else signal_mod.SIGKILL
        st = self.store.state(cid)
        if not self.is_running(cid):
            raise Conflict(f"Cannot kill container: {cid}: Container {cid} is not running")
        procs.signal_process(int(st.get("Pid", 0)), int(st.get("PidStart", 0)), signum)

    def stop(self, cid: str, timeout: int | None = None, sig: int | str | None = None) -> None:
        """Send the stop signal (image/--stop-signal, default SIGTERM), SIGKILL after timeout."""
        if not self.is_running(cid):
            return
        cfg = self.store.config(cid)["Config"]
        signum = options.parse_signal(str(sig or cfg.get("StopSignal") or "SIGTERM"))
        if timeout is None:
            timeout = cfg.get("StopTimeout", DEFAULT_STOP_TIMEOUT)
        st = self.store.state(cid)
        pid, start = int(st.get("Pid", 0)), int(st.get("PidStart", 0))
        procs.signal_process(pid, start, signum)
        if timeout < 0 or not self.wait_stopped(cid, float(timeout)):
            procs.signal_process(pid, start, signal_mod.SIGKILL)
            self.wait_stopped(cid, 30.0)

    def wait_stopped(self, cid: str, timeout: float | None = None) -> bool:
        """Wait until the container is no longer running; True if it stopped."""
        deadline = None if timeout is None else time.monotonic() + timeout
        delay = 0.002
        while self.is_running(cid):
            if deadline is not None and time.monotonic() >= deadline:
                return False
            time.sleep(delay)
            delay = min(delay * 2, 0.05)
        return True

    def restart(self, cid: str, timeout: int | None = None) -> None:
        self.stop(cid, timeout)
        self.start(cid)

    # ------------------------------------------------------------- remove
    def remove(self, cid: str, force: bool = False, volumes: bool = False) -> None:
        with self.store.lock(cid):
            if not os.path.isdir(self.store.path(cid)):
                return
            if self.is_running(cid):
                if not force:
                    raise Conflict(
                        f"You cannot remove a running container {cid}. Stop the container before "
                        "attempting removal or force remove"
                    )
                st = self.store.state(cid)
                procs.signal_process(int(st.get("Pid", 0)), int(st.get("PidStart", 0)), signal_mod.SIGKILL)
                self.wait_stopped(cid, 30.0)
            cg = detect().open(cid)
            if cg.exists():
                cg.kill_all()
            self.launcher.release(cid, cg)
            record = self.store.config(cid)
            self.store.delete(cid)
            if volumes:
                import shutil

                for m in record.get("Mounts", []):
                    if m.get("Type") == "volume" and len(m.get("Name", "")) == 64:
                        shutil.rmtree(os.path.dirname(m["Source"]), ignore_errors=True)
        self.store.drop_lock_file(cid)
        self.launcher.mark("teardown")

    # ------------------------------------------------------------- export
    def export(self, cid: str, out_fd: int) -> None:
        """docker export: the container's merged filesystem as a tar on out_fd.

        The overlay is mounted read-only in a throw-away mount namespace (so
        nothing is mounted on the host, running or not) and the host's tar
        reads it there: whiteouts are already applied by overlayfs. A
        remapped container's tar runs in a user namespace with its maps, so
        the archive holds the ids the container sees, as docker's does.
        """
        record = self.store.config(cid)
        _, layers = self.launcher.image_and_layers(record["Image"])
        idmap, lowers, idmapped = userns.remapped_layers(self.root, record, list(layers) or [self.launcher.empty_layer()])
        cdir = self.store.path(cid)
        root = Root(path=os.path.join(cdir, "rootfs"), layers=lowers, upper=None, work=None, pivot=False)
        if os.listdir(os.path.join(cdir, "diff")):
            root.layers = root.layers + [os.path.join(cdir, "diff")]  # the rw layer, read-only on top
        spec = Spec(process=Process(args=["tar", "--numeric-owner", "--xattrs", "-cf", "-", "."],
                                    env=["PATH=/usr/bin:/bin"], cwd="."),  # "." is the mounted root
                    root=root, namespaces=frozenset({"mount"}), parent_death_signal=9,
                    idmap=idmap, idmapped_dirs=idmapped)
        plan = native.Plan(build_plan(spec), "tar")
        err_r, err_w = os.pipe2(os.O_CLOEXEC)
        try:
            res = plan.spawn(-1, out_fd, err_w)
        finally:
            os.close(err_w)
        with os.fdopen(err_r, "rb") as f:
            errors = f.read()
        _, status = os.waitpid(res.pid, 0)
        if os.waitstatus_to_exitcode(status) != 0:
            raise PynsError(f"export: tar failed: {errors.decode(errors='replace').strip()}")

    # ---------------------------------------------------------------- top
    def top(self, cid: str, ps_args: str = "-ef") -> dict[str, Any]:
        """docker top: the host's `ps` output, restricted to the container's processes."""
        if not self.is_running(cid):
            raise Conflict(f"Container {cid} is not running")
        cg = detect().open(cid)
        pids = set(cg.pids() if cg.dirs else procs.in_pid_namespace_of(int(self.store.state(cid).get("Pid", 0))))
        import subprocess

        out = subprocess.run(["ps", *ps_args.split()], capture_output=True, text=True, check=False)
        if out.returncode != 0:
            raise InvalidArgument(f"ps: {out.stderr.strip()}")
        lines = out.stdout.splitlines()
        titles = lines[0].split()
        try:
            pid_col = titles.index("PID")
        except ValueError as e:
            raise InvalidArgument('Couldn\'t find PID field in ps output') from e
        procs_rows = []
        for line in lines[1:]:
            fields = line.split(None, len(titles) - 1)
            if len(fields) > pid_col and fields[pid_col].isdigit() and int(fields[pid_col]) in pids:
                procs_rows.append(fields)
        return {"Titles": titles, "Processes": procs_rows}
