#!/usr/bin/env python3
"""`make demo`: a real container flow end to end, printing every command.

Builds a busybox image from Debian's busybox-static, imports it, and walks
through what a docker user does first: run, run -d, ps, logs, a look at its
isolation, limits (an OOM kill), stop/start, rm. Uses
$PYNS_ROOT (default /var/lib/pyns) and removes the containers it made.
"""
from __future__ import annotations

import os
import shlex
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import busybox_rootfs  # noqa: E402

PYNS = [sys.executable, "-m", "pyns.cli.main"]


def step(title: str) -> None:
    print(f"\n\033[1m== {title}\033[0m", flush=True)


def pyns(*args: str) -> str:
    print("$ pyns " + " ".join(shlex.quote(a) for a in args), flush=True)
    r = subprocess.run([*PYNS, *args], capture_output=True, text=True)
    sys.stdout.write(r.stdout)
    sys.stdout.write(r.stderr)
    if r.returncode != 0:
        print(f"(exit code {r.returncode})")
    sys.stdout.flush()
    return r.stdout


def main() -> int:
    if os.geteuid() != 0:
        print("make demo needs root (namespaces, mounts, cgroups)", file=sys.stderr)
        return 1
    step("Build a busybox root filesystem and import it as an image")
    with tempfile.TemporaryDirectory() as tmp:
        tar = os.path.join(tmp, "busybox.tar")
        busybox_rootfs.build(tar)
        pyns("import", "--change", 'CMD ["sh"]', tar, "busybox:demo")
    pyns("images")

    step("Run a command in a fresh container (own pid, mount, uts, ipc, net and cgroup namespaces)")
    pyns("run", "--rm", "busybox:demo", "sh", "-c",
         "echo hello from pid $$ on $(hostname); grep CapEff /proc/self/status; ls /proc | grep -c '[0-9]'")
    t = time.monotonic()
    pyns("run", "--rm", "--network", "none", "busybox:demo", "true")
    print(f"(a whole `pyns run --rm ... true` took {1000 * (time.monotonic() - t):.0f} ms, CLI start-up included)")

    step("Exit codes follow docker: 127 for a missing command, the container's own code otherwise")
    pyns("run", "--rm", "busybox:demo", "no-such-command")
    pyns("run", "--rm", "busybox:demo", "sh", "-c", "exit 7")

    step("Detached container under its C monitor")
    pyns("run", "-d", "--name", "demo-ticker", "--memory", "32m", "--pids-limit", "20", "busybox:demo",
         "sh", "-c", "trap 'echo stopping; exit 0' TERM; while true; do date; sleep 1; done")
    time.sleep(2.2)
    pyns("ps")
    pyns("logs", "--tail", "2", "demo-ticker")
    pyns("top", "demo-ticker")
    pyns("inspect", "--format", "{{.State.Status}} pid={{.State.Pid}} memory={{.HostConfig.Memory}}", "demo-ticker")

    step("Networking: a web server on the default bridge, published on the host's port 18080")
    pyns("run", "-d", "--name", "demo-web", "-p", "18080:80", "busybox:demo", "sh", "-c",
         "mkdir /www && echo 'hello from a pyns container' > /www/index.html && httpd -f -p 80 -h /www")
    pyns("port", "demo-web")
    time.sleep(0.5)
    import urllib.request

    with urllib.request.urlopen("http://127.0.0.1:18080/", timeout=5) as r:
        print(f"$ curl http://127.0.0.1:18080/\n{r.read().decode()}", end="")
    pyns("run", "--rm", "busybox:demo", "sh", "-c", "ip -o -4 addr show eth0 | awk '{print $2, $4}'")

    step("Stop, see it exited, start it again (its writable layer is kept)")
    pyns("stop", "demo-ticker")
    pyns("ps", "-a")
    pyns("start", "demo-ticker")
    pyns("ps")

    step("A container over its memory limit is OOM-killed: exit 137, OOMKilled=true")
    pyns("run", "--name", "demo-oom", "--memory", "16m", "busybox:demo", "sh", "-c",
         "x=$(head -c 100000000 /dev/zero | tr '\\0' a)")
    pyns("inspect", "--format", "exit={{.State.ExitCode}} OOMKilled={{.State.OOMKilled}}", "demo-oom")

    step("Clean up: nothing is left behind (no mount, cgroup or process)")
    pyns("rm", "-f", "demo-ticker", "demo-oom", "demo-web")
    pyns("ps", "-a")
    print("\nDone. Try: pyns run --rm -i busybox:demo sh")
    return 0


if __name__ == "__main__":
    sys.exit(main())
