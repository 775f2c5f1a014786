"""Registry client: configuration, authentication, HTTP transport and the v2 API.

The puller and pusher (``pyns.images.pull``/``push``) build on
:class:`RegistryClient`; endpoints.py decides which hosts to talk to.
"""
from __future__ import annotations

from pyns.images.registry.client import RegistryClient
from pyns.images.registry.config import Credentials, RegistryConfig

__all__ = ["Credentials", "RegistryClient", "RegistryConfig"]
