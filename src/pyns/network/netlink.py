"""Bridges, veth pairs, addresses and routes — through netlink, never by running ``ip``.

Two measured facts shape it: creating a veth pair costs ~2 ms but moving
a link into another namespace waits for an RCU grace period (~20 ms), so
the container's end is created directly inside its namespace
(IFLA_NET_NS_FD on the peer); and deleting a veth costs ~20-30 ms, so that
happens only in teardown. Configuring the inside end needs a netlink
socket in the container's namespace: ``netns.create`` opens one while its
thread is inside the new namespace (a socket stays in the namespace it was
created in); for a namespace made earlier this thread enters it with
setns(2) just long enough to open one, so no helper process is needed.
The inside requests go out in two batches (``Rtnl.batch``).
"""
from __future__ import annotations

import contextlib
import ctypes
import errno
import ipaddress
import os
from typing import Iterator

from pyns.errors import PynsError
from pyns.network import rtnl as rt
from pyns.network.rtnl import NetlinkError, Rtnl

CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(None, use_errno=True)


def _setns(fd: int) -> None:
    if _libc.setns(fd, CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"setns: {os.strerror(err)}")


@contextlib.contextmanager
def _failures(what: str) -> Iterator[None]:
    """Netlink errors become PynsError saying what was being done."""
    try:
        yield
    except NetlinkError as e:
        raise PynsError(f"{what}: {e.strerror}") from e


class Netlink:
    """A netlink connection to the host's namespace, opened on first use."""

    def __init__(self) -> None:
        self._rtnl: Rtnl | None = None
        self._bridges: dict[str, int] = {}  # bridges known up in this process -> index

    @property
    def host(self) -> Rtnl:
        if self._rtnl is None:
            self._rtnl = Rtnl()
        return self._rtnl

    def close(self) -> None:
        if self._rtnl is not None:
            self._rtnl.close()
            self._rtnl = None

    def routes(self) -> list[ipaddress.IPv4Network]:
        """Destinations of every IPv4 route of the host, in all tables, except default routes."""
        return [ipaddress.IPv4Network(f"{dst}/{plen}", strict=False) for dst, plen in self.host.route_destinations()]

    def ensure_bridge(self, name: str, gateway: str, prefixlen: int) -> int:
        """Bridge name, up, with address gateway/prefixlen; created if missing. Its index."""
        with _failures(f"create bridge {name}"):
            found = self.host.link(name)
            if found is None:
                self.host.add_bridge(name)
                found = self.host.link(name)
                if found is None:
                    raise PynsError(f"bridge {name} vanished after its creation")
            idx, flags = found
            if not flags & rt.IFF_UP:
                self.host.set_up(idx)
            self.host.add_address(idx, gateway, prefixlen)
        self._bridges[name] = idx
        return idx

    def delete_link(self, name: str) -> bool:
        """Delete a link (a bridge, or a veth and its peer); False if it did not exist."""
        self._bridges.pop(name, None)
        with _failures(f"delete link {name}"):
            return self.host.delete_link(name)

    def add_veth(self, host_name: str, bridge: str, netns_path: str, ifname: str, mac: str) -> None:
        """A veth pair: host_name on bridge (up), ifname with mac inside the namespace (down)."""
        master = self._bridges.get(bridge) or self.host.link_index(bridge)
        if master is None:
            raise PynsError(f"bridge {bridge} does not exist")
        fd = os.open(netns_path, os.O_RDONLY | os.O_CLOEXEC)
        try:
            with _failures(f"create veth {host_name}"):
                try:
                    self.host.add_veth(host_name, master, ifname, fd, mac)
                except NetlinkError as e:
                    if e.errno != errno.EEXIST:
                        raise
                    # The same container's previous veth, still waiting for the
                    # kernel to destroy its old namespace (teardown is lazy):
                    # delete it now and make the new one.
                    self.host.delete_link(host_name)
                    self.host.add_veth(host_name, master, ifname, fd, mac)
        finally:
            os.close(fd)


@contextlib.contextmanager
def inside(netns_path: str) -> Iterator[Rtnl]:
    """A netlink connection to the namespace at netns_path."""
    own = os.open("/proc/thread-self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
    target = os.open(netns_path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        _setns(target)
        try:
            rtnl = Rtnl()
        finally:
            _setns(own)  # if this fails the thread stays in the container's namespace: let it raise
    finally:
        os.close(target)
        os.close(own)
    with rtnl:
        yield rtnl


def configure_inside(netns_path: str, addresses: list[tuple[str, str, int]], gateway: str | None,
                     rtnl: Rtnl | None = None) -> None:
    """Inside the namespace: lo up, each (ifname, ip, prefixlen) addressed and
    up, then the default route via gateway (if any). rtnl: a connection
    already inside it (left open), else one is opened for the call."""
    if rtnl is None:
        with inside(netns_path) as own:
            configure_inside(netns_path, addresses, gateway, own)
        return
    with _failures("configure the container's interfaces"):
        first = rtnl.batch([(rt.RTM_NEWLINK, 0, rt.ifinfo(1, up=True))]  # lo is index 1 in every namespace
                           + [(rt.RTM_GETLINK, 0, rt.get_link(ifname)) for ifname, _, _ in addresses])
        _raise_first(first[:1])
        second: list[tuple[int, int, bytes]] = []
        for (ifname, ip, prefixlen), found in zip(addresses, first[1:]):
            if isinstance(found, NetlinkError) or not found:
                raise PynsError(f"interface {ifname} is missing in {netns_path}")
            idx = rt.link_of(found[0])[0]
            second += [(rt.RTM_NEWADDR, rt.NLM_F_CREATE | rt.NLM_F_EXCL, rt.address(idx, ip, prefixlen)),
                       (rt.RTM_NEWLINK, 0, rt.ifinfo(idx, up=True))]
        if gateway:
            second.append((rt.RTM_NEWROUTE, rt.NLM_F_CREATE | rt.NLM_F_REPLACE, rt.default_route(gateway)))
        if second:
            _raise_first([a for a, (kind, _, _) in zip(rtnl.batch(second), second)
                          if not (kind == rt.RTM_NEWADDR and isinstance(a, NetlinkError) and a.errno == errno.EEXIST)])


def _raise_first(answers: list[list[bytes] | NetlinkError]) -> None:
    """The first refusal among a batch's answers, raised."""
    for answer in answers:
        if isinstance(answer, NetlinkError):
            raise answer
