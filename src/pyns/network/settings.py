"""Docker-shaped views of network state: inspect's NetworkSettings, ``network
inspect``, and the PORTS column of ``ps`` / the lines of ``port``.

Pure functions over records, so the CLI and the library render the same
thing and tests need no kernel.
"""
from __future__ import annotations

from typing import Any, Iterable

from pyns.network.model import DEFAULT_NETWORK, Attachment, Endpoint, Network
from pyns.options.ports import PortBinding


def _endpoint_settings(ep: Endpoint | None, network_id: str = "") -> dict[str, Any]:
    return {
        "IPAMConfig": None, "Links": None, "Aliases": list(ep.aliases) if ep and ep.aliases else None,
        "MacAddress": ep.mac if ep else "", "NetworkID": ep.network_id if ep else network_id,
        "EndpointID": ep.endpoint_id if ep else "", "Gateway": ep.gateway if ep else "",
        "IPAddress": ep.ip if ep else "", "IPPrefixLen": ep.prefixlen if ep else 0,
        "IPv6Gateway": "", "GlobalIPv6Address": "", "GlobalIPv6PrefixLen": 0, "DriverOpts": None,
        "DNSNames": None,
    }


def port_map(ports: Iterable[PortBinding], exposed: Iterable[str] = ()) -> dict[str, Any]:
    """NetworkSettings.Ports: {"80/tcp": [{"HostIp": "0.0.0.0", "HostPort": "8080"}]}, exposed-only ports None."""
    out: dict[str, Any] = {k: None for k in exposed}
    for p in ports:
        out.setdefault(p.port_key, None)
        out[p.port_key] = (out[p.port_key] or []) + [{"HostIp": p.host_ip, "HostPort": p.host_port_text}]
    return out


def network_settings(att: Attachment | None, exposed: Iterable[str] = (),
                     configured: dict[str, str] | None = None) -> dict[str, Any]:
    """inspect's NetworkSettings. configured maps the names of networks the
    container is set to join to their ids, shown empty while it is not running."""
    networks = {name: _endpoint_settings(None, nid) for name, nid in (configured or {}).items()}
    for ep in att.endpoints if att else []:
        networks[ep.network] = _endpoint_settings(ep)
    legacy = next((e for e in att.endpoints if e.network == DEFAULT_NETWORK), None) if att else None
    return {
        "Bridge": "", "SandboxID": att.cid if att else "", "SandboxKey": att.netns_path if att else "",
        "HairpinMode": False, "LinkLocalIPv6Address": "", "LinkLocalIPv6PrefixLen": 0,
        "Ports": port_map(att.ports if att else (), exposed),
        "SecondaryIPAddresses": None, "SecondaryIPv6Addresses": None,
        "EndpointID": legacy.endpoint_id if legacy else "", "Gateway": legacy.gateway if legacy else "",
        "GlobalIPv6Address": "", "GlobalIPv6PrefixLen": 0,
        "IPAddress": legacy.ip if legacy else "", "IPPrefixLen": legacy.prefixlen if legacy else 0,
        "IPv6Gateway": "", "MacAddress": legacy.mac if legacy else "",
        "Networks": networks,
    }


def network_inspect(net: Network, attachments: Iterable[Attachment]) -> dict[str, Any]:
    """``network inspect``'s object for one network."""
    containers = {}
    for att in attachments:
        ep = att.endpoint_on(net.id)
        if ep is not None:
            containers[att.cid] = {"Name": att.name, "EndpointID": ep.endpoint_id, "MacAddress": ep.mac,
                                   "IPv4Address": f"{ep.ip}/{ep.prefixlen}", "IPv6Address": ""}
    ipam_config = [{"Subnet": net.subnet, "Gateway": net.gateway}] if net.subnet else []
    options = {"com.docker.network.bridge.name": net.bridge} if net.bridge else {}
    return {
        "Name": net.name, "Id": net.id, "Created": net.created, "Scope": "local", "Driver": net.driver,
        "EnableIPv6": False, "IPAM": {"Driver": "default", "Options": None, "Config": ipam_config},
        "Internal": net.internal, "Attachable": False, "Ingress": False, "ConfigFrom": {"Network": ""},
        "ConfigOnly": False, "Containers": containers, "Options": options, "Labels": dict(net.labels),
    }


def _ranges(items: list[tuple[int, int]]) -> list[tuple[int, int, int, int]]:
    """Merge (host, container) port pairs that both step by one into ranges."""
    out: list[list[int]] = []
    for host, ctr in sorted(items, key=lambda x: x[1]):
        if out and host and out[-1][1] == host - 1 and out[-1][3] == ctr - 1:
            out[-1][1], out[-1][3] = host, ctr
        else:
            out.append([host, host, ctr, ctr])
    return [tuple(r) for r in out]  # type: ignore[misc]


def _span(a: int, b: int) -> str:
    return str(a) if a == b else f"{a}-{b}"


def ps_ports(ports: Iterable[PortBinding], exposed: Iterable[str] = ()) -> str:
    """ps's PORTS column: "0.0.0.0:8080->80/tcp, 443/tcp" (consecutive ports merged)."""
    ports = list(ports)
    groups: dict[tuple[str, str], list[tuple[int, int]]] = {}
    for p in ports:
        groups.setdefault((p.host_ip, p.proto), []).append((p.host_port or 0, p.container_port))
    published = {p.port_key for p in ports}
    for k in exposed:
        if k not in published:
            num, _, proto = k.partition("/")
            groups.setdefault(("", proto or "tcp"), []).append((0, int(num)))
    parts = []
    for (ip, proto), items in sorted(groups.items()):
        for h1, h2, c1, c2 in _ranges(items):
            prefix = f"{ip}:{_span(h1, h2)}->" if h1 else ""
            parts.append(f"{prefix}{_span(c1, c2)}/{proto}")
    return ", ".join(parts)


def port_lines(ports: Iterable[PortBinding], private_port: str | None = None) -> list[str]:
    """``port``'s output: "80/tcp -> 0.0.0.0:8080", or only "0.0.0.0:8080" for one asked port."""
    if private_port is not None:
        want = private_port if "/" in private_port else f"{private_port}/tcp"
        return [f"{p.host_ip}:{p.host_port}" for p in ports if p.port_key == want]
    return [f"{p.port_key} -> {p.host_ip}:{p.host_port}" for p in ports]
