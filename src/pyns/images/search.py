"""``docker search``: Docker Hub's search API, or a private registry's catalog.

A term that starts with a registry host (``127.0.0.1:5000/busy``) is
matched against that registry's ``/v2/_catalog`` (the distribution API
has no search, so the catalog is filtered by substring). Any other term
goes to the configured index's ``/v1/search`` (Docker Hub's API shape:
``{"results": [{"name", "description", "star_count", "is_official",
"is_automated"}]}``), which is ``https://index.docker.io`` by default.
"""
from __future__ import annotations

import urllib.parse

from pyns.errors import InvalidArgument
from pyns.images.reference import DEFAULT_DOMAIN, split_domain
from pyns.images.registry.client import RegistryClient
from pyns.images.registry.config import RegistryConfig
from pyns.images.registry.errors import decode_json, raise_for
from pyns.images.registry.transport import Transport
from pyns.records import record

DEFAULT_LIMIT = 25
MAX_LIMIT = 100


@record(frozen=True)
class SearchResult:
    name: str
    description: str = ""
    stars: int = 0
    official: bool = False
    automated: bool = False


def search(config: RegistryConfig, term: str, limit: int = DEFAULT_LIMIT) -> list[SearchResult]:
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidArgument(f"limit {limit} is outside the range of [1, {MAX_LIMIT}]")
    domain, remainder = split_domain(term) if "/" in term else (DEFAULT_DOMAIN, term)
    if domain != DEFAULT_DOMAIN:
        return _catalog_search(config, domain, remainder, limit)
    return _index_search(config, term, limit)


def _catalog_search(config: RegistryConfig, host: str, term: str, limit: int) -> list[SearchResult]:
    client = RegistryClient(host, config)
    try:
        names = client.catalog()
    finally:
        client.close()
    needle = term.lower()
    return [SearchResult(f"{host}/{name}") for name in names if needle in name.lower()][:limit]


def _index_search(config: RegistryConfig, term: str, limit: int) -> list[SearchResult]:
    base = config.search_index.rstrip("/")
    url = f"{base}/v1/search?" + urllib.parse.urlencode({"q": term, "n": limit})
    host = urllib.parse.urlsplit(base).netloc
    transport = Transport(config.retries, config.backoff, config.timeout)
    try:
        with transport.request("GET", url, verify=not config.is_insecure(host)) as resp:
            if resp.status != 200:
                raise_for(resp, f"searching {base}")
            body = resp.body(16 << 20)
    finally:
        transport.close()
    results = decode_json(body, f"search response from {base}").get("results") or []
    return [SearchResult(str(r.get("name", "")), str(r.get("description") or ""), int(r.get("star_count") or 0),
                         bool(r.get("is_official")), bool(r.get("is_automated")))
            for r in results if isinstance(r, dict)][:limit]
