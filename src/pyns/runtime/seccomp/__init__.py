"""Seccomp for containers: docker's profile format, docker's default, compiled BPF.

Every container gets pyns's default profile (``default.json``, equivalent
in effect to docker's: an allowlist, EPERM for the rest) unless
``--security-opt seccomp=unconfined`` or ``seccomp=PROFILE.json`` says
otherwise. The engine asks :func:`program_for` for the bytes to put in
``Spec.seccomp_bpf``; the C child installs them after the bounding set is
dropped and before execve.

Modules: ``profile`` (JSON -> model, validation), ``effective`` (the rules
that apply for a capability set on this host), ``compile`` + ``libseccomp``
(BPF through libseccomp; why there), ``cache`` (memory + disk) and
``context`` (host arch, kernel, capability spelling). Only ``cache`` and
``context`` are imported on a start that finds its program cached: the
others cost tens of milliseconds to import and load, and are imported when
something must actually be parsed or compiled.
"""
from __future__ import annotations

import json
import os
from functools import lru_cache

from pyns.errors import InvalidArgument, PynsError
from pyns.runtime.seccomp import cache
from pyns.runtime.seccomp.context import Host

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (see pyns/__init__.py)
if TYPE_CHECKING:
    from pyns.runtime.seccomp.libseccomp import Library
    from pyns.runtime.seccomp.profile import Profile

UNCONFINED = "unconfined"
DEFAULT_PROFILE_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "default.json")


@lru_cache(maxsize=1)
def _default_text() -> bytes:
    try:
        with open(DEFAULT_PROFILE_PATH, "rb") as f:
            return f.read()
    except OSError as e:
        raise PynsError(f"pyns's default seccomp profile is missing ({e}): reinstall pyns (pip install .)") from None


def default_profile() -> Profile:
    """pyns's default profile, parsed."""
    from pyns.runtime.seccomp.profile import parse

    return parse(_default_text())


def load_profile_text(profile: str | None) -> bytes:
    """None -> the default profile; JSON text (as docker stores it in HostConfig) -> itself; else a path."""
    if profile is None:
        return _default_text()
    if profile.lstrip().startswith("{"):
        return profile.encode()
    try:
        with open(profile, "rb") as f:
            return f.read()
    except OSError as e:
        raise InvalidArgument(f"opening seccomp profile ({profile}) failed: {e.strerror or e}") from None


def profile_option(value: str) -> str:
    """What ``--security-opt seccomp=VALUE`` stores in HostConfig.SecurityOpt (after ``seccomp=``).

    Like docker's CLI: ``unconfined`` stays, a file is read and stored as
    compact JSON, so the container keeps its profile if the file changes or
    goes. Validated now, so a bad profile fails ``create`` rather than ``start``.
    """
    if value == UNCONFINED:
        return value
    from pyns.runtime.seccomp.profile import parse

    text = load_profile_text(value)
    parse(text)
    return json.dumps(json.loads(text), separators=(",", ":"))


def compile_profile(profile: Profile, capabilities: frozenset[str], host: Host | None = None,
                    lib: Library | None = None) -> bytes | None:
    """Resolve and compile, no cache (None for a profile that disables seccomp)."""
    if profile.disabled:
        return None
    from pyns.runtime.seccomp.compile import compile_program
    from pyns.runtime.seccomp.effective import resolve

    return compile_program(resolve(profile, capabilities, host), lib)


def program_for(root: str, profile: str | None, capabilities: frozenset[str]) -> bytes | None:
    """The BPF program for a container, or None when it runs unconfined.

    profile: None for the default, ``"unconfined"``, a path to a JSON file,
    or the JSON text itself. capabilities: the container's capability
    (bounding) set, in pyns's or docker's spelling; docker's includes and
    excludes are evaluated against it. Raises InvalidArgument for a
    profile that cannot be read or is not a valid profile.
    """
    if profile == UNCONFINED:
        return None
    text = load_profile_text(profile)
    host = Host.current()
    k = cache.key(text, capabilities, host)
    program = cache.get(root, k)
    if program is not None:
        return program
    from pyns.runtime.seccomp.libseccomp import load
    from pyns.runtime.seccomp.profile import parse

    parsed = parse(text)
    if parsed.disabled:
        return None
    lib = load()
    program = compile_profile(parsed, capabilities, host, lib)
    if program is not None:
        cache.put(root, k, program, cache.library_stamp(lib.version, lib.path))
    return program
