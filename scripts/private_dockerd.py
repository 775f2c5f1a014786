#!/usr/bin/env python3
"""Start and stop a private docker engine, the peer of `pyns bench --compare docker`.

    scripts/private_dockerd.py start [--bridge] [BASE]    then: export DOCKER_HOST=unix://BASE/docker.sock
    scripts/private_dockerd.py stop [BASE]

Why not the docker.io service: started as a service, dockerd rewrites the
host's firewall (its iptables chains, FORWARD policy DROP), makes docker0
and turns on ip_forward. A benchmark peer must not change the machine it
measures, nor the network of others working on it. So Debian's containerd
and dockerd run by hand here with everything under BASE (default
/tmp/pyns-docker): data roots, state, sockets, pid files, logs; no
iptables, no bridge, no ip_forward, their cgroups under /pyns-docker.
`docker run --network none` (the start-up target) needs nothing more;
`--network bridge` is refused by such a daemon, and the bench skips it.

With --bridge, dockerd gets its default bridge, iptables rules and
ip_forward as it does when installed, but inside a network namespace of
its own (`pyns-docker`, entered with nsenter: network only, so its mounts
stay visible to containerd): docker0, its veths and its firewall live and
die there, and the host's network is untouched. That is what
`pyns bench startup --network bridge --compare docker` needs.

`stop` ends both daemons by their pid files, unmounts what dockerd left
under BASE, removes BASE, the /pyns-docker cgroups and what the daemons
make outside BASE whatever their flags (dockerd's trust key
/etc/docker/key.json, /run/docker/plugins, the shims' /run/containerd/s)
when start found it absent, then says whether the firewall rules, links
and ip_forward are as start found them.
Needs root, and Debian's docker.io (`apt-get install docker.io`; its
services stay stopped: this script never starts them).
"""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time

BASE = "/tmp/pyns-docker"
CGROUP_PARENT = "pyns-docker"
#: Made by the daemons outside BASE whatever their flags; removed by stop when start found them absent
#: (files first, then directories deepest first, each only if empty).
MADE_OUTSIDE = ("/etc/docker/key.json", "/run/docker/plugins", "/run/docker", "/run/containerd/s", "/run/containerd")
START_TIMEOUT = 60.0


def _paths(base: str) -> dict[str, str]:
    return {"containerd_sock": f"{base}/containerd.sock", "docker_sock": f"{base}/docker.sock",
            "containerd_pid": f"{base}/containerd.pid", "docker_pid": f"{base}/docker.pid",
            "config": f"{base}/containerd.toml", "daemon_json": f"{base}/daemon.json",
            "host_before": f"{base}/host.before", "made_outside": f"{base}/made-outside"}


def containerd_config(base: str) -> str:
    """containerd's config: every root, state and socket under base; no CRI plugin (it would want CNI)."""
    return (f'version = 2\nroot = "{base}/containerd-root"\nstate = "{base}/containerd-state"\n'
            'disabled_plugins = ["io.containerd.grpc.v1.cri"]\n'
            f'[grpc]\n  address = "{base}/containerd.sock"\n[ttrpc]\n  address = "{base}/containerd.sock.ttrpc"\n'
            f'[plugins."io.containerd.internal.v1.opt"]\n  path = "{base}/containerd-opt"\n')


NETNS = "pyns-docker"


def dockerd_argv(base: str, bridge: bool = False) -> list[str]:
    """dockerd with its own roots and socket, and nothing that touches the host's network
    (bridge: docker's default networking, confined to the NETNS network namespace)."""
    p = _paths(base)
    net = (["--userland-proxy=false"] if bridge else
           ["--iptables=false", "--ip6tables=false", "--ip-forward=false", "--ip-masq=false", "--bridge=none",
            "--userland-proxy=false"])
    argv = ["dockerd", "--config-file", p["daemon_json"], *net,
            "--cgroup-parent", f"/{CGROUP_PARENT}", "--data-root", f"{base}/data", "--exec-root", f"{base}/exec",
            "--pidfile", p["docker_pid"], "--containerd", p["containerd_sock"], "-H", f"unix://{p['docker_sock']}"]
    return ["nsenter", f"--net=/run/netns/{NETNS}", "--", *argv] if bridge else argv


def host_network_state() -> str:
    """What dockerd could have changed: iptables rules (v4, v6), link names, ip_forward."""
    out = []
    for tool in ("iptables-save", "ip6tables-save"):
        res = subprocess.run([tool], capture_output=True, text=True, check=False)
        out += [ln for ln in res.stdout.splitlines() if not ln.startswith("#")]
    links = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True, check=False).stdout
    out += sorted(ln.split(":")[1].strip() for ln in links.splitlines() if ":" in ln)
    with open("/proc/sys/net/ipv4/ip_forward", encoding="utf-8") as f:
        out.append(f"ip_forward={f.read().strip()}")
    return "\n".join(out) + "\n"


def _wait_socket(path: str, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket(socket.AF_UNIX) as s:
            try:
                s.connect(path)
                return True
            except OSError:
                time.sleep(0.2)
    return False


def _spawn(argv: list[str], log: str, pidfile: str | None) -> int:
    with open(log, "ab") as out:
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=out, start_new_session=True)
    if pidfile:
        with open(pidfile, "w", encoding="utf-8") as f:
            f.write(f"{proc.pid}\n")
    return proc.pid


def start(base: str, bridge: bool = False) -> int:
    p = _paths(base)
    if os.path.exists(p["docker_sock"]):
        sys.exit(f"{base} is in use: `{sys.argv[0]} stop {base}` first")
    for tool in ("containerd", "dockerd"):
        if not shutil.which(tool):
            sys.exit(f"{tool} is not installed (apt-get install docker.io)")
    os.makedirs(f"{base}/log", exist_ok=True)
    with open(p["host_before"], "w", encoding="utf-8") as f:
        f.write(host_network_state())
    with open(p["config"], "w", encoding="utf-8") as f:
        f.write(containerd_config(base))
    with open(p["daemon_json"], "w", encoding="utf-8") as f:
        f.write("{}\n")  # /etc/docker/daemon.json, if any, is not read
    with open(p["made_outside"], "w", encoding="utf-8") as f:
        f.writelines(f"{path}\n" for path in MADE_OUTSIDE if not os.path.lexists(path))
    _spawn(["containerd", "--config", p["config"]], f"{base}/log/containerd.log", p["containerd_pid"])
    if not _wait_socket(p["containerd_sock"], START_TIMEOUT):
        sys.exit(f"containerd did not start: see {base}/log/containerd.log, then `{sys.argv[0]} stop {base}`")
    if bridge:
        subprocess.run(["ip", "netns", "add", NETNS], check=True)
        subprocess.run(["ip", "-n", NETNS, "link", "set", "lo", "up"], check=True)
    _spawn(dockerd_argv(base, bridge), f"{base}/log/dockerd.log", None)  # dockerd writes its own pid file
    if not _wait_socket(p["docker_sock"], START_TIMEOUT):
        sys.exit(f"dockerd did not start: see {base}/log/dockerd.log, then `{sys.argv[0]} stop {base}`")
    print(f"export DOCKER_HOST=unix://{p['docker_sock']}")
    return 0


def _kill(pidfile: str, timeout: float = 30.0) -> None:
    """SIGTERM the process in pidfile, SIGKILL it if it outlives timeout."""
    try:
        with open(pidfile, encoding="utf-8") as f:
            pid = int(f.read().strip())
    except (OSError, ValueError):
        return
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)
    os.kill(pid, signal.SIGKILL)


def _unmount_under(base: str) -> None:
    """Every mount at or below base, deepest first (dockerd bind-mounts its data root and netns files)."""
    with open("/proc/self/mountinfo", encoding="utf-8") as f:
        points = [ln.split()[4] for ln in f]
    for point in sorted((m for m in points if m == base or m.startswith(base + "/")), key=len, reverse=True):
        subprocess.run(["umount", "-l", point], check=False)


def _remove_cgroups() -> None:
    for hierarchy in os.listdir("/sys/fs/cgroup"):
        path = os.path.join("/sys/fs/cgroup", hierarchy, CGROUP_PARENT)
        if os.path.isdir(path):
            try:
                os.rmdir(path)
            except OSError as e:
                print(f"left {path}: {e.strerror}", file=sys.stderr)


def _remove_made_outside(listing: str) -> None:
    """What the daemons made outside base (listed by start as absent then): files, then empty directories."""
    try:
        with open(listing, encoding="utf-8") as f:
            paths = f.read().split()
    except OSError:
        return
    for path in paths:
        try:
            if os.path.isdir(path):
                os.rmdir(path)
            else:
                os.unlink(path)
        except OSError:
            pass


def stop(base: str) -> int:
    p = _paths(base)
    _kill(p["docker_pid"])
    _kill(p["containerd_pid"])
    if os.path.exists(f"/run/netns/{NETNS}"):  # docker0, its veths and rules go with it
        subprocess.run(["ip", "netns", "del", NETNS], check=False)
    _unmount_under(base)
    _remove_cgroups()
    before = None
    if os.path.exists(p["host_before"]):
        with open(p["host_before"], encoding="utf-8") as f:
            before = f.read()
    _remove_made_outside(p["made_outside"])
    shutil.rmtree(base, ignore_errors=True)
    if before is not None:
        after = host_network_state()
        changed = sorted(set(before.splitlines()) ^ set(after.splitlines()))
        print("firewall, links, ip_forward: " + ("as before" if not changed else "changed (others' work too?):"))
        for line in changed:
            print(("  - " if line in before.splitlines() else "  + ") + line)
    return 0


if __name__ == "__main__":
    args = sys.argv[1:]
    with_bridge = "--bridge" in args
    args = [a for a in args if a != "--bridge"]
    if len(args) not in (1, 2) or args[0] not in ("start", "stop") or (with_bridge and args[0] != "start"):
        sys.exit(__doc__)
    where = args[1] if len(args) == 2 else BASE
    sys.exit(start(where, with_bridge) if args[0] == "start" else stop(where))
