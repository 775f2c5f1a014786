"""Executing one instruction against a stage: the config-only instructions and the dispatch table.

Every step follows the same pattern as docker's classic builder: work out
the new run config and the history line, probe the cache with (parent
image, step key), and on a miss commit a new image. The filesystem steps
live next door (:mod:`copystep` for COPY/ADD, :mod:`runcmd` for RUN,
WORKDIR here since it only makes directories).
"""
from __future__ import annotations

import copy
import posixpath
import time
from collections.abc import Callable
from typing import Any

from pyns.build import commitmsg
from pyns.build.cache import step_key
from pyns.build.commit import Committer
from pyns.build.context import BuildContext
from pyns.build.dockerfile import Dockerfile
from pyns.build.instructions import (
    Arg,
    Command,
    Copy,
    Healthcheck,
    Instruction,
    Onbuild,
    Pairs,
    Shell,
    Value,
    Volume,
)
from pyns.build.layertar import Meta
from pyns.build.rootfs import LayeredFS
from pyns.build.state import StageState
from pyns.build.words import expand_words
from pyns.errors import BuildError, InvalidArgument
from pyns.images import changes
from pyns.images.image import Image
from pyns.images.shellwords import expand
from pyns.images.store import ImageStore
from pyns.records import field, record

Log = Callable[[str], None]
ImageResolver = Callable[..., Image]  # (reference, platform, pull=False) -> local or pulled image


@record
class BuildEnv:
    """What every step may use: the store, cache, context, engine and finished stages."""

    dockerfile: Dockerfile
    store: ImageStore
    committer: Committer
    context: BuildContext
    engine: Any  # needs .containers and .manager (RUN)
    resolve_image: ImageResolver  # reference -> local (or pulled) image
    log: Log
    network: str
    work_dir: str
    finished: dict[int, StageState] = field(default_factory=dict)


class Dispatcher:
    """Runs instructions of one build; ``state`` is the stage being built."""

    def __init__(self, env: BuildEnv) -> None:
        self.env = env

    # -- shared helpers ---------------------------------------------------------

    def expand(self, state: StageState, word: str) -> str:
        try:
            return expand(word, state.expansion_env(), self.env.dockerfile.escape)
        except InvalidArgument as e:
            raise BuildError(str(e)) from None

    def cached(self, state: StageState, key: str) -> bool:
        if self.env.committer.probe(state, key):
            self.env.log(" ---> Using cache\n")
            return True
        return False

    def metadata(self, state: StageState, run_config: dict[str, Any], text: str) -> None:
        """Commit a config-only step (``/bin/sh -c #(nop)  TEXT``, empty layer)."""
        shell = run_config.get("Shell") or state.shell
        created_by = commitmsg.nop(shell, text)
        key = step_key("nop", created_by, run_config, state.config.get("author"))
        if not self.cached(state, key):
            self.env.committer.commit(state, run_config, created_by, key)

    def fs(self, state: StageState) -> LayeredFS:
        return LayeredFS(state.layer_dirs)

    def dispatch(self, state: StageState, inst: Instruction) -> None:
        handler = getattr(self, f"do_{inst.keyword.lower()}")
        handler(state, inst)

    # -- config-only instructions -----------------------------------------------

    def do_env(self, state: StageState, inst: Pairs) -> None:
        run = copy.deepcopy(state.run_config)
        env = list(run.get("Env") or [])
        pairs = [(self.expand(state, k), self.expand(state, v)) for k, v in inst.pairs]
        for key, value in pairs:
            if not key:
                raise BuildError("ENV names can not be blank")
            entry = f"{key}={value}"
            index = next((i for i, e in enumerate(env) if e.partition("=")[0] == key), None)
            if index is None:
                env.append(entry)
            else:
                env[index] = entry
        run["Env"] = env
        self.metadata(state, run, "ENV " + " ".join(f"{k}={v}" for k, v in pairs))

    def do_label(self, state: StageState, inst: Pairs) -> None:
        run = copy.deepcopy(state.run_config)
        pairs = [(self.expand(state, k), self.expand(state, v)) for k, v in inst.pairs]
        if any(not k for k, _ in pairs):
            raise BuildError("LABEL names can not be blank")
        run["Labels"] = {**(run.get("Labels") or {}), **dict(pairs)}
        self.metadata(state, run, "LABEL " + " ".join(f"{k}={v}" for k, v in pairs))

    def do_maintainer(self, state: StageState, inst: Value) -> None:
        state.config["author"] = inst.value
        self.metadata(state, copy.deepcopy(state.run_config), "MAINTAINER " + inst.value)

    def do_expose(self, state: StageState, inst: Value) -> None:
        try:
            ports = expand_words(inst.value, state.expansion_env(), self.env.dockerfile.escape)
            specs = [p for word in ports for p in changes.port_specs(word)]
        except InvalidArgument as e:
            raise BuildError(str(e)) from None
        run = copy.deepcopy(state.run_config)
        run["ExposedPorts"] = {**(run.get("ExposedPorts") or {}), **{p: {} for p in specs}}
        self.metadata(state, run, "EXPOSE " + " ".join(ports))

    def do_user(self, state: StageState, inst: Value) -> None:
        run = copy.deepcopy(state.run_config)
        run["User"] = self.expand(state, inst.value)
        self.metadata(state, run, "USER " + run["User"])

    def do_stopsignal(self, state: StageState, inst: Value) -> None:
        signal = self.expand(state, inst.value)
        try:
            changes.valid_signal(signal)
        except InvalidArgument as e:
            raise BuildError(str(e)) from None
        run = copy.deepcopy(state.run_config)
        run["StopSignal"] = signal
        self.metadata(state, run, "STOPSIGNAL " + signal)

    def do_volume(self, state: StageState, inst: Volume) -> None:
        paths = [self.expand(state, p).strip() for p in inst.paths]
        if any(not p for p in paths):
            raise BuildError("VOLUME specified can not be an empty string")
        run = copy.deepcopy(state.run_config)
        run["Volumes"] = {**(run.get("Volumes") or {}), **{p: {} for p in paths}}
        self.metadata(state, run, "VOLUME " + commitmsg.go_v(paths))

    def do_shell(self, state: StageState, inst: Shell) -> None:
        run = copy.deepcopy(state.run_config)
        run["Shell"] = list(inst.shell)
        self.metadata(state, run, "SHELL " + commitmsg.go_v(inst.shell))

    def do_healthcheck(self, state: StageState, inst: Healthcheck) -> None:
        run = copy.deepcopy(state.run_config)
        run["Healthcheck"] = copy.deepcopy(inst.config)
        self.metadata(state, run, "HEALTHCHECK " + commitmsg.healthcheck(inst.config))

    def do_onbuild(self, state: StageState, inst: Onbuild) -> None:
        run = copy.deepcopy(state.run_config)
        run["OnBuild"] = [*(run.get("OnBuild") or []), inst.trigger]
        self.metadata(state, run, "ONBUILD " + inst.trigger)

    def _command(self, state: StageState, inst: Command) -> list[str]:
        return list(inst.args) if inst.exec_form else [*state.shell, inst.args[0]]

    def do_cmd(self, state: StageState, inst: Command) -> None:
        run = copy.deepcopy(state.run_config)
        run["Cmd"] = self._command(state, inst)
        if run["Cmd"]:
            state.cmd_set = True
        self.metadata(state, run, "CMD " + commitmsg.go_q(run["Cmd"]))

    def do_entrypoint(self, state: StageState, inst: Command) -> None:
        run = copy.deepcopy(state.run_config)
        run["Entrypoint"] = self._command(state, inst)
        if not state.cmd_set:
            run["Cmd"] = None  # an inherited CMD makes no sense for a new ENTRYPOINT
        self.metadata(state, run, "ENTRYPOINT " + commitmsg.go_q(run["Entrypoint"]))

    def do_arg(self, state: StageState, inst: Arg) -> None:
        shown = []
        for name, raw_default in inst.pairs:
            default = self.expand(state, raw_default) if raw_default is not None else None
            state.args.declare(name, default)
            shown.append(name if default is None else f"{name}={default}")
        self.metadata(state, copy.deepcopy(state.run_config), "ARG " + " ".join(shown))

    # -- WORKDIR ----------------------------------------------------------------

    def do_workdir(self, state: StageState, inst: Value) -> None:
        requested = self.expand(state, inst.value)
        run = copy.deepcopy(state.run_config)
        current = run.get("WorkingDir") or "/"
        path = posixpath.normpath(posixpath.join("/", current, requested))
        path = "/" + path.lstrip("/")
        run["WorkingDir"] = path
        created_by = commitmsg.nop_one(run.get("Shell") or state.shell, "WORKDIR " + path)
        key = step_key("WORKDIR", created_by, run)
        if self.cached(state, key):
            return
        fs = self.fs(state)
        missing = _missing_dirs(fs, fs.resolve(path))
        layer = None
        if missing:
            now = int(time.time())
            layer = self.env.committer.pending(state, fs, Meta(0o755, 0, 0, now))
            for directory in missing:
                layer.writer.directory(directory, Meta(0o755, 0, 0, now))
        self.env.committer.commit(state, run, created_by, key, layer)

    # -- filesystem instructions (next door) -------------------------------------

    def do_copy(self, state: StageState, inst: Copy) -> None:
        from pyns.build.copystep import dispatch_copy

        dispatch_copy(self, state, inst)

    do_add = do_copy

    def do_run(self, state: StageState, inst: Command) -> None:
        from pyns.build.runcmd import dispatch_run

        dispatch_run(self, state, inst)


def _missing_dirs(fs: LayeredFS, path: str) -> list[str]:
    """The components of ``path`` (already symlink-resolved) that WORKDIR must create."""
    missing: list[str] = []
    current = "/"
    for part in [p for p in path.split("/") if p]:
        current = posixpath.join(current, part)
        entry = fs.lstat(current) if not missing else None
        if entry is None:
            missing.append(current)
        elif not entry.is_dir:
            raise BuildError(f"mkdir {current}: not a directory")
    return missing
