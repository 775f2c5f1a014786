"""Capability names and docker's default set.

Docker gives every container 14 capabilities; inside, /proc/self/status
shows ``CapEff: 00000000a80425fb``. --cap-add/--cap-drop edit this set by
name (with or without the ``CAP_`` prefix, ``ALL`` for every one).
"""
from __future__ import annotations


from pyns.errors import InvalidArgument

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (see pyns/__init__.py)
if TYPE_CHECKING:
    from typing import Iterable

# Kernel numbering (include/uapi/linux/capability.h).
CAPABILITIES: dict[str, int] = {
    "CHOWN": 0, "DAC_OVERRIDE": 1, "DAC_READ_SEARCH": 2, "FOWNER": 3, "FSETID": 4,
    "KILL": 5, "SETGID": 6, "SETUID": 7, "SETPCAP": 8, "LINUX_IMMUTABLE": 9,
    "NET_BIND_SERVICE": 10, "NET_BROADCAST": 11, "NET_ADMIN": 12, "NET_RAW": 13,
    "IPC_LOCK": 14, "IPC_OWNER": 15, "SYS_MODULE": 16, "SYS_RAWIO": 17, "SYS_CHROOT": 18,
    "SYS_PTRACE": 19, "SYS_PACCT": 20, "SYS_ADMIN": 21, "SYS_BOOT": 22, "SYS_NICE": 23,
    "SYS_RESOURCE": 24, "SYS_TIME": 25, "SYS_TTY_CONFIG": 26, "MKNOD": 27, "LEASE": 28,
    "AUDIT_WRITE": 29, "AUDIT_CONTROL": 30, "SETFCAP": 31, "MAC_OVERRIDE": 32,
    "MAC_ADMIN": 33, "SYSLOG": 34, "WAKE_ALARM": 35, "BLOCK_SUSPEND": 36,
    "AUDIT_READ": 37, "PERFMON": 38, "BPF": 39, "CHECKPOINT_RESTORE": 40,
}

DEFAULT_CAPABILITIES: frozenset[str] = frozenset({
    "CHOWN", "DAC_OVERRIDE", "FSETID", "FOWNER", "MKNOD", "NET_RAW", "SETGID", "SETUID",
    "SETFCAP", "SETPCAP", "NET_BIND_SERVICE", "SYS_CHROOT", "KILL", "AUDIT_WRITE",
})


def normalize(name: str) -> str:
    """'cap_net_admin' / 'NET_ADMIN' -> 'NET_ADMIN'; 'all' -> 'ALL'."""
    n = name.strip().upper()
    if n.startswith("CAP_"):
        n = n[4:]
    if n != "ALL" and n not in CAPABILITIES:
        raise InvalidArgument(f"unknown capability: \"{name}\"")
    return n


def held_by_engine() -> frozenset[str]:
    """Capabilities in this process's bounding set: what --privileged can give.

    Root here may lack some (e.g. SYS_RESOURCE); asking the kernel for one
    outside the bounding set would fail the container, so --privileged
    means "everything the engine itself holds".
    """
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("CapBnd:"):
                    mask = int(line.split()[1], 16)
                    return frozenset(n for n, b in CAPABILITIES.items() if mask & (1 << b))
    except OSError:
        pass
    return frozenset(CAPABILITIES)


def resolve(add: Iterable[str] = (), drop: Iterable[str] = (), privileged: bool = False) -> frozenset[str]:
    """The effective set for a container, docker's rules: drop ALL first, then add."""
    if privileged:
        return held_by_engine()
    add_n = [normalize(a) for a in add]
    drop_n = [normalize(d) for d in drop]
    caps = set(DEFAULT_CAPABILITIES)
    if "ALL" in drop_n:
        caps.clear()
    caps.difference_update(d for d in drop_n if d != "ALL")
    if "ALL" in add_n:
        caps.update(held_by_engine())
    caps.update(a for a in add_n if a != "ALL")
    return frozenset(caps)


def mask(caps: Iterable[str]) -> int:
    """Bit mask of capability names, as the kernel and the plan want it."""
    m = 0
    for c in caps:
        m |= 1 << CAPABILITIES[c]
    return m
