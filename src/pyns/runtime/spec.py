"""The runtime spec: what a container process is, independent of images.

Mirrors the OCI runtime config (process, root, mounts, namespaces, linux
masked/readonly paths) closely enough that someone who knows config.json
can read it, and adds what pyns's own plan needs (overlay layers, the
cgroup files the child joins, the monitor's log and exit files).
"""
from __future__ import annotations


from pyns.records import field, record

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (see pyns/__init__.py)
if TYPE_CHECKING:
    from pyns.runtime.idmap import IdMap

NAMESPACES = ("pid", "mount", "uts", "ipc", "network", "cgroup")


@record
class Mount:
    """One mount, OCI style: options are strings like "ro", "nosuid", "mode=755"."""

    destination: str
    type: str  # "bind" for bind mounts, else a filesystem type
    source: str | None = None
    options: list[str] = field(default_factory=list)


@record
class Device:
    """A device node created in the container's /dev (a tmpfs)."""

    path: str
    type: str  # "c" or "b"
    major: int
    minor: int
    mode: int = 0o666


@record
class Rlimit:
    resource: int  # resource.RLIMIT_*
    soft: int
    hard: int


@record
class Process:
    args: list[str]
    env: list[str] = field(default_factory=list)
    cwd: str = "/"
    uid: int = 0
    gid: int = 0
    additional_gids: list[int] = field(default_factory=list)
    capabilities: frozenset[str] | None = None  # None: leave the caller's
    rlimits: list[Rlimit] = field(default_factory=list)
    no_new_privileges: bool = False


@record
class Root:
    """The root filesystem: an overlay of read-only layers, or a plain directory.

    ``path`` is the (empty) directory the root is mounted on inside the
    container's mount namespace; nothing is mounted in the host's.
    """

    path: str
    layers: list[str] = field(default_factory=list)  # bottom -> top
    upper: str | None = None
    work: str | None = None
    readonly: bool = False
    pivot: bool = True  # False: mount it, but run in the host's tree (e.g. tar it up)
    userxattr: bool = False  # overlay in a user namespace: its marks are user.overlay.* xattrs
    # Root(path="/", pivot=False) with no layers and no mounts: the host's tree as is.


@record
class Symlink:
    target: str
    path: str


@record
class CgroupJoin:
    """What the child needs from its cgroup: the files to join and the OOM counter."""

    procs_files: list[str] = field(default_factory=list)
    dirs: list[str] = field(default_factory=list)
    oom_events_file: str | None = None


@record
class Spec:
    process: Process
    root: Root
    hostname: str | None = None
    namespaces: frozenset[str] = frozenset(NAMESPACES)
    network_namespace_path: str | None = None  # join instead of creating one
    loopback_up: bool = True
    mounts: list[Mount] = field(default_factory=list)
    devices: list[Device] = field(default_factory=list)
    symlinks: list[Symlink] = field(default_factory=list)
    masked_paths: list[str] = field(default_factory=list)
    readonly_paths: list[str] = field(default_factory=list)
    cgroup: CgroupJoin = field(default_factory=CgroupJoin)
    parent_death_signal: int = 9  # the container dies with its supervisor
    seccomp_bpf: bytes | None = None  # a compiled classic-BPF program (struct sock_filter[])
    # --userns-remap: a new user namespace with these maps, entered last;
    # idmapped_dirs are replaced by views shifted through it (the layers).
    idmap: IdMap | None = None
    idmapped_dirs: list[str] = field(default_factory=list)
    sysctls: dict[str, str] = field(default_factory=dict)  # namespaced ones, set from inside
    bind_devices: bool = False  # bind the host's nodes instead of mknod (a user namespace may not mknod)
    # Terminal and attach: a pty from the container's devpts as stdio (the
    # master is handed to the supervisor); the monitor keeps stdin open and
    # serves an attach socket named attach_socket in the plan's directory.
    tty: bool = False
    winsize: tuple[int, int] | None = None  # rows, cols
    open_stdin: bool = False
    attach_socket: str | None = None
    # exec: join every namespace of this running process instead of creating
    # any; root, mounts, devices, masks and hostname are then ignored.
    join_pid: int | None = None
    # Supervisor side (used by the in-process supervisor and the monitor).
    log_path: str | None = None
    exit_path: str | None = None
    on_exit: list[str] = field(default_factory=list)
