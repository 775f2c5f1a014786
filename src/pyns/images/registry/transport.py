"""HTTP for registries on http.client: connection reuse, retries with back-off, redirects.

Registries sit behind load balancers and object stores that drop
connections and answer 5xx under load, so every request that can be
repeated is retried with exponential back-off (``Retry-After`` honoured).
Blob downloads are commonly redirected to another host (S3, a CDN); the
``Authorization`` header is dropped when a redirect leaves the origin, as
presigned URLs reject it. Bodies are streamed: a :class:`Response` is a
file-like object that notices a connection closed before ``Content-Length``
bytes arrived and reports it as a transient error instead of a short read.
"""
from __future__ import annotations

import http.client
import logging
import socket
import ssl
import threading
import time
import urllib.parse
from collections.abc import Mapping
from typing import Any, BinaryIO

from pyns.errors import RegistryError

log = logging.getLogger(__name__)

RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
MAX_REDIRECTS = 10
MAX_RETRY_AFTER = 10.0
USER_AGENT = "pyns/0.1 (+registry client)"
_BLOCK = 1 << 20  # request bodies are sent in 1 MiB writes


class TransientError(RegistryError):
    """A failure worth retrying: a dropped connection, a truncated body, a 5xx."""


class Response:
    """A streamed response. Read it to the end (or close it) to give the connection back."""

    def __init__(self, method: str, url: str, raw: http.client.HTTPResponse, release: Any) -> None:
        self.method = method
        self.url = url
        self.status = raw.status
        self.headers = raw.headers
        self._raw = raw
        self._release = release
        length = raw.getheader("Content-Length", "")
        self.length: int | None = int(length) if length.isdigit() else None
        self._remaining = 0 if method == "HEAD" else self.length
        self._done = False

    def header(self, name: str, default: str | None = None) -> str | None:
        return self.headers.get(name, default)

    def read(self, n: int = -1) -> bytes:
        if self._done:
            return b""
        try:
            data = self._raw.read(n if n >= 0 else None)
        except (http.client.HTTPException, OSError) as e:
            self.close()
            raise TransientError(f"{self.method} {self.url}: connection lost while reading the body: {e}") from None
        if self._remaining is not None:
            self._remaining -= len(data)
        if n < 0 or not data or self._remaining == 0:
            if self._remaining:
                got = (self.length or 0) - self._remaining
                self.close()
                raise TransientError(f"{self.method} {self.url}: truncated body: got {got} of {self.length} bytes")
            if n < 0 or not data or self._raw.isclosed():
                self.close()
        return data

    def readable(self) -> bool:
        return True

    def body(self, limit: int = 8 << 20) -> bytes:
        """The whole body (bounded: an endless or huge error page is cut short)."""
        chunks: list[bytes] = []
        total = 0
        while total <= limit:
            data = self.read(1 << 16)
            if not data:
                return b"".join(chunks)
            chunks.append(data)
            total += len(data)
        self.close()
        raise RegistryError(f"{self.method} {self.url}: response larger than {limit} bytes")

    def close(self) -> None:
        """Release the connection: kept for reuse only if the body was read to its end."""
        if not self._done:
            self._done = True
            if self.method == "HEAD":
                self._raw.read()
            self._release(self._raw.isclosed())

    def __enter__(self) -> "Response":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


Body = bytes | BinaryIO | None


class Transport:
    """Pooled connections per origin, shared by a client's threads."""

    def __init__(self, retries: int = 4, backoff: float = 0.25, timeout: float = 60.0) -> None:
        self.retries = retries
        self.backoff = backoff
        self.timeout = timeout
        self._idle: dict[tuple[str, str, bool], list[http.client.HTTPConnection]] = {}
        self._lock = threading.Lock()
        self._contexts: dict[bool, ssl.SSLContext] = {}  # verify -> TLS context

    # -- connections -----------------------------------------------------------

    def _connect(self, scheme: str, netloc: str, verify: bool) -> http.client.HTTPConnection:
        with self._lock:
            idle = self._idle.get((scheme, netloc, verify))
            if idle:
                return idle.pop()
        parts = urllib.parse.urlsplit(f"//{netloc}")
        host, port = parts.hostname or "", parts.port
        if scheme == "https":
            return http.client.HTTPSConnection(host, port, timeout=self.timeout, context=self._tls(verify),
                                               blocksize=_BLOCK)
        return http.client.HTTPConnection(host, port, timeout=self.timeout, blocksize=_BLOCK)

    def _tls(self, verify: bool) -> ssl.SSLContext:
        """One TLS context per kind, made on first use. Loading the system CA
        store costs ~45 ms, so a context that verifies nothing (an insecure
        registry, tried over https first as docker does) does not load it."""
        ctx = self._contexts.get(verify)
        if ctx is None:
            if verify:
                ctx = ssl.create_default_context()
            else:
                ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
                ctx.check_hostname = False
                ctx.verify_mode = ssl.CERT_NONE
            self._contexts[verify] = ctx
        return ctx

    def _releaser(self, key: tuple[str, str, bool], conn: http.client.HTTPConnection) -> Any:
        def release(reusable: bool) -> None:
            if reusable:
                with self._lock:
                    self._idle.setdefault(key, []).append(conn)
            else:
                conn.close()
        return release

    def after_fork(self) -> None:
        """In a forked child: leave the parent's pooled connections (and lock) to the parent."""
        self._idle = {}
        self._lock = threading.Lock()

    def close(self) -> None:
        with self._lock:
            conns = [c for idle in self._idle.values() for c in idle]
            self._idle.clear()
        for conn in conns:
            conn.close()

    # -- requests ----------------------------------------------------------------

    def send(self, method: str, url: str, headers: Mapping[str, str] | None = None, body: Body = None,
             verify: bool = True) -> Response:
        """One attempt, no retries or redirects. Raises TransientError on connection trouble."""
        parts = urllib.parse.urlsplit(url)
        key = (parts.scheme, parts.netloc, verify)
        path = parts.path or "/"
        if parts.query:
            path += "?" + parts.query
        all_headers = {"User-Agent": USER_AGENT, **(headers or {})}
        if body is not None and "Content-Length" not in all_headers and isinstance(body, bytes):
            all_headers["Content-Length"] = str(len(body))
        elif body is None and method in ("POST", "PUT", "PATCH"):
            all_headers.setdefault("Content-Length", "0")
        for attempt in (0, 1):
            conn = self._connect(parts.scheme, parts.netloc, verify)
            reused = conn.sock is not None
            try:
                conn.request(method, path, body=body, headers=all_headers)
                raw = conn.getresponse()
            except ssl.SSLCertVerificationError as e:
                conn.close()
                raise RegistryError(f"{method} {url}: tls: certificate verify failed: {e.verify_message or e}"
                                    ) from None
            except (http.client.HTTPException, OSError) as e:
                conn.close()
                if reused and attempt == 0 and _rewindable(body):
                    _rewind(body)
                    continue  # a kept-alive connection the server had closed: not a real failure
                if isinstance(e, socket.gaierror):
                    raise RegistryError(f"{method} {url}: lookup {parts.hostname}: {e.strerror or e}") from None
                if isinstance(e, ssl.SSLError):
                    raise RegistryError(f"{method} {url}: tls: {e}") from None
                raise TransientError(f"{method} {url}: {e.strerror if isinstance(e, OSError) and e.strerror else e}"
                                     ) from None
            return Response(method, url, raw, self._releaser(key, conn))
        raise AssertionError("unreachable")

    def request(self, method: str, url: str, headers: Mapping[str, str] | None = None, body: Body = None,
                verify: bool = True, follow_redirects: bool = False, retry: bool = True) -> Response:
        """Send with retries (transient errors, 408/429/5xx) and, if asked, redirects."""
        attempts = (self.retries if retry and _rewindable(body) else 0) + 1
        start = body.tell() if body is not None and not isinstance(body, bytes) and _rewindable(body) else 0
        for attempt in range(attempts):
            if attempt:
                _rewind(body, start)
            try:
                resp = self._follow(method, url, dict(headers or {}), body, verify, follow_redirects)
            except TransientError as e:
                if attempt + 1 >= attempts:
                    raise
                self._sleep(attempt, None, e)
                continue
            if resp.status in RETRY_STATUSES and attempt + 1 < attempts:
                retry_after = resp.header("Retry-After")
                resp.close()
                self._sleep(attempt, retry_after, f"{method} {url}: {resp.status}")
                continue
            return resp
        raise AssertionError("unreachable")

    def _follow(self, method: str, url: str, headers: dict[str, str], body: Body, verify: bool,
                follow: bool) -> Response:
        origin = urllib.parse.urlsplit(url)[:2]
        for _ in range(MAX_REDIRECTS + 1):
            resp = self.send(method, url, headers, body, verify)
            if not follow or resp.status not in REDIRECT_STATUSES or not resp.header("Location"):
                return resp
            location = urllib.parse.urljoin(url, resp.header("Location") or "")
            resp.close()
            if urllib.parse.urlsplit(location)[:2] != origin:
                headers = {k: v for k, v in headers.items() if k.lower() != "authorization"}
            url = location
        raise RegistryError(f"{method} {url}: stopped after {MAX_REDIRECTS} redirects")

    def _sleep(self, attempt: int, retry_after: str | None, why: object) -> None:
        delay = self.backoff * (2 ** attempt)
        if retry_after and retry_after.strip().isdigit():
            delay = max(delay, min(float(retry_after), MAX_RETRY_AFTER))
        log.info("retrying in %.2fs after: %s", delay, why)
        time.sleep(delay)


def _rewindable(body: Body) -> bool:
    if body is None or isinstance(body, bytes):
        return True
    try:
        return bool(body.seekable())
    except (AttributeError, OSError):
        return False


def _rewind(body: Body, position: int = 0) -> None:
    if body is not None and not isinstance(body, bytes):
        body.seek(position)
