"""``docker login`` / ``logout``: check credentials against a registry, then store them.

Credentials are verified before they are saved, the way docker does it:
for a token registry by asking the token server for a token (a wrong
password is a 401 there), for a Basic registry by ``GET /v2/`` with them.
"""
from __future__ import annotations

from pyns.errors import RegistryError
from pyns.images.reference import DEFAULT_DOMAIN
from pyns.images.registry.client import RegistryClient
from pyns.images.registry.config import Credentials, RegistryConfig, auth_key
from pyns.images.registry.endpoints import registry_host
from pyns.images.registry.errors import raise_for


def normalize_server(server: str | None) -> str:
    """The registry domain a login applies to (Docker Hub's aliases map to docker.io)."""
    if not server:
        return DEFAULT_DOMAIN
    server = server.removeprefix("https://").removeprefix("http://").rstrip("/")
    server = server.removesuffix("/v1").removesuffix("/v2")
    return DEFAULT_DOMAIN if server in ("index.docker.io", "registry-1.docker.io") else server


def login(config: RegistryConfig, server: str | None, username: str, password: str) -> str:
    """Verify and store credentials; returns docker's ``Login Succeeded``."""
    domain = normalize_server(server)
    if not username or not password:
        raise RegistryError("Error: Cannot perform an interactive login from a non TTY device"
                            if not username else "password is required")
    creds = Credentials(username, password)
    client = RegistryClient(registry_host(domain), config, creds, name=domain)
    try:
        client.ping()
        challenge = client.auth.challenge
        if challenge is not None and challenge.scheme == "bearer":
            client.auth.header(())
        elif challenge is not None:
            with client.request("GET", "/v2/", ()) as resp:
                if resp.status != 200:
                    raise_for(resp, f"login to {domain}")
                resp.body(64 << 10)
    finally:
        client.close()
    config.save_credentials(domain, creds)
    return "Login Succeeded"


def logout(config: RegistryConfig, server: str | None) -> str:
    domain = normalize_server(server)
    shown = auth_key(domain)
    if not config.remove_credentials(domain):
        return f"Not logged in to {shown}"
    return f"Removing login credentials for {shown}"
