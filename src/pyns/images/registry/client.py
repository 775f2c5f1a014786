"""The distribution API of one registry host (Docker Registry HTTP API v2 / OCI).

Every method is one API call with the scope it needs (pull, push, the
catalog); authentication is answered on demand: a 401 teaches the
:class:`Authenticator` the registry's challenge and the request is sent
once more with a token. The scheme is settled by the first ``GET /v2/``:
HTTPS with the system CA store, or, for insecure registries (loopback by
default), HTTPS without verification falling back to plain HTTP.
"""
from __future__ import annotations

import urllib.parse
from collections.abc import Callable
from typing import BinaryIO

from pyns.errors import RegistryError
from pyns.images import digest as dg
from pyns.images import mediatypes as mt
from pyns.images.manifest import MAX_MANIFEST_SIZE
from pyns.images.registry.auth import Authenticator, repository_scope
from pyns.images.registry.config import Credentials, RegistryConfig
from pyns.images.registry.errors import decode_json, raise_for
from pyns.images.registry.transport import Body, Response, Transport, _rewind, _rewindable

CATALOG_SCOPE = "registry:catalog:*"
DEFAULT_CHUNK = 64 << 20
Progress = Callable[[int], None]


def pull_scope(repo: str) -> tuple[str, ...]:
    return (repository_scope(repo, ("pull",)),)


def push_scope(repo: str) -> tuple[str, ...]:
    return (repository_scope(repo, ("pull", "push")),)


class _Slice:
    """Up to ``size`` bytes of a stream as a request body, counting progress."""

    def __init__(self, stream: BinaryIO, size: int, progress: Progress | None) -> None:
        self._stream = stream
        self._left = size
        self._progress = progress

    def read(self, n: int = -1) -> bytes:
        if self._left <= 0:
            return b""
        data = self._stream.read(self._left if n < 0 else min(n, self._left))
        if not data:
            raise RegistryError(f"upload source ended {self._left} bytes early")
        self._left -= len(data)
        if self._progress:
            self._progress(len(data))
        return data


class RegistryClient:
    """One registry host. ``name`` is the domain as users write it (for messages)."""

    def __init__(self, host: str, config: RegistryConfig, credentials: Credentials | None = None,
                 name: str | None = None, scheme: str | None = None, transport: Transport | None = None) -> None:
        self.host = host
        self.name = name or host
        self.config = config
        self.insecure = config.is_insecure(host)
        self.transport = transport or Transport(config.retries, config.backoff, config.timeout)
        creds = credentials if credentials is not None else config.credentials(self.name)
        self.auth = Authenticator(host, creds, self._fetch_token)
        self._scheme = scheme
        self._verify = not self.insecure
        self._pinged = False

    @property
    def base_url(self) -> str:
        self.ping()
        return f"{self._scheme}://{self.host}"

    def close(self) -> None:
        self.transport.close()

    # -- plumbing --------------------------------------------------------------

    def ping(self) -> None:
        """``GET /v2/``: settle http/https and learn the auth challenge (once)."""
        if self._pinged:
            return
        schemes = [self._scheme] if self._scheme else (["https", "http"] if self.insecure else ["https"])
        error: RegistryError | None = None
        for scheme in schemes:
            try:
                resp = self.transport.request("GET", f"{scheme}://{self.host}/v2/", verify=self._verify,
                                              retry=scheme == schemes[-1])
            except RegistryError as e:
                error = e
                continue
            with resp:
                resp.body(64 << 10)
                if resp.status == 401:
                    self.auth.learn(resp.header("WWW-Authenticate"))
                elif resp.status == 404:
                    raise RegistryError(f"{self.name} does not support the registry API v2 (GET /v2/: 404)")
                elif resp.status >= 400:
                    raise_for(resp, f"GET {scheme}://{self.host}/v2/")
            self._scheme, self._pinged = scheme, True
            return
        assert error is not None
        raise error

    def _url(self, path_or_url: str) -> str:
        return urllib.parse.urljoin(self.base_url + "/", path_or_url)

    def _same_origin(self, url: str) -> bool:
        return urllib.parse.urlsplit(url).netloc == self.host

    def request(self, method: str, path_or_url: str, scopes: tuple[str, ...], headers: dict[str, str] | None = None,
                body: Body = None, follow_redirects: bool = False, retry: bool = True) -> Response:
        """An authenticated request; a 401 is answered once with a fresh token."""
        url = self._url(path_or_url)
        start = body.tell() if body is not None and not isinstance(body, bytes) and _rewindable(body) else 0
        for attempt in (0, 1):
            all_headers = dict(headers or {})
            auth = self.auth.header(scopes) if self._same_origin(url) else None
            if auth:
                all_headers["Authorization"] = auth
            resp = self.transport.request(method, url, all_headers, body, verify=self._verify,
                                          follow_redirects=follow_redirects, retry=retry)
            if resp.status != 401 or attempt or not _rewindable(body):
                return resp
            challenge = self.auth.learn(resp.header("WWW-Authenticate"))
            if challenge is None or (challenge.scheme == "basic" and self.auth.credentials is None):
                return resp
            resp.close()
            self.auth.forget(scopes)
            scopes = tuple(dict.fromkeys((*scopes, *challenge.scopes)))
            _rewind(body, start)
        raise AssertionError("unreachable")

    def _fetch_token(self, url: str, headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        host = urllib.parse.urlsplit(url).netloc
        with self.transport.request("GET", url, headers, verify=not self.config.is_insecure(host)) as resp:
            return resp.status, dict(resp.headers.items()), resp.body(1 << 20)

    # -- pull ------------------------------------------------------------------

    def get_manifest(self, repo: str, reference: str) -> tuple[bytes, str, str]:
        """``(body, content type, digest of body)`` of a manifest or index."""
        resp = self.request("GET", f"/v2/{repo}/manifests/{reference}", pull_scope(repo),
                            {"Accept": mt.ACCEPT})
        shown = f"{self.name}/{repo}" + (f"@{reference}" if reference.startswith("sha256:") else f":{reference}")
        if resp.status == 404:
            raise_for(resp, f"manifest for {shown} not found")
        if resp.status != 200:
            raise_for(resp, f"fetching manifest for {shown}")
        with resp:
            if resp.length is not None and resp.length > MAX_MANIFEST_SIZE:
                raise RegistryError(f"manifest for {shown} is too large ({resp.length} bytes)")
            data = resp.body(MAX_MANIFEST_SIZE)
        return data, resp.header("Content-Type") or "", dg.of_bytes(data)

    def open_blob(self, repo: str, digest: str) -> Response:
        """Stream a blob (redirects followed); the caller verifies its digest."""
        dg.split(digest)
        resp = self.request("GET", f"/v2/{repo}/blobs/{digest}", pull_scope(repo), follow_redirects=True)
        if resp.status != 200:
            raise_for(resp, f"fetching blob {digest} of {self.name}/{repo}")
        return resp

    # -- push ------------------------------------------------------------------

    def blob_exists(self, repo: str, digest: str) -> bool:
        """``HEAD`` the blob in ``repo``."""
        with self.request("HEAD", f"/v2/{repo}/blobs/{digest}", push_scope(repo), follow_redirects=True) as resp:
            if resp.status == 200:
                return True
            if resp.status == 404:
                return False
            raise_for(resp, f"checking blob {digest} in {self.name}/{repo}")
        return False

    def start_upload(self, repo: str, mount: str | None = None, source: str | None = None) -> str | None:
        """Open an upload session; with ``mount``/``source`` try a cross-repository mount first.

        Returns the session's Location, or None when the blob was mounted.
        """
        scopes = push_scope(repo)
        path = f"/v2/{repo}/blobs/uploads/"
        if mount and source:
            path += "?" + urllib.parse.urlencode({"mount": mount, "from": source})
            scopes += (repository_scope(source, ("pull",)),)
        with self.request("POST", path, scopes) as resp:
            resp.body(64 << 10)
            if resp.status == 201 and mount:
                return None
            if resp.status != 202 or not resp.header("Location"):
                raise_for(resp, f"starting upload to {self.name}/{repo}")
            return self._url(resp.header("Location") or "")

    def upload(self, repo: str, location: str, stream: BinaryIO, size: int, digest: str,
               chunk_size: int = DEFAULT_CHUNK, progress: Progress | None = None) -> None:
        """Chunked upload: PATCH each chunk to the Location the registry gave, then PUT ?digest=."""
        url, offset = location, 0
        while offset < size:
            n = min(chunk_size, size - offset)
            headers = {"Content-Type": "application/octet-stream", "Content-Length": str(n),
                       "Content-Range": f"{offset}-{offset + n - 1}"}
            with self.request("PATCH", url, push_scope(repo), headers, _Slice(stream, n, progress),  # type: ignore[arg-type]
                              retry=False) as resp:
                resp.body(64 << 10)
                if resp.status != 202:
                    raise_for(resp, f"uploading blob {digest} to {self.name}/{repo}")
                url = self._url(resp.header("Location") or url)
            offset += n
        parts = urllib.parse.urlsplit(url)
        query = (parts.query + "&" if parts.query else "") + urllib.parse.urlencode({"digest": digest})
        final = urllib.parse.urlunsplit(parts._replace(query=query))
        with self.request("PUT", final, push_scope(repo), {"Content-Type": "application/octet-stream"}) as resp:
            resp.body(64 << 10)
            if resp.status not in (201, 204):
                raise_for(resp, f"completing upload of {digest} to {self.name}/{repo}")
            returned = resp.header("Docker-Content-Digest")
            if returned and returned != digest:
                raise RegistryError(f"registry stored {digest} as {returned}")

    def put_manifest(self, repo: str, reference: str, data: bytes, media_type: str) -> str:
        """Upload a manifest; returns its digest."""
        with self.request("PUT", f"/v2/{repo}/manifests/{reference}", push_scope(repo),
                          {"Content-Type": media_type}, data) as resp:
            resp.body(64 << 10)
            if resp.status not in (200, 201, 202):
                raise_for(resp, f"pushing manifest {self.name}/{repo}:{reference}")
        digest = dg.of_bytes(data)
        returned = resp.header("Docker-Content-Digest")
        if returned and returned != digest:
            raise RegistryError(f"registry stored manifest {digest} as {returned}")
        return digest

    # -- listing -----------------------------------------------------------------

    def catalog(self, page: int = 100) -> list[str]:
        """Every repository name (``GET /v2/_catalog``, following ``Link`` pages)."""
        names: list[str] = []
        url: str | None = f"/v2/_catalog?n={page}"
        while url:
            with self.request("GET", url, (CATALOG_SCOPE,)) as resp:
                if resp.status != 200:
                    raise_for(resp, f"listing repositories of {self.name}")
                data = decode_json(resp.body(16 << 20), "catalog response")
                link = resp.header("Link") or ""
            names += [str(n) for n in data.get("repositories") or []]
            url = _next_link(link)
        return names


def _next_link(header: str) -> str | None:
    """The ``rel="next"`` target of an RFC 5988 Link header."""
    for part in header.split(","):
        target, _, params = part.partition(";")
        if 'rel="next"' in params.replace(" ", "") and target.strip().startswith("<"):
            return target.strip()[1:-1]
    return None
