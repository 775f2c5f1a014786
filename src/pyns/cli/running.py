"""The bodies of `pyns run` and `pyns create`, free of click.

Both the click commands (pyns.cli.containers) and the fast path
(pyns.cli.quick) call these with the parsed flags, so `pyns run` can start
a container without importing click: click alone costs more than the
container start itself. Output goes through print(), not click.echo().
"""
from __future__ import annotations

import os
import sys

from pyns.cli.common import engine, fail, stream_logs
from pyns.errors import PynsError

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (see pyns/__init__.py)
if TYPE_CHECKING:
    from typing import Any


def ensure_image(eng: Any, image: str, o: dict[str, Any]) -> None:
    """--pull: missing (docker's default) pulls an image that is not here, always pulls, never doesn't."""
    if o["pull_policy"] == "missing" and eng.image_store.exists(image):
        return  # the common case, without loading the registry client
    from pyns.cli.pulling import ProgressPrinter, pull_missing

    if o["pull_policy"] == "always":
        from pyns.images.reference import parse

        result = eng.images.pull_result(image, platform=o["platform"], progress=ProgressPrinter(err=True))
        print(result.status(parse(image)), file=sys.stderr)
    elif o["pull_policy"] == "missing":
        pull_missing(eng, image, o["platform"])


def create_kwargs(o: dict[str, Any]) -> dict[str, Any]:
    """CLI flags -> the library's (Docker SDK) keyword arguments."""
    from pyns import options

    env: list[str] = []
    for path in o["env_file"]:
        try:
            with open(path, encoding="utf-8") as fh:
                env += options.parse_env_file(fh.read(), os.environ.get)
        except OSError as e:
            fail(f"open {path}: {e.strerror.lower() if e.strerror else e}")
    env += options.parse_env(list(o["env"]), os.environ.get) if o["env"] else []
    labels = dict(options.parse_key_value(x) for x in o["label"]) if o["label"] else None
    kw: dict[str, Any] = {
        "environment": env or None,
        "working_dir": o["workdir"],
        "user": o["user"],
        "hostname": o["hostname"],
        "entrypoint": [o["entrypoint"]] if o["entrypoint"] is not None else None,
        "volumes": list(o["volumes"]) or None,
        "tmpfs": list(o["tmpfs"]) or None,
        "read_only": o["read_only"],
        "mem_limit": o["memory"],
        "memswap_limit": o["memory_swap"],
        "nano_cpus": options.parse_cpus(o["cpus"]) if o["cpus"] else None,
        "cpu_shares": o["cpu_shares"],
        "pids_limit": o["pids_limit"],
        "cpuset_cpus": o["cpuset_cpus"],
        "cpuset_mems": o["cpuset_mems"],
        "network_mode": o["network"],
        "network_aliases": list(o["network_alias"]) or None,
        "publish": list(o["publish"]) or None,
        "publish_all_ports": o["publish_all"] or None,
        "pid_mode": o["pid_mode"],
        "ipc_mode": o["ipc_mode"],
        "uts_mode": o["uts_mode"],
        "cgroupns": o["cgroupns"],
        "userns_mode": o["userns_mode"],
        "stop_signal": o["stop_signal"],
        "stop_timeout": o["stop_timeout"],
        "init": o["init"],
        "privileged": o["privileged"],
        "cap_add": list(o["cap_add"]) or None,
        "cap_drop": list(o["cap_drop"]) or None,
        "security_opt": list(o["security_opt"]) or None,
        "ulimits": list(o["ulimit"]) or None,
        "sysctls": dict(options.parse_key_value(x) for x in o["sysctl"]) or None,
        "labels": labels,
        "name": o["name"],
        "auto_remove": o["rm"],
        "stdin_open": o["interactive"],
        "tty": o["tty"],
    }
    return {k: v for k, v in kw.items() if v is not None}


def _new_container(eng: Any, image: str, command: tuple[str, ...], o: dict[str, Any]) -> Any:
    kw = create_kwargs(o)
    ensure_image(eng, image, o)
    return eng.containers.create(image, list(command) or None, **kw)


def create(obj: dict[str, Any], image: str, command: tuple[str, ...], **o: Any) -> int:
    """`pyns create`: prints the new container's id."""
    print(_new_container(engine(obj), image, command, o).id, flush=True)
    return 0


def run(obj: dict[str, Any], detach: bool, image: str, command: tuple[str, ...], **o: Any) -> int:
    """`pyns run`: the exit code docker's CLI would return."""
    eng = engine(obj)
    c = _new_container(eng, image, command, o)
    if detach:
        try:
            c.start()
        except PynsError:
            if o["rm"]:
                c.remove(force=True)
            raise
        print(c.id)
        return 0
    if o["tty"]:
        return _run_with_tty(eng, c, o)
    code = 0
    try:
        sys.stdout.flush()
        info = eng.manager.run_attached(
            c.id, stdin=0 if o["interactive"] else -1,
            tee_out=sys.stdout.fileno(), tee_err=sys.stderr.fileno(), forward_signals=True)
        code = info.exit_code
    finally:
        if o["rm"]:
            c.remove(force=True)
    return code


def _run_with_tty(eng: Any, c: Any, o: dict[str, Any]) -> int:
    """run -t: the monitor owns the pty; we attach to it like `pyns attach`."""
    from pyns.containers import attach as attach_mod

    keys = attach_mod.parse_detach_keys(o["detach_keys"]) if o["detach_keys"] else attach_mod.DEFAULT_DETACH_KEYS
    try:
        eng.manager.start(c.id, attach_mod.terminal_size(0) if os.isatty(0) else None)
    except PynsError:
        if o["rm"]:
            c.remove(force=True)
        raise
    try:
        how = attach_mod.attach(eng.manager.attach_socket(c.id), 0 if o["interactive"] else None, 1, True, keys)
    except PynsError:
        how = "exited"  # it finished before we connected: show what it printed
        stream_logs(c, follow=False, tail=None, timestamps=False)
    if how == "detached":
        print()
        return 0
    code = c.wait()["StatusCode"]
    if o["rm"]:
        c.remove(force=True)
    return code
