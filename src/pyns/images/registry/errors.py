"""Turning a registry's error responses into one clear line.

Registries answer failures with ``{"errors": [{"code", "message", "detail"}]}``
(distribution spec); docker shows ``code: message`` pairs after its own
context (``manifest for x:latest not found: manifest unknown: ...``). The
same wording here lets users search for the message they know.
"""
from __future__ import annotations

import json
from typing import Any

from pyns.errors import RegistryError
from pyns.images.registry.transport import Response, TransientError


def error_details(body: bytes) -> str:
    """``code: message`` of each error in a distribution error body, else the text."""
    try:
        data: Any = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return body[:200].decode(errors="replace").strip()
    parts = []
    for err in (data.get("errors") if isinstance(data, dict) else None) or []:
        if isinstance(err, dict):
            code = str(err.get("code", "")).lower().replace("_", " ")
            message = str(err.get("message", ""))
            parts.append(f"{code}: {message}" if code and message and code != message else code or message)
    return "; ".join(p for p in parts if p) or body[:200].decode(errors="replace").strip()


def decode_json(body: bytes, what: str) -> dict[str, Any]:
    """A JSON object from a registry response, or a RegistryError naming ``what`` it was."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError) as e:
        raise RegistryError(f"invalid {what}: {e}") from None
    if not isinstance(data, dict):
        raise RegistryError(f"invalid {what}: not a JSON object")
    return data


def raise_for(resp: Response, context: str) -> None:
    """Raise a RegistryError describing a failed response (reads and closes it)."""
    try:
        details = error_details(resp.body(64 << 10))
    except RegistryError:
        details = ""
    message = f"{context}: {details}" if details else f"{context}: {resp.status} {resp.method} {resp.url}"
    if resp.status == 401:
        message = f"{context}: unauthorized: authentication required" + (f" ({details})" if details else "")
    elif resp.status == 403:
        message = f"{context}: denied: requested access to the resource is denied" + (
            f" ({details})" if details else "")
    if resp.status >= 500 or resp.status in (408, 429):
        raise TransientError(f"{message} (HTTP {resp.status})")
    raise RegistryError(message)
