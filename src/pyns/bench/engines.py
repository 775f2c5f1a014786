"""docker and podman, asked about themselves through their own clients.

A CLI engine is a client plus a daemon (docker) or a client that is the
engine (podman): whether it can run the benchmark's container here, and
what exactly ran, is only known by asking the client. Kept apart from
``peers`` (which drives the runs) so the questions can be tested with a
stand-in client, on machines without either engine.
"""
from __future__ import annotations

import json
import os
import subprocess
from typing import Any, Sequence

from pyns.bench.workspace import filesystem_of

CLI_ENGINES = ("docker", "podman")
PROBE_TIMEOUT = 15

#: Network modes a client accepts even when the daemon lacks the network: dockerd started
#: with --bridge=none runs `--network bridge` in a namespace holding only lo, so the peer
#: would skip the veth pyns makes. Such a mode needs the named network to exist.
NEEDS_NETWORK = {"docker": {"bridge": "bridge"}}

#: Where each engine keeps its images and containers (a Go template for `TOOL info`):
#: the root's filesystem moves create/remove times as much as the engine does.
STORAGE_TEMPLATE = {"docker": "{{.Driver}} {{.DockerRootDir}}",
                    "podman": "{{.Store.GraphDriverName}} {{.Store.GraphRoot}}"}


def _ask(binary: str, args: Sequence[str]) -> subprocess.CompletedProcess[str] | None:
    """binary args, captured; None when it does not answer in time or cannot be started."""
    try:
        return subprocess.run([binary, *args], capture_output=True, text=True, timeout=PROBE_TIMEOUT, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None


def unavailable(name: str, binary: str, network: str) -> str | None:
    """Why this installed client cannot run the benchmark's container (None: it can)."""
    info = _ask(binary, ["info"])
    if info is None:
        return "client installed, the daemon does not answer"
    if info.returncode != 0:
        return "client installed, no daemon answers"
    needed = NEEDS_NETWORK.get(name, {}).get(network)
    if needed:
        probe = _ask(binary, ["network", "inspect", needed])
        if probe is None or probe.returncode != 0:
            return (f"the daemon has no {needed!r} network (started with --bridge=none?): its --network "
                    f"{network} would run without a veth")
    return None


def versions(version_json: str) -> str:
    """'client X, engine Y (runc Z)' from `TOOL version --format '{{json .}}'` (what it lacks is left out)."""
    try:
        data: Any = json.loads(version_json)
    except ValueError:
        return "version unknown"
    if not isinstance(data, dict):
        return "version unknown"
    client = (data.get("Client") or {}).get("Version")
    server = data.get("Server") or {}
    parts = [f"client {client}"] if client else []
    if server.get("Version"):
        parts.append(f"engine {server['Version']}")
    runtimes = [f"{c['Name']} {c['Version']}" for c in server.get("Components") or []
                if c.get("Name") in ("runc", "crun") and c.get("Version")]
    text = ", ".join(parts) or "version unknown"
    return f"{text} ({', '.join(runtimes)})" if runtimes else text


def describe(name: str, binary: str) -> str:
    """The versions that ran and where they keep their storage: what a reader of the numbers needs."""
    out = _ask(binary, ["version", "--format", "{{json .}}"])
    text = versions(out.stdout) if out is not None and out.returncode == 0 else "version unknown"
    template = STORAGE_TEMPLATE.get(name)
    store = _ask(binary, ["info", "--format", template]) if template else None
    if store is not None and store.returncode == 0 and len(store.stdout.split()) == 2:
        driver, root = store.stdout.split()
        where = f"on {filesystem_of(root)}" if os.path.isabs(root) else ""
        text += f"; storage {driver} in {root} {where}".rstrip()
    return text
