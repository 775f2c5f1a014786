"""A container's /etc/hosts: localhost, itself, and its peers on user networks.

Name resolution between containers is done with hosts entries rather
than an embedded DNS server: every libc (and busybox) reads /etc/hosts,
and nothing has to keep running. The price is that the file must be
rewritten when a peer joins or leaves a shared network; the file is
bind-mounted into the container as a single file, so it is rewritten in
place (a rename would leave the container looking at the old inode).
"""
from __future__ import annotations

import os
from typing import Iterable

from pyns.network.model import Attachment

# user network id -> (cid, ip, names) of each container on it
Members = dict[str, list[tuple[str, str, list[str]]]]

LOCALHOST = (
    "127.0.0.1\tlocalhost\n"
    "::1\tlocalhost ip6-localhost ip6-loopback\n"
    "fe00::0\tip6-localnet\n"
    "ff00::0\tip6-mcastprefix\n"
    "ff02::1\tip6-allnodes\n"
    "ff02::2\tip6-allrouters\n"
)


def _line(ip: str, names: list[str]) -> str:
    unique = list(dict.fromkeys(n for n in names if n))
    return f"{ip}\t{' '.join(unique)}\n" if unique else ""


def render(own: list[tuple[str, list[str]]], peers: list[tuple[str, list[str]]]) -> str:
    """The hosts text: localhost lines, own (ip, names) lines, then peers' (ip, names)."""
    return LOCALHOST + "".join(_line(ip, names) for ip, names in own + peers)


def members(everyone: Iterable[Attachment], user_networks: set[str]) -> Members:
    """Who is on each user-defined network, and by which names peers find them
    (container name, network aliases, short id — docker's DNS names)."""
    out: Members = {}
    for att in everyone:
        for e in att.endpoints:
            if e.network_id in user_networks:
                out.setdefault(e.network_id, []).append((att.cid, e.ip, [att.name, *e.aliases, att.cid[:12]]))
    return out


def for_attachment(att: Attachment, members: Members) -> str:
    """att's hosts text: its own addresses (hostname, name, aliases), then its peers."""
    own = [(e.ip, [att.hostname, att.name, *e.aliases]) for e in att.endpoints]
    peers = [(ip, names) for e in att.endpoints for cid, ip, names in members.get(e.network_id, ())
             if cid != att.cid]
    return render(own, peers)


def write_in_place(path: str, text: str) -> None:
    """Replace the content of path keeping its inode (it may be bind-mounted).

    Unchanged content is not written, and the file is truncated only when
    it shrinks: on ext4 a truncate costs more than the write itself, and a
    join rewrites the file of every peer.
    """
    data = text.encode()
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        size = os.fstat(fd).st_size
        if size == len(data) and os.pread(fd, size, 0) == data:
            return
        os.pwrite(fd, data, 0)
        if size > len(data):
            os.ftruncate(fd, len(data))
    finally:
        os.close(fd)
