"""Where a benchmark runs: an engine root, an image, and what to clean up.

By default a throw-away root (under $TMPDIR) with its own cgroup parent,
bridge name and subnet, so a benchmark never touches a real engine's
state or collides with its bridge; ``root=`` reuses an existing one as is.
Without ``image=`` a busybox image is imported from busybox-static; an
``image`` the root lacks is pulled.
Scratch files (peer bundles, timing files) live in ``<root>/bench``.
"""
from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import tempfile
from typing import Any, Iterator

from pyns.bench import busybox
from pyns.records import field, record

BENCH_IMAGE = "pyns-bench-busybox:latest"


@record
class Workspace:
    engine: Any  # pyns.engine.Engine
    image: str   # reference the containers are made from
    image_id: str
    scratch: str
    owned: bool  # a throw-away root: everything goes at close
    notes: list[str] = field(default_factory=list)

    @property
    def root(self) -> str:
        return self.engine.root

    def layers(self) -> list[str]:
        """The image's layer directories, bottom to top."""
        return list(self.engine.image_store.layer_dirs(self.engine.image_store.get(self.image_id)))

    def filesystem(self) -> str:
        """The type of the filesystem the root is on (ext4, tmpfs, ...): it moves create/remove times."""
        return filesystem_of(self.root)


def filesystem_of(path: str, mountinfo: str = "/proc/self/mountinfo") -> str:
    """The type of the filesystem holding path (the longest mount point above it), '?' if none."""
    best, kind = "", "?"
    with open(mountinfo, encoding="utf-8") as f:
        for line in f:
            fields = line.split()
            if "-" not in fields:
                continue
            mount_point, fstype = fields[4], fields[fields.index("-") + 1]
            if (path.rstrip("/") + "/").startswith(mount_point.rstrip("/") + "/") and len(mount_point) >= len(best):
                best, kind = mount_point, fstype
    return kind


def free_subnets(count: int = 1, pool: str = "10.200.0.0/13", prefix: int = 24) -> list[str]:
    """count subnets of pool that no host route overlaps (a benchmark's own bridges)."""
    import ipaddress

    from pyns.network.netlink import Netlink

    nl = Netlink()
    try:
        taken = nl.routes()
    finally:
        nl.close()
    free = [str(n) for n in ipaddress.IPv4Network(pool).subnets(new_prefix=prefix)
            if not any(n.overlaps(t) for t in taken)]
    if len(free) < count:
        raise RuntimeError(f"no {count} free /{prefix} subnets in {pool} for the benchmark's bridges")
    return free[:count]


@contextlib.contextmanager
def _env(values: dict[str, str]) -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _import_busybox(engine: Any, scratch: str) -> str:
    path = os.path.join(scratch, "busybox.tar")
    with open(path, "w+b") as f:
        busybox.write_rootfs(f)
        f.seek(0)
        image = engine.image_store.import_tarball(f, BENCH_IMAGE)
    os.unlink(path)
    return image.id


def _find_or_pull(engine: Any, image: str) -> str:
    """The image's id; pulled first when this root lacks it (a throw-away root always does)."""
    from pyns.errors import ImageNotFound

    try:
        return engine.image_store.get(image).id
    except ImageNotFound:
        return engine.images.pull(image).id


def networks_down(mgr: Any) -> None:
    """Everything a throw-away root's NetworkManager made goes: attachments,
    namespaces, bridges, the firewall table; the manager is closed."""
    from pyns.network import bridge

    try:
        mgr.cleanup(keep=())
        for net in mgr.list():
            if net.is_bridge:
                bridge.bring_down(net, mgr.netlink, mgr.firewall)
        mgr.firewall.destroy()
    finally:
        mgr.close()


@contextlib.contextmanager
def open_workspace(root: str | None = None, image: str | None = None, bridge: bool = False) -> Iterator[Workspace]:
    """A Workspace, cleaned up on exit (a throw-away root is deleted whole)."""
    import pyns

    owned = root is None
    env: dict[str, str] = {}
    if owned:
        root = tempfile.mkdtemp(prefix="pyns-bench-")
        tag = secrets.token_hex(3)
        env = {"PYNS_ROOT": root, "PYNS_CGROUP_PARENT": f"pyns-bench-{tag}"}
        if bridge:
            env.update(PYNS_BRIDGE=f"pyb{tag}", PYNS_BRIDGE_SUBNET=free_subnets()[0])
    with _env(env):
        engine = pyns.Engine(root)
        scratch = os.path.join(engine.root, "bench")
        os.makedirs(scratch, exist_ok=True)
        try:
            image_id = _find_or_pull(engine, image) if image else _import_busybox(engine, scratch)
            yield Workspace(engine, image or BENCH_IMAGE, image_id, scratch, owned)
        finally:
            if owned:
                if "networks" in vars(engine) or os.path.isdir(os.path.join(engine.root, "network")):
                    networks_down(engine.networks)
                shutil.rmtree(engine.root, ignore_errors=True)
