"""pyns's client configuration: credentials, mirrors, insecure registries.

One JSON file, ``$PYNS_CONFIG/config.json`` (default
``~/.config/pyns/config.json``), shaped like docker's client config plus the
daemon.json keys that matter to a daemonless client::

    {"auths": {"127.0.0.1:5000": {"auth": "<base64 user:password>"}},
     "registry-mirrors": ["http://127.0.0.1:5000"],
     "insecure-registries": ["myhost:5000", "10.0.0.0/8"],
     "search-index": "https://index.docker.io",
     "max-concurrent-downloads": 3, "max-concurrent-uploads": 5,
     "max-retries": 4, "retry-backoff": 0.25, "upload-chunk-size": 67108864}

The file holds passwords, so it is written 0600 (directory 0700) with an
atomic replace, and every write re-reads it first so concurrent ``login``
calls for different registries do not drop each other.
"""
from __future__ import annotations

import base64
import binascii
import ipaddress
import json
import os
from typing import Any

from pyns.errors import InvalidArgument, PynsError
from pyns.fsutil import FileLock, atomic_write, read_json
from pyns.images.reference import DEFAULT_DOMAIN
from pyns.records import field, record

CONFIG_ENV = "PYNS_CONFIG"
CONFIG_FILE = "config.json"
DOCKER_HUB_AUTH_KEY = "https://index.docker.io/v1/"
DOCKER_HUB_REGISTRY = "registry-1.docker.io"
DEFAULT_SEARCH_INDEX = "https://index.docker.io"
_LOOPBACK_NAMES = ("localhost",)


def default_config_dir() -> str:
    """``$PYNS_CONFIG``, else ``$XDG_CONFIG_HOME/pyns``, else ``~/.config/pyns``."""
    explicit = os.environ.get(CONFIG_ENV)
    if explicit:
        return explicit
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return os.path.join(base, "pyns")


def auth_key(domain: str) -> str:
    """The key credentials are filed under (docker's, for Docker Hub)."""
    return DOCKER_HUB_AUTH_KEY if domain in (DEFAULT_DOMAIN, "index.docker.io", DOCKER_HUB_REGISTRY) else domain


def split_host_port(host: str) -> tuple[str, str]:
    """``"[::1]:5000"`` -> ``("::1", "5000")``, ``"example.com"`` -> ``("example.com", "")``."""
    if host.startswith("["):
        addr, _, rest = host[1:].partition("]")
        return addr, rest.lstrip(":")
    if host.count(":") == 1:
        name, _, port = host.partition(":")
        return name, port
    return host, ""


def is_loopback(host: str) -> bool:
    """127.0.0.0/8, ::1 and ``localhost``: the registries plain HTTP is allowed for by default."""
    name, _ = split_host_port(host)
    if name in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


@record
class Credentials:
    username: str
    password: str


@record
class RegistryConfig:
    """The settings the registry client reads; see the module doc for the file."""

    path: str | None = None
    mirrors: list[str] = field(default_factory=list)
    insecure: list[str] = field(default_factory=list)
    search_index: str = DEFAULT_SEARCH_INDEX
    max_concurrent_downloads: int = 3
    max_concurrent_uploads: int = 5
    retries: int = 4
    backoff: float = 0.25
    timeout: float = 60.0
    chunk_size: int = 64 << 20
    auths: dict[str, Credentials] = field(default_factory=dict)

    @classmethod
    def load(cls, directory: str | None = None) -> "RegistryConfig":
        path = os.path.join(directory or default_config_dir(), CONFIG_FILE)
        data = _read(path)
        cfg = cls(path=path, auths=_parse_auths(data.get("auths")))
        cfg.mirrors = [str(m) for m in data.get("registry-mirrors") or []]
        cfg.insecure = [str(h) for h in data.get("insecure-registries") or []]
        cfg.search_index = str(data.get("search-index") or DEFAULT_SEARCH_INDEX)
        for key, attr in (("max-concurrent-downloads", "max_concurrent_downloads"),
                          ("max-concurrent-uploads", "max_concurrent_uploads"), ("max-retries", "retries"),
                          ("upload-chunk-size", "chunk_size")):
            if isinstance(data.get(key), int) and data[key] >= 0:
                setattr(cfg, attr, max(int(data[key]), 1 if attr != "retries" else 0))
        if isinstance(data.get("retry-backoff"), (int, float)):
            cfg.backoff = float(data["retry-backoff"])
        return cfg

    # -- policy ---------------------------------------------------------------

    def is_insecure(self, host: str) -> bool:
        """Plain HTTP (and unverified TLS) allowed: loopback, or listed by host, host:port or CIDR."""
        if is_loopback(host) or host in self.insecure:
            return True
        name, _ = split_host_port(host)
        if name in self.insecure:
            return True
        try:
            addr = ipaddress.ip_address(name)
        except ValueError:
            return False
        for entry in self.insecure:
            try:
                if addr in ipaddress.ip_network(entry, strict=False):
                    return True
            except ValueError:
                continue
        return False

    def credentials(self, domain: str) -> Credentials | None:
        return self.auths.get(auth_key(domain))

    # -- login/logout -----------------------------------------------------------

    def save_credentials(self, domain: str, creds: Credentials) -> None:
        """Store credentials (0600) for ``domain``."""
        with self._locked_data() as data:
            token = base64.b64encode(f"{creds.username}:{creds.password}".encode()).decode()
            data.setdefault("auths", {})[auth_key(domain)] = {"auth": token}
        self.auths[auth_key(domain)] = creds

    def remove_credentials(self, domain: str) -> bool:
        """Forget ``domain``'s credentials; False if there were none."""
        with self._locked_data() as data:
            found = (data.get("auths") or {}).pop(auth_key(domain), None) is not None
        self.auths.pop(auth_key(domain), None)
        return found

    def _locked_data(self) -> "_ConfigEdit":
        if self.path is None:
            raise PynsError("no configuration file to store credentials in")
        return _ConfigEdit(self.path)


class _ConfigEdit:
    """Read-modify-write of the config file under a lock, published 0600."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._lock = FileLock(path + ".lock")
        self.data: dict[str, Any] = {}

    def __enter__(self) -> dict[str, Any]:
        os.makedirs(os.path.dirname(self.path), mode=0o700, exist_ok=True)
        self._lock.__enter__()
        self.data = _read(self.path)
        return self.data

    def __exit__(self, exc_type: object, *rest: object) -> None:
        try:
            if exc_type is None:
                atomic_write(self.path, json.dumps(self.data, indent=1, sort_keys=True).encode() + b"\n",
                             mode=0o600)
        finally:
            self._lock.__exit__(None, None, None)


def _read(path: str) -> dict[str, Any]:
    try:
        data = read_json(path)
    except FileNotFoundError:
        return {}
    except ValueError as e:
        raise InvalidArgument(f"invalid pyns config {path}: {e}") from None
    return data if isinstance(data, dict) else {}


def _parse_auths(auths: Any) -> dict[str, Credentials]:
    out: dict[str, Credentials] = {}
    if not isinstance(auths, dict):
        return out
    for key, entry in auths.items():
        if not isinstance(entry, dict):
            continue
        try:
            user, sep, password = base64.b64decode(str(entry.get("auth", ""))).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            continue
        if sep:
            out[str(key)] = Credentials(user, password)
    return out
