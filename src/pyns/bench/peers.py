"""The other runtimes, run side by side with pyns on the same image.

runc and crun get an OCI bundle: the image's merged root filesystem (made
once per image, see ``bundle``) and a config.json translated from the Spec
pyns builds for the same container (see ``oci``), so they do the same work:
same process, namespaces, mounts, masks, devices, seccomp, and a cgroup
each. A fresh config.json is written for every run, as an engine would for
every container, and counts in the run's time. In bridge mode the network
namespace (netns + veth + address) is made by pyns's network layer before
the runtime starts and torn down after it, also inside the timed window,
so the peer's figure is "runtime + the same network work".

docker and podman are driven through their CLIs on an image imported from
the same root filesystem; a client without a daemon, or one that would
run a different network than asked (see ``engines``), is skipped with a
note, and the versions and storage that ran are noted beside the numbers.
Every benchmark that compares (start-up, throughput) sets its peers up,
checks their names, describes them and prepares the host for crun here,
so they all compare against the same thing.
"""
from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import tempfile
import time
from typing import Any, Protocol, Sequence

from pyns.bench import engines, oci
from pyns.bench.bundle import merged_rootfs
from pyns.bench.workspace import Workspace
from pyns.errors import InvalidArgument, PynsError
from pyns.records import record

OCI_RUNTIMES = ("runc", "crun")
CLI_ENGINES = engines.CLI_ENGINES
PEERS = OCI_RUNTIMES + CLI_ENGINES
STATE_BASE = "/run/pyns-bench"  # runtimes' state: tmpfs, like their default /run/<runtime>


class Peer(Protocol):
    name: str

    def run(self) -> dict[str, int]:
        """One container start to finish; the trace {"begin", "end"} in monotonic ns."""

    def close(self) -> None:
        """Remove what prepare made (bundles stay cached, images are removed)."""


@record
class Skipped:
    name: str
    reason: str


@record
class PeerContext:
    """What every peer is made from: pyns's own spec for the container, and its network mode."""

    ws: Workspace
    spec: Any                 # pyns.runtime.spec.Spec of an identical pyns container
    etc_files: dict[str, str]  # bind source in the pyns container -> copy kept for the bundle
    argv: list[str]
    network: str              # "none" or "bridge"


def _timed(argv: list[str], what: str) -> tuple[int, int]:
    """Run argv to completion with no stdio; (begin, end) ns; PynsError with its stderr on failure."""
    with tempfile.TemporaryFile() as err:
        begin = time.monotonic_ns()
        rc = subprocess.call(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err)
        end = time.monotonic_ns()
        if rc != 0:
            err.seek(0)
            raise PynsError(f"bench: {what} failed ({rc}): {err.read().decode(errors='replace').strip()}")
    return begin, end


def peer_context(ws: Workspace, argv: list[str], network: str) -> PeerContext:
    """Build (without starting) a pyns container for argv, take its Spec and /etc files, remove it."""
    from pyns.runtime.cgroups import detect

    launcher = ws.engine.manager.launcher
    c = ws.engine.containers.create(ws.image, argv, network_mode=network)
    try:
        record = ws.engine.manager.store.config(c.id)
        spec = launcher.build_spec(c.id, record, detect().open(c.id), detached=False)
        keep = os.path.join(ws.scratch, "peer-etc", network)
        os.makedirs(keep, exist_ok=True)
        etc: dict[str, str] = {}
        cdir = ws.engine.manager.store.path(c.id)
        for m in spec.mounts:
            if m.type == "bind" and m.source and m.source.startswith(cdir + os.sep):
                dest = os.path.join(keep, os.path.basename(m.source))
                shutil.copyfile(m.source, dest)
                etc[m.source] = dest
    finally:
        c.remove(force=True)
    return PeerContext(ws, spec, etc, argv, network)


def cgroup_mounts(mountinfo: str = "/proc/self/mountinfo") -> list[str]:
    """Mount points of every cgroup and cgroup2 filesystem this mount namespace sees."""
    out = []
    with open(mountinfo, encoding="utf-8") as f:
        for line in f:
            fields = line.split()
            if "-" in fields and fields[fields.index("-") + 1] in ("cgroup", "cgroup2"):
                out.append(fields[4])
    return out


def _seccomp_for(spec: Any) -> dict[str, Any] | None:
    """The OCI form of the filter pyns gives this container (None when it gives none)."""
    if spec.seccomp_bpf is None:
        return None
    from pyns.runtime import capabilities, seccomp
    from pyns.runtime.seccomp.effective import resolve

    caps = spec.process.capabilities if spec.process.capabilities is not None else capabilities.held_by_engine()
    return oci.seccomp_section(resolve(seccomp.default_profile(), caps))


class OciPeer:
    """runc or crun: `RUNTIME run --bundle DIR ID`, which creates, starts, waits and deletes."""

    def __init__(self, name: str, ctx: PeerContext) -> None:
        from pyns.runtime.cgroups import DEFAULT_DEVICE_RULES

        self.name = name
        self.ctx = ctx
        self.binary = shutil.which(name) or name
        self.rootfs = merged_rootfs(ctx.ws.layers(), os.path.join(ctx.ws.scratch, "bundles"), ctx.ws.image_id)
        self.bundle = os.path.join(ctx.ws.scratch, "peers", name)
        os.makedirs(self.bundle, exist_ok=True)
        self.state = os.path.join(STATE_BASE, f"{os.getpid()}-{name}")
        self.cgroup_parent = f"pyns-bench-{name}-{os.getpid()}"
        self._seccomp = _seccomp_for(ctx.spec)
        self._device_rules = DEFAULT_DEVICE_RULES
        self._n = 0

    def _write_config(self, cid: str, netns_path: str | None) -> None:
        config = oci.config_from_spec(
            self.ctx.spec, rootfs=self.rootfs, cgroups_path=f"/{self.cgroup_parent}/{cid}",
            netns_path=netns_path, sources=self.ctx.etc_files, device_rules=self._device_rules,
            seccomp=self._seccomp)
        tmp = os.path.join(self.bundle, "config.json.tmp")
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(config, f)
        os.rename(tmp, os.path.join(self.bundle, "config.json"))

    def _run(self, cid: str) -> int:
        return _timed([self.binary, "--root", self.state, "run", "--bundle", self.bundle, cid], f"{self.name} run")[1]

    def run(self) -> dict[str, int]:
        self._n += 1
        cid = f"pyns-bench-{self._n}-{secrets.token_hex(4)}"
        begin = time.monotonic_ns()
        if self.ctx.network != "bridge":
            self._write_config(cid, None)
            return {"begin": begin, "end": self._run(cid)}
        networks, net_id = self.ctx.ws.engine.networks, secrets.token_hex(32)
        att = networks.setup(net_id, cid, [("bridge", [])], [], self.ctx.spec.hostname or cid[:12])
        try:
            self._write_config(cid, att.netns_path)
            self._run(cid)
        finally:
            networks.teardown(net_id)
        return {"begin": begin, "end": time.monotonic_ns()}

    def close(self) -> None:
        shutil.rmtree(self.state, ignore_errors=True)
        try:
            os.rmdir(STATE_BASE)
        except OSError:
            pass
        for mount_point in cgroup_mounts():  # runc/crun use every hierarchy, name=systemd included
            try:
                os.rmdir(os.path.join(mount_point, self.cgroup_parent))
            except OSError:
                pass


class CliPeer:
    """docker or podman through its CLI: `TOOL run --rm --network MODE IMAGE ARGV`."""

    def __init__(self, name: str, ctx: PeerContext) -> None:
        self.name = name
        self.ctx = ctx
        self.binary = shutil.which(name) or name
        self.image = f"pyns-bench:{ctx.ws.image_id.split(':')[-1][:12]}"
        rootfs = merged_rootfs(ctx.ws.layers(), os.path.join(ctx.ws.scratch, "bundles"), ctx.ws.image_id)
        tar = subprocess.Popen(["tar", "-C", rootfs, "-c", "."], stdout=subprocess.PIPE)
        try:
            imported = subprocess.run([self.binary, "import", "-", self.image], stdin=tar.stdout,
                                      capture_output=True, check=False, timeout=300)
        finally:
            tar.stdout.close()  # type: ignore[union-attr]
            tar.wait()
        if imported.returncode != 0:
            raise PynsError(f"bench: {name} import of the image's root filesystem failed ({imported.returncode}): "
                            f"{imported.stderr.decode(errors='replace').strip()}")

    def run(self) -> dict[str, int]:
        begin, end = _timed([self.binary, "run", "--rm", "--network", self.ctx.network, self.image,
                             *self.ctx.argv], f"{self.name} run")
        return {"begin": begin, "end": end}

    def close(self) -> None:
        subprocess.run([self.binary, "rmi", "-f", self.image], capture_output=True, timeout=60, check=False)


def availability(name: str, network: str = "none") -> str | None:
    """Why a peer cannot run a container with this network mode here (None: it can)."""
    if name not in PEERS:
        return f"unknown peer (known: {', '.join(PEERS)})"
    binary = shutil.which(name)
    if not binary:
        return "not installed"
    return engines.unavailable(name, binary, network) if name in CLI_ENGINES else None


def make_peer(name: str, ctx: PeerContext) -> Peer:
    return OciPeer(name, ctx) if name in OCI_RUNTIMES else CliPeer(name, ctx)


def check_names(names: Sequence[str]) -> None:
    """InvalidArgument naming any peer this module does not know (a --compare typo)."""
    unknown = [p for p in names if p not in PEERS]
    if unknown:
        raise InvalidArgument(f"unknown peer {', '.join(unknown)} (known: {', '.join(PEERS)})")


def add_peers(runners: list[Any], ws: Workspace, names: Sequence[str], argv: list[str],
              network: str) -> list[Skipped]:
    """Append a ready peer for each name that can run here; the others come back as Skipped.

    Appends one by one, so that a caller closing ``runners`` in a finally
    also closes the peers made before one failed.
    """
    skipped: list[Skipped] = []
    ctx = None
    for name in names:
        why = availability(name, network)
        if why:
            skipped.append(Skipped(name, why))
            continue
        ctx = ctx or peer_context(ws, argv, network)
        runners.append(make_peer(name, ctx))
    return skipped


def notes(names: Sequence[str], network: str) -> list[str]:
    """What a reader must know about how the peers that ran were driven (asks the CLI engines for versions)."""
    out = []
    if any(n in OCI_RUNTIMES for n in names):
        out.append("runc/crun: an OCI bundle from pyns's own spec for the container (same process, "
                   "namespaces, mounts, masks, devices, seccomp, a cgroup each) on a plain copy of the "
                   "image's root (no overlay mount per run); config.json written per run; their state in "
                   f"{STATE_BASE} (tmpfs, as their default /run/<name>)")
        if network == "bridge":
            out.append("runc/crun, bridge: netns + veth made and torn down by pyns's network layer, timed")
    out += [(f"{n}: `{n} run --rm --network {network} IMAGE ...` through its CLI on the same root filesystem "
             f"(`{n} import`); {engines.describe(n, shutil.which(n) or n)}") for n in names if n in CLI_ENGINES]
    return out


def prepare_host(compare: Sequence[str]) -> list[str]:
    """Process-wide set-up a comparison needs, done before any workspace exists; returns notes.

    crun on a hybrid cgroup host: this process moves to a mount namespace
    without the cgroup2 mount (see pyns.bench.mountns), and everything it
    runs, pyns included, starts from there.
    """
    if "crun" not in compare or availability("crun"):
        return []
    from pyns.bench.mountns import leave_hybrid_cgroups

    gone = leave_hybrid_cgroups()
    if not gone:
        return []
    return [f"crun refuses hybrid cgroups: every contender ran in a mount namespace without {', '.join(gone)}"]
