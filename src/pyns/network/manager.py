"""NetworkManager: the network layer's one entry point for the engine.

Networks (create/get/list/remove/prune) and, per container, an
*attachment*: a network namespace file, one veth endpoint per network,
published ports and hosts entries.

Crash safety follows the design's rule, "recorded before created": under
the network lock ``setup`` writes the attachment (with its addresses,
veth names and ports) before any kernel object exists, so ``teardown``
can always remove whatever a killed CLI or monitor left, and it only
needs the container id. Kernel work that is slow (namespace and veth
creation ~1 ms each, veth deletion ~20 ms) happens outside the lock, so
concurrent ``run``s only serialise on the state updates.

A start takes the lock once and a stop once (unless veths must be deleted
by hand), each reading the network records at most once: a container only
on the default bridge has no peers to name, so its hosts file is written
without reading anyone else's record.
"""
from __future__ import annotations

import hashlib
import os
import secrets
from typing import Iterable

from pyns.errors import Conflict, InvalidArgument, NetworkNotFound, PynsError
from pyns.network import bridge, hosts, ipam, netlink, netns, ports as ports_mod, settings
from pyns.network.firewall import Firewall, container_tag, for_root
from pyns.network.firewall.rules import CONTAINER_CHAIN, NETWORK_MARKER_CHAIN, Forward, forward_rules
from pyns.network.model import DEFAULT_NETWORK, PREDEFINED, Attachment, Endpoint, Network
from pyns.network.registry import Registry
from pyns.network.store import NetworkStore
from pyns.options.ports import PortBinding


def host_ifname(cid: str, net_id: str) -> str:
    """The host end of a container's veth on a network: derived, so teardown
    finds it from the ids alone (15 characters at most, the kernel's limit)."""
    return "pv" + hashlib.sha256(f"{cid}/{net_id}".encode()).hexdigest()[:12]


class NetworkManager:
    def __init__(self, root: str, run_root: str) -> None:
        self.root = os.path.abspath(root)
        self.run_root = os.path.abspath(run_root)
        self.store = NetworkStore(self.root, self.run_root)
        self.netns_dir = os.path.join(self.run_root, "netns")
        self._netlink: netlink.Netlink | None = None
        self._firewall: Firewall | None = None
        self.registry = Registry(self.store, lambda: self.netlink.routes())

    @property
    def netlink(self) -> netlink.Netlink:
        if self._netlink is None:
            self._netlink = netlink.Netlink()
        return self._netlink

    @property
    def firewall(self) -> Firewall:
        if self._firewall is None:
            self._firewall = for_root(self.root)
        return self._firewall

    def close(self) -> None:
        if self._netlink is not None:
            self._netlink.close()
            self._netlink = None

    def netns_path(self, cid: str) -> str:
        return os.path.join(self.netns_dir, cid)

    # ------------------------------------------------------------ networks
    def create(self, name: str, subnet: str | None = None, gateway: str | None = None,
               internal: bool = False, labels: dict[str, str] | None = None) -> Network:
        """A user-defined bridge network (its bridge appears at first use)."""
        with self.store.lock():
            return self.registry.add_bridge(name, subnet, gateway, internal, labels)

    def get(self, name_or_id: str) -> Network:
        return self.registry.find(name_or_id)

    def networks(self) -> list[Network]:
        """All networks, pre-defined ones included (once ensure_default made them)."""
        return self.store.networks()

    def ensure_default(self, subnet: str | None = None) -> Network:
        """The "bridge" network (and the "host"/"none" records), created once.

        Its subnet is subnet, else $PYNS_BRIDGE_SUBNET, else the first of
        docker's pools that no host route overlaps; its device is
        $PYNS_BRIDGE or pyns0.
        """
        with self.store.lock():
            return self.registry.ensure_default(subnet)

    def _users(self, net: Network) -> list[Attachment]:
        return [a for a in self.store.attachments() if a.endpoint_on(net.id)]

    def remove(self, name_or_id: str) -> None:
        """Delete a network; Conflict while a container is attached or for pre-defined ones."""
        with self.store.lock():
            net = self.registry.find(name_or_id)
            self.registry.check_removable(net)
            users = self._users(net)
            if users:
                names = ", ".join(f'name:"{a.name}" id:"{a.cid[:12]}"' for a in users)
                raise Conflict(f"error while removing network: network {net.name} has active endpoints ({names})")
            if net.is_bridge:
                bridge.bring_down(net, self.netlink, self.firewall)
            alloc = self.store.allocations()
            if alloc["ipam"].pop(net.id, None) is not None:
                self.store.save_allocations(alloc)
            self.store.delete_network(net.id)
            if not any(n.is_bridge for n in self.store.networks()):
                self.firewall.destroy()

    def prune(self) -> list[str]:
        """Remove every user-defined network without endpoints; their names."""
        removed = []
        for net in self.store.networks():
            if net.name in PREDEFINED:
                continue
            try:
                self.remove(net.id)
                removed.append(net.name)
            except (Conflict, NetworkNotFound):
                continue
        return removed

    def inspect_network(self, name_or_id: str) -> dict:
        """``network inspect``'s object (docker's shape)."""
        return settings.network_inspect(self.get(name_or_id), self.store.attachments())

    # ---------------------------------------------------------- containers
    def attachment(self, cid: str) -> Attachment | None:
        return self.store.attachment(cid)

    def _resolve(self, networks: list[tuple[str, list[str]]]) -> list[tuple[Network, list[str]]]:
        """The networks to join, from one reading of the records (lock held);
        the pre-defined ones are made on first use of "bridge"."""
        if not networks:
            return []
        nets = self.store.networks()
        if any(ref == DEFAULT_NETWORK for ref, _ in networks) and not set(PREDEFINED) <= {n.name for n in nets}:
            self.registry.ensure_default()
            nets = self.store.networks()
        out: list[tuple[Network, list[str]]] = []
        for ref, aliases in networks:
            net = self.registry.find(ref, nets)
            if not net.is_bridge:
                raise InvalidArgument(f"container cannot be connected to network {net.name} (driver {net.driver})")
            if any(n.id == net.id for n, _ in out):
                raise InvalidArgument(f"container is connected to network {net.name} twice")
            if aliases and not net.user_defined:
                raise InvalidArgument("network-scoped aliases are only supported for user-defined networks")
            out.append((net, list(aliases)))
        return out

    def _new_endpoint(self, alloc: dict, cid: str, net: Network, aliases: list[str], index: int) -> Endpoint:
        ip = ipam.allocate(alloc["ipam"].setdefault(net.id, {}), net.subnet, net.gateway, cid)
        return Endpoint(network=net.name, network_id=net.id, endpoint_id=secrets.token_hex(32),
                        ifname=f"eth{index}", host_ifname=host_ifname(cid, net.id), ip=ip,
                        prefixlen=net.prefixlen, gateway=net.gateway, mac=ipam.mac_for(ip), aliases=aliases)

    def setup(self, cid: str, name: str, networks: list[tuple[str, list[str]]], ports: list[PortBinding],
              hostname: str, hosts_path: str | None = None) -> Attachment:
        """Give a container its network namespace and endpoints; see the module docstring.

        networks: (network name or id, aliases) in order; the first one gets
        the default route and the published ports; "bridge" is created on
        first use; an empty list gives a namespace with only lo. ports: from
        pyns.options.parse_port; random host ports are resolved in the
        result. hosts_path: the container's hosts file, written now and
        rewritten as peers come and go. On any failure everything is rolled
        back (Conflict for a host port that is taken).
        """
        if self.store.has_attachment(cid) or os.path.lexists(self.netns_path(cid)):
            self.teardown(cid)  # left by a crash, or a start after an unclean stop
        if ports and not networks:
            raise InvalidArgument("published ports need a network")
        try:
            with self.store.lock():
                att, bridges = self._record(cid, name, networks, ports, hostname, hosts_path)
            inside = netns.create(att.netns_path)
            try:
                for ep in att.endpoints:
                    self.netlink.add_veth(ep.host_ifname, bridges[ep.network_id], att.netns_path, ep.ifname, ep.mac)
                primary = att.primary
                netlink.configure_inside(att.netns_path, [(e.ifname, e.ip, e.prefixlen) for e in att.endpoints],
                                         primary.gateway if primary else None, inside)
            finally:
                inside.close()
        except BaseException:
            self.teardown(cid)
            raise
        return att

    def _record(self, cid: str, name: str, networks: list[tuple[str, list[str]]], ports: list[PortBinding],
                hostname: str, hosts_path: str | None) -> tuple[Attachment, dict[str, str]]:
        """setup's part under the lock: networks up, addresses and host ports
        allocated, the attachment recorded, then its port rules and hosts files
        written. The attachment, and each network's bridge by network id."""
        resolved = self._resolve(networks)
        installed = self.firewall.tags(NETWORK_MARKER_CHAIN) if resolved else set()
        for net, _ in resolved:
            bridge.ensure_up(net, self.netlink, self.firewall, installed)
        alloc = self.store.allocations()
        published = ports_mod.publish(ports, alloc["ports"], cid)  # Conflict: nothing saved yet
        endpoints = [self._new_endpoint(alloc, cid, net, aliases, i) for i, (net, aliases) in enumerate(resolved)]
        att = Attachment(cid=cid, name=name, hostname=hostname, netns_path=self.netns_path(cid),
                         endpoints=endpoints, ports=published, hosts_path=hosts_path)
        self.store.save_attachment(att)  # recorded before anything is created
        self.store.save_allocations(alloc)
        if att.ports:
            self._install_forwards(att, replace=False)
        if _on_user_network(att):
            self._refresh_hosts(_user_network_ids(att), also=cid)
        elif hosts_path:  # only the default bridge: no peer is named, nobody else's file changes
            _write_hosts(hosts_path, hosts.for_attachment(att, {}))
        return att, {net.id: net.bridge for net, _ in resolved}

    def _install_forwards(self, att: Attachment, replace: bool = True) -> None:
        """DNAT the container's published ports to its primary address (lock held)."""
        if replace:
            self.firewall.remove(container_tag(att.cid), CONTAINER_CHAIN)
        primary = att.primary
        if primary and att.ports:
            fwd = [Forward(p.proto, p.host_ip, p.host_port or 0, primary.ip, p.container_port) for p in att.ports]
            self.firewall.add(container_tag(att.cid), forward_rules(fwd))

    def teardown(self, cid: str, wait: bool = False) -> None:
        """Remove everything setup made for cid: rules, veths, namespace file,
        addresses, ports, record. Idempotent; safe after a crash at any point.

        Once the container's processes are gone, dropping the namespace file
        lets the kernel destroy the namespace, and with it both ends of every
        veth, in its own worker: deleting a veth ourselves costs ~30 ms of
        RCU waiting on the caller's clock. So the veths are deleted here only
        when there is no namespace file left to drop (a crash between the two
        steps of setup), or when ``wait`` asks for them to be gone on return;
        only then is the lock let go in between. Addresses are handed out
        round-robin, so a freed one is not reused before the kernel has
        finished.
        """
        if not self.store.has_attachment(cid) and not os.path.lexists(self.netns_path(cid)):
            # setup records the attachment (under the lock, with the
            # allocations) before anything exists: no record, nothing held.
            return
        with self.store.lock():
            att = self.store.attachment(cid)
            if att is not None and att.ports:
                self.firewall.remove(container_tag(cid), CONTAINER_CHAIN)
            had_namespace = netns.delete(self.netns_path(cid))
            stale = [e.host_ifname for e in att.endpoints] if att and (wait or not had_namespace) else []
            if not stale:
                self._forget(cid, att)
                return
        for name in stale:
            self.netlink.delete_link(name)
        with self.store.lock():
            self._forget(cid, self.store.attachment(cid))

    def _forget(self, cid: str, att: Attachment | None) -> None:
        """Free what cid holds, drop its record, and update its peers' hosts files (lock held)."""
        alloc = self.store.allocations()
        if self._release(alloc, cid):
            self.store.save_allocations(alloc)
        self.store.delete_attachment(cid)
        if att is not None and _on_user_network(att):
            self._refresh_hosts(_user_network_ids(att))

    @staticmethod
    def _release(alloc: dict, cid: str) -> bool:
        """Free cid's addresses on every network and its host ports; True if it held any.

        Every network, not only the recorded endpoints': whatever the
        allocation file says cid holds is released, whatever the crash.
        """
        held = ports_mod.release(alloc["ports"], cid)
        for record in alloc["ipam"].values():
            held = bool(ipam.release(record, cid)) or held
        return held

    def cleanup(self, keep: Iterable[str]) -> list[str]:
        """Tear down what containers not in keep hold (attachments, namespace
        files, addresses, ports): for ``system prune`` and the engine's reconcile."""
        keep = set(keep)
        cids = {a.cid for a in self.store.attachments()}
        if os.path.isdir(self.netns_dir):
            cids |= {n for n in os.listdir(self.netns_dir) if not n.startswith(".")}
        alloc = self.store.allocations()
        cids |= set(alloc["ports"].values())
        for record in alloc["ipam"].values():
            cids |= ipam.owners(record)
        doomed = sorted(cids - keep)
        for cid in doomed:
            self.teardown(cid)
        return doomed

    # ----------------------------------------------------- connect/disconnect
    def _running_attachment(self, cid: str) -> Attachment:
        att = self.store.attachment(cid)
        if att is None or not os.path.exists(att.netns_path):
            raise Conflict(f"container {cid[:12]} is not running")
        return att

    def connect(self, cid: str, network: str, aliases: Iterable[str] = ()) -> Endpoint:
        """Add an endpoint on network to a running container (its namespace exists)."""
        with self.store.lock():
            att = self._running_attachment(cid)
            (net, alias_list), = self._resolve([(network, list(aliases))])
            if att.endpoint_on(net.id):
                raise Conflict(f"endpoint with name {att.name} already exists in network {net.name}")
            bridge.ensure_up(net, self.netlink, self.firewall, self.firewall.tags(NETWORK_MARKER_CHAIN))
            used = {e.ifname for e in att.endpoints}
            index = next(i for i in range(len(used) + 1) if f"eth{i}" not in used)
            alloc = self.store.allocations()
            ep = self._new_endpoint(alloc, cid, net, alias_list, index)
            att.endpoints.append(ep)
            self.store.save_attachment(att)
            self.store.save_allocations(alloc)
        try:
            self.netlink.add_veth(ep.host_ifname, net.bridge, att.netns_path, ep.ifname, ep.mac)
            only = len(att.endpoints) == 1
            netlink.configure_inside(att.netns_path, [(ep.ifname, ep.ip, ep.prefixlen)], ep.gateway if only else None)
            with self.store.lock():
                if only:
                    self._install_forwards(att)
                self._refresh_hosts([ep.network_id], also=cid)
        except BaseException:
            self._drop_endpoint(cid, net.id)
            raise
        return ep

    def disconnect(self, cid: str, network: str) -> None:
        """Remove a running container's endpoint on network."""
        net = self.get(network)
        att = self._running_attachment(cid)
        if att.endpoint_on(net.id) is None:
            raise Conflict(f"container {cid[:12]} is not connected to network {net.name}")
        self._drop_endpoint(cid, net.id)

    def _drop_endpoint(self, cid: str, net_id: str) -> None:
        """Delete one endpoint: its veth, its address, its hosts lines; re-point the default
        route and published ports if it was the primary one."""
        att = self.store.attachment(cid)
        ep = att.endpoint_on(net_id) if att else None
        if att is None or ep is None:
            return
        self.netlink.delete_link(ep.host_ifname)
        with self.store.lock():
            att = self.store.attachment(cid) or att
            was_primary = att.primary is not None and att.primary.network_id == net_id
            att.endpoints = [e for e in att.endpoints if e.network_id != net_id]
            alloc = self.store.allocations()
            ipam.release(alloc["ipam"].get(net_id, {}), cid)
            self.store.save_attachment(att)
            self.store.save_allocations(alloc)
            if was_primary:
                if att.primary is not None:
                    netlink.configure_inside(att.netns_path, [], att.primary.gateway)
                self._install_forwards(att)
            self._refresh_hosts([net_id], also=cid)

    # ------------------------------------------------------------- views
    def hosts_entries(self, cid: str) -> str:
        """The text of cid's /etc/hosts: localhost, its own addresses with its
        hostname and name, and its peers on shared user-defined networks."""
        att = self.store.attachment(cid)
        if att is None:
            return hosts.LOCALHOST
        everyone = list(self.store.attachments())
        return hosts.for_attachment(att, hosts.members(
            everyone, {e.network_id for a in everyone for e in a.endpoints if e.user_defined}))

    def _refresh_hosts(self, net_ids: Iterable[str], also: str | None = None) -> None:
        """Rewrite the hosts files of everyone on net_ids (and of also) (lock held)."""
        net_ids = set(net_ids)
        everyone = list(self.store.attachments())
        members = hosts.members(everyone, {e.network_id for a in everyone for e in a.endpoints if e.user_defined})
        for att in everyone:
            if att.hosts_path and (att.cid == also or any(e.network_id in net_ids for e in att.endpoints)):
                _write_hosts(att.hosts_path, hosts.for_attachment(att, members))

    def inspect_settings(self, cid: str, exposed: Iterable[str] = (),
                         configured: Iterable[str] = ()) -> dict:
        """inspect's NetworkSettings; configured: the networks the container is
        set to join, shown with empty addresses while it is not running."""
        ids = {}
        for ref in configured:
            try:
                ids[ref] = self.registry.find(ref).id
            except PynsError:
                ids[ref] = ""
        return settings.network_settings(self.store.attachment(cid), exposed, ids)

    list = networks  # the Docker SDK's name; assigned last so that `list[...]` above is the builtin


def _on_user_network(att: Attachment) -> bool:
    return any(e.user_defined for e in att.endpoints)


def _user_network_ids(att: Attachment) -> list[str]:
    return [e.network_id for e in att.endpoints if e.user_defined]


def _write_hosts(path: str, text: str) -> None:
    try:
        hosts.write_in_place(path, text)
    except OSError:
        pass  # its container directory is gone: nothing to update
