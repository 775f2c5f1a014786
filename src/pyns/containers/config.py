"""From create()/run() arguments and the image to docker's Config and HostConfig.

The Docker SDK's keyword names are the interface (the CLI maps its flags to
them), and the merge with the image follows docker's rules: --entrypoint
resets the image's Cmd, a command replaces Cmd, -e overrides image Env by
key, and so on. The result is stored verbatim in config.json and shown by
``inspect``.
"""
from __future__ import annotations

from collections.abc import Mapping

from pyns import options
from pyns.containers import networking
from pyns.errors import InvalidArgument
from pyns.runtime import capabilities, defaults
from pyns.runtime.cgroups import Resources

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (see pyns/__init__.py)
if TYPE_CHECKING:
    from typing import Any, Iterable


def _as_list(cmd: str | Iterable[str] | None) -> list[str] | None:
    if cmd is None:
        return None
    if isinstance(cmd, str):
        import shlex  # only for a command given as one string

        return shlex.split(cmd)
    return [str(c) for c in cmd]


def _env_list(environment: Mapping[str, Any] | Iterable[str] | None) -> list[str]:
    if environment is None:
        return []
    if isinstance(environment, Mapping):
        return [f"{k}={v}" for k, v in environment.items()]
    return options.parse_env(list(environment), None)


def _volumes(volumes: Mapping[str, Any] | Iterable[str] | None) -> list[str]:
    """SDK dict form {"/host": {"bind": "/ctr", "mode": "ro"}} or list form -> bind specs."""
    if volumes is None:
        return []
    if isinstance(volumes, Mapping):
        out = []
        for src, v in volumes.items():
            if isinstance(v, str):
                out.append(f"{src}:{v}")
            else:
                out.append(f"{src}:{v['bind']}:{v.get('mode', 'rw')}")
        return out
    return list(volumes)


def _tmpfs(tmpfs: Mapping[str, str] | Iterable[str] | None) -> dict[str, str]:
    if tmpfs is None:
        return {}
    if isinstance(tmpfs, Mapping):
        return {k: v for k, v in tmpfs.items()}
    out = {}
    for spec in tmpfs:
        target, _ = options.parse_tmpfs(spec)  # validates
        out[target] = spec.partition(":")[2]  # HostConfig keeps the raw data, as docker does
    return out


def _ulimits(ulimits: Iterable[Any] | None) -> list[dict[str, Any]]:
    out = []
    for u in ulimits or ():
        if isinstance(u, str):
            ul = options.parse_ulimit(u)
            out.append({"Name": ul.name, "Soft": ul.soft, "Hard": ul.hard})
        elif isinstance(u, Mapping):
            out.append({"Name": u.get("Name") or u["name"], "Soft": u.get("Soft", u.get("soft")),
                        "Hard": u.get("Hard", u.get("hard"))})
        else:
            out.append({"Name": u.name, "Soft": u.soft, "Hard": u.hard})
    return out


def _mem(value: Any, swap: bool = False) -> int:
    if value is None or value == "":
        return 0
    return options.parse_memory_swap(value) if swap else options.parse_memory(value)


def security_options(opts: Iterable[str]) -> list[str]:
    """--security-opt values as HostConfig keeps them: no-new-privileges[=bool],
    seccomp=<profile JSON>|unconfined (the file is read and checked now, as docker does)."""
    out = []
    for opt in opts:
        key, sep, value = opt.partition("=")
        if not sep:
            key, sep, value = opt.partition(":")
        if key == "no-new-privileges" and value in ("", "true", "false"):
            out.append("no-new-privileges" + (f"={value}" if value else ""))
        elif key == "seccomp" and value:
            from pyns.runtime import seccomp

            out.append("seccomp=" + seccomp.profile_option(value))
        else:
            raise InvalidArgument(f"Invalid --security-opt: {opt!r}")
    return out


def seccomp_profile(host_config: Mapping[str, Any]) -> str | None:
    """The profile a container asked for (None: the default one)."""
    for opt in host_config.get("SecurityOpt") or []:
        if opt.startswith("seccomp="):
            return opt.split("=", 1)[1]
    return None


def resources_from_host_config(hc: Mapping[str, Any]) -> Resources:
    """The cgroup limits a HostConfig asks for (0 means unset, as in docker)."""
    return Resources(
        memory=hc.get("Memory") or None,
        memory_swap=hc.get("MemorySwap") or None,
        nano_cpus=hc.get("NanoCpus") or None,
        cpu_shares=hc.get("CpuShares") or None,
        pids_limit=hc.get("PidsLimit") or None,
        cpuset_cpus=hc.get("CpusetCpus") or None,
        cpuset_mems=hc.get("CpusetMems") or None,
        devices_default=not hc.get("Privileged"),
    )


def checked_sysctls(sysctls: Mapping[str, Any], network_mode: str, ipc_mode: str) -> dict[str, str]:
    """--sysctl: only what a container's own namespaces scope (docker's rules)."""
    out = {}
    for name, value in sysctls.items():
        name = str(name).strip()
        if name in defaults.IPC_SYSCTLS or name.startswith("fs.mqueue."):
            if ipc_mode == "host":
                raise InvalidArgument(f"sysctl {name!r} is not allowed in host IPC namespace")
        elif name.startswith("net."):
            if network_mode == "host" or network_mode.startswith("container:"):
                raise InvalidArgument(f"sysctl {name!r} is not allowed in host network namespace")
        else:
            raise InvalidArgument(f"sysctl {name!r} is not whitelisted")
        if not name.replace(".", "").replace("_", "").replace("-", "").isalnum() or ".." in name:
            raise InvalidArgument(f"invalid sysctl name {name!r}")
        out[name] = str(value)
    return out


def build(image_ref: str, image_config: Mapping[str, Any], command: Any = None, *,
          entrypoint: Any = None, environment: Any = None, hostname: str | None = None,
          user: str | None = None, working_dir: str | None = None, volumes: Any = None,
          tmpfs: Any = None, read_only: bool = False, mem_limit: Any = None,
          memswap_limit: Any = None, nano_cpus: int | None = None, cpu_shares: int | None = None,
          pids_limit: int | None = None, cpuset_cpus: str | None = None, cpuset_mems: str | None = None,
          network_mode: str | None = None, pid_mode: str | None = None, ipc_mode: str | None = None,
          uts_mode: str | None = None, cgroupns: str | None = None, stop_signal: str | None = None,
          stop_timeout: int | None = None, init: bool | None = None, privileged: bool = False,
          cap_add: Iterable[str] | None = None, cap_drop: Iterable[str] | None = None,
          security_opt: Iterable[str] | None = None, ulimits: Any = None,
          labels: Mapping[str, str] | None = None, auto_remove: bool = False,
          stdin_open: bool = False, tty: bool = False, domainname: str = "",
          ports: Mapping[str, Any] | None = None, publish: Iterable[str] | None = None,
          publish_all_ports: bool = False, network: str | None = None,
          network_aliases: Iterable[str] | None = None, userns_mode: str | None = None,
          sysctls: Mapping[str, Any] | None = None,
          **unsupported: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """Return (Config, HostConfig) for a new container."""
    if unsupported:
        raise InvalidArgument(f"unsupported option(s): {', '.join(sorted(unsupported))}")
    img = dict(image_config or {})

    ep_given = entrypoint is not None
    ep = _as_list(entrypoint) if ep_given else (img.get("Entrypoint") or None)
    if ep_given and ep in ([], [""]):
        ep = None
    cmd = _as_list(command)
    if cmd is None and not ep_given:
        cmd = img.get("Cmd") or None
    if not (ep or cmd):
        raise InvalidArgument("no command specified")

    env = options.merge_image_env(_env_list(environment), list(img.get("Env") or []))

    mode = networking.validate_mode(network_mode or network or networking.default_mode())
    bindings = (networking.sdk_ports(ports) if ports else []) + options.parse_ports(list(publish or []))
    if (bindings or publish_all_ports) and not networking.is_managed(mode):
        from pyns.runtime import rootless

        why = " (rootless: a bridge network needs root)" if rootless.active() else ""
        raise InvalidArgument(f"published ports are not available with --network {mode}{why}")
    if network_aliases and not networking.is_managed(mode):
        raise InvalidArgument("network-scoped aliases are only supported for user-defined networks")
    for flag, value, allowed in (("--pid", pid_mode, ("", "host")), ("--ipc", ipc_mode, ("", "private", "host")),
                                 ("--uts", uts_mode, ("", "host")), ("--cgroupns", cgroupns, ("", "private", "host")),
                                 ("--userns", userns_mode, ("", "host"))):
        if (value or "") not in allowed:
            raise InvalidArgument(f"invalid {flag} value {value!r}: use {' or '.join(a for a in allowed if a)}")
    if uts_mode == "host" and hostname:
        raise InvalidArgument("Conflicting options: hostname and the UTS mode")

    sec = security_options(security_opt or [])
    capabilities.resolve(cap_add or (), cap_drop or (), privileged)  # validates the names
    if stop_signal:
        options.parse_signal(stop_signal)
    if user:
        options.parse_user(user)

    mem = _mem(mem_limit)
    swap = _mem(memswap_limit, swap=True)
    hc: dict[str, Any] = {
        "Binds": _volumes(volumes),
        "NetworkMode": mode,
        "PortBindings": networking.port_bindings(bindings),
        "PublishAllPorts": bool(publish_all_ports),
        "PidMode": pid_mode or "",
        "IpcMode": ipc_mode or "private",
        "UTSMode": uts_mode or "",
        "UsernsMode": userns_mode or "",
        "Sysctls": checked_sysctls(sysctls or {}, mode, ipc_mode or "private"),
        "CgroupnsMode": cgroupns or "private",
        "AutoRemove": bool(auto_remove),
        "Privileged": bool(privileged),
        "ReadonlyRootfs": bool(read_only),
        "Memory": mem,
        "MemorySwap": swap,
        "NanoCpus": int(nano_cpus or 0),
        "CpuShares": int(cpu_shares or 0),
        "PidsLimit": int(pids_limit) if pids_limit else None,
        "CpusetCpus": cpuset_cpus or "",
        "CpusetMems": cpuset_mems or "",
        "Tmpfs": _tmpfs(tmpfs),
        "Init": bool(init) if init is not None else None,
        "CapAdd": list(cap_add or []) or None,
        "CapDrop": list(cap_drop or []) or None,
        "SecurityOpt": sec or None,
        "Ulimits": _ulimits(ulimits) or None,
    }
    resources_from_host_config(hc).validate()
    for spec in hc["Binds"]:
        options.parse_volume(spec)

    cfg: dict[str, Any] = {
        "Hostname": hostname or "",
        "Domainname": domainname,
        "User": user if user is not None else (img.get("User") or ""),
        "AttachStdin": False,
        "AttachStdout": False,
        "AttachStderr": False,
        "Tty": bool(tty),
        "OpenStdin": bool(stdin_open),
        "StdinOnce": False,
        "Env": env,
        "Cmd": cmd,
        "Image": image_ref,
        "Volumes": img.get("Volumes") or None,
        "WorkingDir": working_dir if working_dir is not None else (img.get("WorkingDir") or ""),
        "Entrypoint": ep,
        "OnBuild": None,
        "Labels": {**(img.get("Labels") or {}), **dict(labels or {})},
    }
    exposed = {**(img.get("ExposedPorts") or {}), **{b.port_key: {} for b in bindings}}
    if exposed:
        cfg["ExposedPorts"] = exposed
    if network_aliases:
        cfg["NetworkAliases"] = list(network_aliases)  # moved to NetworkingConfig by the caller
    if stop_signal or img.get("StopSignal"):
        cfg["StopSignal"] = stop_signal or img.get("StopSignal")
    if stop_timeout is not None:
        cfg["StopTimeout"] = int(stop_timeout)
    return cfg, hc
