"""Which hosts serve a repository: Docker Hub's real host, mirrors, the named registry.

``docker.io`` is a name, not a host: its registry is
``registry-1.docker.io``, and pulls of Docker Hub images try the configured
mirrors first (a mirror serves the same paths, ``library/busybox``), as
docker's ``registry-mirrors`` do. Other registries are used as named.
Pushes never go to a mirror.
"""
from __future__ import annotations

import urllib.parse

from pyns.errors import InvalidArgument
from pyns.images.reference import DEFAULT_DOMAIN
from pyns.images.registry.config import DOCKER_HUB_REGISTRY, RegistryConfig
from pyns.records import record


@record(frozen=True)
class Endpoint:
    """A host to talk to; ``scheme`` is fixed when a mirror URL names one."""

    host: str
    scheme: str | None = None
    mirror: bool = False


def registry_host(domain: str) -> str:
    """The host behind a reference's domain."""
    return DOCKER_HUB_REGISTRY if domain == DEFAULT_DOMAIN else domain


def parse_mirror(url: str) -> Endpoint:
    """``http://127.0.0.1:5000`` or ``mirror.example.com`` as an endpoint."""
    parts = urllib.parse.urlsplit(url if "://" in url else f"//{url}")
    if parts.scheme not in ("", "http", "https") or not parts.netloc or parts.path.strip("/"):
        raise InvalidArgument(f"invalid registry mirror {url!r}: expected [http[s]://]host[:port]")
    return Endpoint(parts.netloc, parts.scheme or None, mirror=True)


def pull_endpoints(domain: str, config: RegistryConfig) -> list[Endpoint]:
    """Endpoints to try, in order, for pulling from ``domain``."""
    mirrors = [parse_mirror(m) for m in config.mirrors] if domain == DEFAULT_DOMAIN else []
    return [*mirrors, Endpoint(registry_host(domain))]


def push_endpoint(domain: str) -> Endpoint:
    return Endpoint(registry_host(domain))
