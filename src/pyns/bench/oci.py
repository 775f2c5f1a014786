"""An OCI runtime config.json for runc and crun, made from pyns's own Spec.

The peers must do the same work as pyns: the same process (argv, env,
user, capabilities, rlimits), the same namespaces, mounts, masked and
read-only paths, device nodes and rules, hostname and seccomp filter. So
the config is not written by hand but translated from the Spec pyns builds
for an identical container. Differences left, by construction of OCI:
the root is a plain directory (no overlay), runc/crun mount the cgroup
hierarchies themselves from one ``cgroup`` mount, and make /dev's
symlinks and standard nodes on their own.
"""
from __future__ import annotations

import resource
from typing import Any, Iterable, Mapping

from pyns.runtime.spec import Mount, Spec

OCI_VERSION = "1.0.2"
# OCI's names (resource also has aliases such as RLIMIT_OFILE for NOFILE, which runtimes refuse).
_RLIMITS = {getattr(resource, n): n for n in (
    "RLIMIT_AS", "RLIMIT_CORE", "RLIMIT_CPU", "RLIMIT_DATA", "RLIMIT_FSIZE", "RLIMIT_LOCKS", "RLIMIT_MEMLOCK",
    "RLIMIT_MSGQUEUE", "RLIMIT_NICE", "RLIMIT_NOFILE", "RLIMIT_NPROC", "RLIMIT_RSS", "RLIMIT_RTPRIO",
    "RLIMIT_RTTIME", "RLIMIT_SIGPENDING", "RLIMIT_STACK") if hasattr(resource, n)}
_NAMESPACES = ("pid", "network", "mount", "ipc", "uts", "cgroup")


def _oci_mounts(mounts: Iterable[Mount], sources: Mapping[str, str]) -> list[dict[str, Any]]:
    """pyns's mounts as OCI mounts; the v1 per-hierarchy series becomes one ``cgroup`` mount."""
    out: list[dict[str, Any]] = []
    cgroup_done = False
    for m in mounts:
        if "remount" in m.options:
            continue
        if m.destination == "/sys/fs/cgroup" or m.destination.startswith("/sys/fs/cgroup/"):
            if not cgroup_done:
                cgroup_done = True
                out.append({"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
                            "options": ["nosuid", "noexec", "nodev", "relatime", "ro"]})
            continue
        options = list(m.options)
        if m.type == "bind" and not {"bind", "rbind"} & set(options):
            options.insert(0, "rbind")
        src = sources.get(m.source or "", m.source or m.type)
        out.append({"destination": m.destination, "type": m.type, "source": src, "options": options})
    return out


def _device_rules(rules: Iterable[str]) -> list[dict[str, Any]]:
    """cgroup v1 devices.allow lines ("c 1:3 rwm") as OCI device rules, after a deny-all."""
    out: list[dict[str, Any]] = [{"allow": False, "access": "rwm"}]
    for rule in rules:
        kind, numbers, access = rule.split()
        major, minor = numbers.split(":")
        entry: dict[str, Any] = {"allow": True, "type": kind, "access": access}
        if major != "*":
            entry["major"] = int(major)
        if minor != "*":
            entry["minor"] = int(minor)
        out.append(entry)
    return out


def seccomp_section(effective: Any) -> dict[str, Any]:
    """pyns.runtime.seccomp.effective.Effective (already resolved for the
    container's capabilities and this host) in OCI's linux.seccomp form."""
    from pyns.runtime.seccomp.profile import ACTIONS, ERRNO_ACTIONS

    names: dict[int, str] = {}
    for name, value in ACTIONS.items():
        names.setdefault(value, name)  # first spelling wins: SCMP_ACT_KILL for 0

    def action(value: int) -> dict[str, Any]:
        name = names[value & 0xFFFF0000]
        return {"action": name, "errnoRet": value & 0xFFFF} if name in ERRNO_ACTIONS else {"action": name}

    rules: list[dict[str, Any]] = []
    index: dict[tuple[Any, ...], dict[str, Any]] = {}
    for sc in effective.syscalls:
        args = [{"index": a.index, "value": a.value, "valueTwo": a.value_two, "op": a.op} for a in sc.args]
        key = (sc.action, tuple((a.index, a.value, a.value_two, a.op) for a in sc.args))
        if key in index:
            index[key]["names"].append(sc.name)
            continue
        rule = {"names": [sc.name], **action(sc.action)}
        if args:
            rule["args"] = args
        index[key] = rule
        rules.append(rule)
    default = action(effective.default_action)
    section: dict[str, Any] = {"defaultAction": default["action"], "syscalls": rules}
    if "errnoRet" in default:
        section["defaultErrnoRet"] = default["errnoRet"]
    if effective.architectures:
        section["architectures"] = list(effective.architectures)
    return section


def config_from_spec(spec: Spec, *, rootfs: str = "rootfs", cgroups_path: str | None = None,
                     netns_path: str | None = None, sources: Mapping[str, str] | None = None,
                     device_rules: Iterable[str] = (), seccomp: dict[str, Any] | None = None) -> dict[str, Any]:
    """config.json for the container spec describes.

    sources: replacements for bind-mount sources (files in the pyns
    container's directory copied into the bundle); netns_path: join this
    network namespace instead of making one (bridge mode).
    """
    p = spec.process
    caps = sorted(f"CAP_{c}" for c in (p.capabilities or ()))
    process: dict[str, Any] = {
        "terminal": False,
        "user": {"uid": p.uid, "gid": p.gid, "additionalGids": list(p.additional_gids)},
        "args": list(p.args),
        "env": list(p.env),
        "cwd": p.cwd or "/",
        "capabilities": {"bounding": caps, "effective": caps, "permitted": caps},
        "rlimits": [{"type": _RLIMITS[r.resource], "soft": r.soft, "hard": r.hard} for r in p.rlimits],
        "noNewPrivileges": p.no_new_privileges,
    }
    namespaces = []
    for ns in _NAMESPACES:
        if ns in spec.namespaces:
            entry = {"type": ns}
            if ns == "network" and netns_path:
                entry["path"] = netns_path
            namespaces.append(entry)
    linux: dict[str, Any] = {
        "namespaces": namespaces,
        "devices": [{"path": d.path, "type": d.type, "major": d.major, "minor": d.minor, "fileMode": d.mode,
                     "uid": 0, "gid": 0} for d in spec.devices],
        "maskedPaths": list(spec.masked_paths),
        "readonlyPaths": list(spec.readonly_paths),
        "resources": {"devices": _device_rules(device_rules)},
    }
    if cgroups_path:
        linux["cgroupsPath"] = cgroups_path
    if seccomp:
        linux["seccomp"] = seccomp
    config: dict[str, Any] = {
        "ociVersion": OCI_VERSION,
        "process": process,
        "root": {"path": rootfs, "readonly": spec.root.readonly},
        "mounts": _oci_mounts(spec.mounts, sources or {}),
        "linux": linux,
    }
    if spec.hostname:
        config["hostname"] = spec.hostname
    return config
