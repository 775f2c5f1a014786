"""The container side of networking: modes, published ports, and the calls
into pyns.network at create / start / exit / remove.

Docker's modes: ``bridge`` (the default), a user network's name, ``none``
(only lo), ``host`` (the host's stack), ``container:NAME`` (another running
container's namespace). HostConfig keeps PortBindings in docker's shape;
this module turns them into pyns.options PortBinding lists for the
network layer and back.
"""
from __future__ import annotations


from pyns import options
from pyns.errors import InvalidArgument
from pyns.options.ports import PortBinding

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (see pyns/__init__.py)
if TYPE_CHECKING:
    from typing import Any, Iterable, Mapping

SPECIAL_MODES = ("none", "host")


def is_managed(mode: str) -> bool:
    """True when pyns.network gives the container its namespace (bridge and user networks)."""
    return mode not in SPECIAL_MODES and not mode.startswith("container:")


def sdk_ports(ports: Mapping[str, Any]) -> list[PortBinding]:
    """The Docker SDK's ``ports`` dict: {"80/tcp": 8080 | None | ("127.0.0.1", 8080) | [8080, 8081]}."""
    out: list[PortBinding] = []
    for key, value in ports.items():
        port, _, proto = str(key).partition("/")
        values = value if isinstance(value, list) else [value]
        for v in values:
            if isinstance(v, tuple):
                ip, host = (v[0], v[1] if len(v) > 1 else None)
            else:
                ip, host = "", v
            spec = f"{ip}:{host or ''}:{port}" if ip else (f"{host}:{port}" if host else port)
            out += options.parse_port(spec + (f"/{proto}" if proto else ""))
    return out


def port_bindings(bindings: Iterable[PortBinding]) -> dict[str, list[dict[str, str]]]:
    """HostConfig.PortBindings."""
    out: dict[str, list[dict[str, str]]] = {}
    for b in bindings:
        out.setdefault(b.port_key, []).append({"HostIp": b.host_ip, "HostPort": b.host_port_text})
    return out


def bindings_from(host_config: Mapping[str, Any], exposed: Iterable[str]) -> list[PortBinding]:
    """What to publish at start: PortBindings, plus every exposed port with -P."""
    out: list[PortBinding] = []
    for key, entries in (host_config.get("PortBindings") or {}).items():
        port, _, proto = key.partition("/")
        for e in entries or [{}]:
            host = e.get("HostPort") or ""
            ip = e.get("HostIp") or ""
            spec = f"{ip}:{host}:{port}" if ip else (f"{host}:{port}" if host else port)
            out += options.parse_port(f"{spec}/{proto or 'tcp'}")
    if host_config.get("PublishAllPorts"):
        have = {b.port_key for b in out}
        for key in exposed:
            if key not in have:
                port, _, proto = key.partition("/")
                out.append(PortBinding("", None, int(port), proto or "tcp"))
    return out


def default_mode() -> str:
    """docker's default, bridge; rootless pyns has no bridge, so none."""
    from pyns.runtime import rootless

    return "none" if rootless.active() else "bridge"


def validate_mode(mode: str) -> str:
    if not mode or mode.startswith("container:") and not mode.split(":", 1)[1]:
        raise InvalidArgument(f"invalid network mode: {mode!r}")
    return mode
