"""On-disk state of the network layer, under ``<root>/network/``.

Layout::

    networks/<id>.json     one Network record per network
    endpoints/<cid>.json   one Attachment per container with a network namespace
    allocations.json       what containers hold, one file so that one write commits it:
                           {"ipam": {network-id: {"last": ip, "addresses": {ip: cid}}},
                            "ports": {"tcp/0.0.0.0/8080": cid}}

Every file is replaced atomically (temp + rename) and every
read-modify-write happens under one flock, ``<run_root>/locks/network.lock``:
network state is small and changes in milliseconds, so one lock keeps
allocation obviously race-free (no duplicate address or port under
concurrent ``run``s) at no measurable cost.
"""
from __future__ import annotations

import os
from typing import Any, Iterator

from pyns import fsutil
from pyns.network.model import Attachment, Network


class NetworkStore:
    def __init__(self, root: str, run_root: str) -> None:
        self.base = os.path.join(root, "network")
        self.lock_path = os.path.join(run_root, "locks", "network.lock")
        for sub in ("networks", "endpoints"):
            os.makedirs(os.path.join(self.base, sub), mode=0o700, exist_ok=True)

    def lock(self) -> fsutil.FileLock:
        """The one lock every mutation of network state (and of pyns's firewall rules) takes."""
        return fsutil.FileLock(self.lock_path)

    def _path(self, *parts: str) -> str:
        return os.path.join(self.base, *parts)

    # networks ----------------------------------------------------------
    def _records(self, kind: str) -> Iterator[dict[str, Any]]:
        """Every record of a kind (networks, endpoints), in name order."""
        for name in sorted(os.listdir(self._path(kind))):
            if name.endswith(".json") and not name.startswith("."):
                data = fsutil.read_json(self._path(kind, name), None)
                if data:
                    yield data

    def _unlink(self, kind: str, key: str) -> None:
        try:
            os.unlink(self._path(kind, f"{key}.json"))
        except FileNotFoundError:
            pass

    def networks(self) -> list[Network]:
        return [Network.from_dict(data) for data in self._records("networks")]

    def save_network(self, net: Network) -> None:
        fsutil.atomic_write_json(self._path("networks", f"{net.id}.json"), net.to_dict())

    def delete_network(self, net_id: str) -> None:
        self._unlink("networks", net_id)

    # endpoints ---------------------------------------------------------
    def attachment(self, cid: str) -> Attachment | None:
        data = fsutil.read_json(self._path("endpoints", f"{cid}.json"), None)
        return Attachment.from_dict(data) if data else None

    def attachments(self) -> Iterator[Attachment]:
        return (Attachment.from_dict(data) for data in self._records("endpoints"))

    def save_attachment(self, att: Attachment) -> None:
        fsutil.atomic_write_json(self._path("endpoints", f"{att.cid}.json"), att.to_dict())

    def delete_attachment(self, cid: str) -> None:
        self._unlink("endpoints", cid)

    # allocations -------------------------------------------------------
    def allocations(self) -> dict[str, Any]:
        data = fsutil.read_json(self._path("allocations.json"), None) or {}
        data.setdefault("ipam", {})
        data.setdefault("ports", {})
        return data

    def save_allocations(self, data: dict[str, Any]) -> None:
        fsutil.atomic_write_json(self._path("allocations.json"), data)
