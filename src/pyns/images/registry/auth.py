"""Registry authentication: challenges, bearer tokens, basic credentials.

A registry answers an unauthenticated request with ``401`` and a
``WWW-Authenticate`` challenge. ``Basic`` means "send credentials with
every request"; ``Bearer realm=...,service=...,scope=...`` means "get a
token for these scopes from the realm (anonymously or with Basic
credentials) and send it". Tokens are cached per scope set until they
expire, so a pull asks the token server once, not once per layer.
"""
from __future__ import annotations

import base64
import json
import re
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterable
from typing import Any

from pyns.errors import RegistryError
from pyns.images.registry.config import Credentials
from pyns.records import field, record

_ITEM_RE = re.compile(r'(?:[^,"]|"(?:[^"\\]|\\.)*")+')
_PARAM_RE = re.compile(r'([A-Za-z][A-Za-z0-9_-]*)\s*=\s*("(?:[^"\\]|\\.)*"|\S*)$')
_SCHEME_RE = re.compile(r"([A-Za-z][A-Za-z0-9_-]*)(?:\s+|$)")
_MIN_TOKEN_LIFETIME = 60


@record(frozen=True)
class Challenge:
    """One parsed ``WWW-Authenticate`` challenge (scheme lower-cased)."""

    scheme: str
    params: dict[str, str] = field(default_factory=dict, hash=False)

    @property
    def scopes(self) -> tuple[str, ...]:
        return tuple(self.params.get("scope", "").split()) if self.params.get("scope") else ()


def parse_challenges(header: str) -> list[Challenge]:
    """Parse ``Bearer realm="x",service="y", Basic realm="z"`` into challenges.

    Items are comma-separated (commas inside quotes do not count); an item
    that starts with a bare word not followed by ``=`` opens a new challenge.
    """
    challenges: list[Challenge] = []
    for item in _ITEM_RE.findall(header):
        item = item.strip()
        if not _PARAM_RE.match(item):
            scheme = _SCHEME_RE.match(item)
            if scheme is None:
                continue
            challenges.append(Challenge(scheme.group(1).lower(), {}))
            item = item[scheme.end():].strip()
        param = _PARAM_RE.match(item)
        if param is not None and challenges:
            value = param.group(2)
            if value.startswith('"') and value.endswith('"') and len(value) >= 2:
                value = re.sub(r"\\(.)", r"\1", value[1:-1])
            challenges[-1].params[param.group(1).lower()] = value
    return challenges


def repository_scope(repository: str, actions: Iterable[str]) -> str:
    """``repository:<path>:pull,push`` as token servers expect it."""
    return f"repository:{repository}:{','.join(actions)}"


def basic_header(creds: Credentials) -> str:
    return "Basic " + base64.b64encode(f"{creds.username}:{creds.password}".encode()).decode()


Fetch = Callable[[str, dict[str, str]], tuple[int, dict[str, str], bytes]]


class Authenticator:
    """Turns challenges into ``Authorization`` headers for one registry host.

    ``fetch(url, headers) -> (status, headers, body)`` performs the token
    request (the transport supplies it, so TLS and retries are shared).
    Thread-safe: concurrent layer downloads share one token.
    """

    def __init__(self, host: str, credentials: Credentials | None, fetch: Fetch) -> None:
        self.host = host
        self.credentials = credentials
        self._fetch = fetch
        self._challenge: Challenge | None = None
        self._tokens: dict[tuple[str, ...], tuple[str, float]] = {}
        self._lock = threading.Lock()

    @property
    def challenge(self) -> Challenge | None:
        return self._challenge

    def learn(self, header: str | None) -> Challenge | None:
        """Remember the registry's challenge from a 401; returns the one pyns can answer."""
        if not header:
            return None
        for ch in parse_challenges(header):
            if ch.scheme == "bearer" and ch.params.get("realm"):
                self._challenge = ch
                return ch
        for ch in parse_challenges(header):
            if ch.scheme == "basic":
                self._challenge = ch
                return ch
        return None

    def header(self, scopes: tuple[str, ...]) -> str | None:
        """The Authorization value for a request needing ``scopes``, or None (anonymous)."""
        ch = self._challenge
        if ch is None:
            return None
        if ch.scheme == "basic":
            return basic_header(self.credentials) if self.credentials else None
        key = tuple(sorted(set(scopes)))
        with self._lock:
            cached = self._tokens.get(key)
            if cached and cached[1] > time.monotonic():
                return f"Bearer {cached[0]}"
            token, lifetime = self._request_token(ch, key)
            self._tokens[key] = (token, time.monotonic() + max(lifetime, _MIN_TOKEN_LIFETIME) - 10)
        return f"Bearer {token}"

    def forget(self, scopes: tuple[str, ...]) -> None:
        """Drop a token the registry refused, so the next request fetches a fresh one."""
        with self._lock:
            self._tokens.pop(tuple(sorted(set(scopes))), None)

    def _request_token(self, ch: Challenge, scopes: tuple[str, ...]) -> tuple[str, int]:
        query: list[tuple[str, str]] = []
        if ch.params.get("service"):
            query.append(("service", ch.params["service"]))
        query += [("scope", s) for s in scopes]
        if self.credentials:
            query.append(("account", self.credentials.username))
        realm = ch.params["realm"]
        url = realm + ("&" if "?" in realm else "?") + urllib.parse.urlencode(query) if query else realm
        headers = {"Authorization": basic_header(self.credentials)} if self.credentials else {}
        status, _, body = self._fetch(url, headers)
        if status in (401, 403):
            who = "incorrect username or password" if self.credentials else "authentication required"
            raise RegistryError(f"unauthorized: {who} (token server {realm} answered {status})")
        if status != 200:
            raise RegistryError(f"token server {realm} answered {status}: {body[:200].decode(errors='replace')}")
        try:
            data: Any = json.loads(body)
            token = data.get("token") or data.get("access_token")
        except (ValueError, AttributeError):
            token = None
        if not isinstance(token, str) or not token:
            raise RegistryError(f"token server {realm} returned no token")
        lifetime = data.get("expires_in")
        return token, int(lifetime) if isinstance(lifetime, int) and lifetime > 0 else _MIN_TOKEN_LIFETIME
