"""``-p/--publish`` specs, parsed like go-connections ``nat.ParsePortSpec``.

Syntax: ``[IP:][HOSTPORT:]CONTAINERPORT[/PROTO]`` where either port may be a
range (``8000-8010:80-90``, equal lengths) and IPv6 addresses are written in
brackets (``[::1]:80:80``). A single container port with a host range
(``8000-8010:80``) asks for any free host port in that range. The CLI's long
form (``published=8080,target=80,protocol=udp``) is accepted too.
"""
from __future__ import annotations

from pyns.errors import InvalidArgument
from pyns.options._go import atoi
from pyns.records import record

PROTOCOLS = ("tcp", "udp", "sctp")


@record(frozen=True)
class PortBinding:
    """One container port and where it is published.

    ``host_port`` None means "any free port"; ``host_port_end`` is set only
    for a dynamic host range (then ``host_port`` is its start). ``host_ip``
    "" means all addresses.
    """

    host_ip: str
    host_port: int | None
    container_port: int
    proto: str = "tcp"
    host_port_end: int | None = None

    @property
    def port_key(self) -> str:
        """Docker's key for the container port, e.g. "80/tcp"."""
        return f"{self.container_port}/{self.proto}"

    @property
    def host_port_text(self) -> str:
        """HostPort as docker stores it: "", "8080" or "8000-8010"."""
        if self.host_port is None:
            return ""
        if self.host_port_end is not None:
            return f"{self.host_port}-{self.host_port_end}"
        return str(self.host_port)


def _port_number(text: str) -> int:
    value = atoi(text) if text else None
    if value is None or not 0 <= value <= 65535:
        raise ValueError(text)
    return value


def parse_port_range(text: str) -> tuple[int, int]:
    """nat.ParsePortRange: "80" -> (80, 80), "80-90" -> (80, 90); ValueError if bad."""
    if text == "":
        raise ValueError("empty string specified for ports")
    start_text, dash, end_text = text.partition("-")
    start = _port_number(start_text)
    if not dash or start_text == end_text:
        return start, start
    end = _port_number(end_text)
    if end < start:
        raise ValueError(f"invalid port range: {text}")
    return start, end


def _split_host_port_ip(ip: str) -> str:
    """net.SplitHostPort(ip + ":") for a bracketed IPv6 host, with Go's errors."""
    hostport = ip + ":"
    end = hostport.find("]")
    why = ""
    if end < 0:
        why = "missing ']' in address"
    elif end + 1 != len(hostport) - 1:
        why = "too many colons in address" if hostport[end + 1] == ":" else "missing port in address"
    elif "[" in hostport[1:]:
        why = "unexpected '[' in address"
    elif "]" in hostport[end + 1 :]:
        why = "unexpected ']' in address"
    if why:
        raise InvalidArgument(f"invalid IP address {ip}: address {hostport}: {why}")
    return hostport[1:end]


def _valid_ip(text: str) -> bool:
    """net.ParseIP: dotted IPv4 (no leading zeros) or IPv6 without a zone."""
    if "%" in text:
        return False
    try:
        import ipaddress  # only when an address is given: -p 127.0.0.1:80:80

        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _standard_notation(spec: str) -> str:
    """The CLI's convertToStandardNotation for the ``key=value`` long form."""
    if "=" not in spec:
        return spec
    params = {"protocol": "tcp"}
    for param in spec.split(","):
        key, has_value, value = param.partition("=")
        if not has_value or not key:
            raise InvalidArgument(f"invalid publish opts format (should be name=value but got '{param}')")
        params[key] = value
    return f"{params.get('published', '')}:{params.get('target', '')}/{params['protocol']}"


def parse_port(spec: str) -> list[PortBinding]:
    """All bindings a ``-p`` value asks for, ranges expanded, in port order."""
    if not isinstance(spec, str):
        raise InvalidArgument(f"invalid port specification: {spec!r}")
    raw = _standard_notation(spec)
    parts = raw.split(":")
    ip, host, container = (":".join(parts[:-2]), parts[-2], parts[-1]) if len(parts) >= 3 else (
        "", parts[0] if len(parts) == 2 else "", parts[-1])
    container, _, proto = container.partition("/")
    if container == "":
        raise InvalidArgument(f"no port specified: {raw}<empty>")
    proto = (proto or "tcp").lower()
    if proto not in PROTOCOLS:
        raise InvalidArgument(f"invalid proto: {proto}")
    if ip.startswith("["):
        ip = _split_host_port_ip(ip)
    if ip and not _valid_ip(ip):
        raise InvalidArgument(f"invalid IP address: {ip}")
    try:
        start, end = parse_port_range(container)
    except ValueError:
        raise InvalidArgument(f"invalid containerPort: {container}") from None
    host_start = host_end = None
    if host:
        try:
            host_start, host_end = parse_port_range(host)
        except ValueError:
            raise InvalidArgument(f"invalid hostPort: {host}") from None
        if end - start != host_end - host_start and end != start:
            raise InvalidArgument(f"invalid ranges specified for container and host Ports: {container} and {host}")
    count = end - start + 1
    bindings = []
    for i in range(count):
        host_port = None if host_start is None else host_start + i
        dynamic_end = host_end if count == 1 and host_start != host_end else None
        bindings.append(PortBinding(ip, host_port, start + i, proto, dynamic_end))
    return bindings


def parse_ports(specs: list[str]) -> list[PortBinding]:
    """Every binding of several ``-p`` values, in the order given."""
    return [binding for spec in specs for binding in parse_port(spec)]
