"""The classic builder: stages in order, one step per instruction, docker's output.

A build parses the whole Dockerfile first (a syntax error costs nothing),
then runs every stage up to ``--target``: FROM picks the base (an earlier
stage, ``scratch``, a local image, or a pulled one), ONBUILD triggers of
the base run first, then each instruction is dispatched. The log is
docker's classic text (``Step 2/5 : ...``, `` ---> Using cache``,
``Successfully built ...``) handed line by line to a callback; errors are
BuildError with the Dockerfile line in front.
"""
from __future__ import annotations

import copy
import os
from typing import Any

from pyns.build.buildargs import BuildArgs
from pyns.build.cache import BuildCache
from pyns.build.commit import Committer
from pyns.build.context import BuildContext
from pyns.build.dockerfile import Dockerfile, Stage, parse_dockerfile
from pyns.build.instructions import From, Instruction, Pairs, to_instruction
from pyns.build.parser import Node, located
from pyns.build.parser import parse as parse_lines
from pyns.build.state import StageState, ensure_path, scratch_config
from pyns.build.steps import BuildEnv, Dispatcher, Log
from pyns.errors import BuildError, ImageNotFound, InvalidArgument, PynsError
from pyns.images.image import Image
from pyns.images.platform import host_platform
from pyns.images.reference import parse_tagged
from pyns.images.shellwords import expand
from pyns.records import field, record

SCRATCH = "scratch"
WORK_DIR = "build"


@record
class BuildRequest:
    """Everything one build needs besides the engine."""

    dockerfile: str  # the text
    context: BuildContext
    dockerfile_name: str = "Dockerfile"
    tags: list[str] = field(default_factory=list)
    build_args: dict[str, str | None] = field(default_factory=dict)
    no_cache: bool = False
    pull: bool = False
    target: str | None = None
    network: str = "default"
    labels: dict[str, str] = field(default_factory=dict)


def predefined_args() -> dict[str, str]:
    """BuildKit's automatic platform arguments, usable in FROM and after ``ARG TARGETOS`` etc."""
    plat = host_platform()
    spec = f"{plat['os']}/{plat['architecture']}" + (f"/{plat['variant']}" if plat.get("variant") else "")
    values = {"OS": plat["os"], "ARCH": plat["architecture"], "VARIANT": plat.get("variant", ""), "PLATFORM": spec}
    return {f"{side}{k}": v for side in ("BUILD", "TARGET") for k, v in values.items()}


def _short(image_id: str) -> str:
    return image_id.split(":", 1)[-1][:12]


class Builder:
    """Runs one build against an engine (``.image_store``, ``.images``, ``.containers``, ``.manager``)."""

    def __init__(self, engine: Any, log: Log) -> None:
        self.engine = engine
        self.store = engine.image_store
        self.log = log

    def build(self, req: BuildRequest) -> Image:
        dockerfile = parse_dockerfile(req.dockerfile, req.dockerfile_name)
        tags = [parse_tagged(t) for t in req.tags]  # a bad -t fails before any work
        stages = dockerfile.up_to(req.target)
        args = BuildArgs(req.build_args, predefined_args())
        for meta in dockerfile.meta_args:
            for name, default in meta.pairs:
                value = self._expand(dockerfile, meta, default, args.global_env()) if default is not None else None
                args.declare_global(name, value)
        work_dir = os.path.join(self.store.root, WORK_DIR)
        committer = Committer(self.store, BuildCache(self.store.root), not req.no_cache, work_dir)
        env = BuildEnv(dockerfile, self.store, committer, req.context, self.engine, self._resolver(req),
                       self.log, req.network, work_dir)
        dispatcher = Dispatcher(env)
        total = sum(s.steps for s in stages) + (1 if req.labels else 0)
        step = 0
        state: StageState | None = None
        for stage in stages:
            step += 1
            self.log(f"Step {step}/{total} : {stage.from_.original}\n")
            state = self._begin(env, dispatcher, stage, args, req.pull)
            for inst in stage.instructions:
                step += 1
                self.log(f"Step {step}/{total} : {inst.original}\n")
                self._dispatch(dispatcher, state, inst, dockerfile.name)
            env.finished[stage.index] = state
        assert state is not None
        if req.labels:
            step += 1
            self._add_labels(dispatcher, state, req.labels, step, total, dockerfile.name)
        if state.image_id is None:
            raise BuildError("No image was generated. Is your Dockerfile empty?")
        warning = args.warning()
        if warning:
            self.log(warning + "\n")
        image_id = state.image_id
        self.log(f"Successfully built {_short(image_id)}\n")
        for ref in tags:
            self.store.tag(image_id, ref.string())
            self.log(f"Successfully tagged {ref.familiar()}\n")
        return self.store.get(image_id)

    # -- helpers ---------------------------------------------------------------

    @staticmethod
    def _expand(dockerfile: Dockerfile, inst: Instruction, word: str, env: dict[str, str]) -> str:
        try:
            return expand(word, env, dockerfile.escape)
        except InvalidArgument as e:
            raise located(dockerfile.name, inst.line, str(e)) from None

    def _resolver(self, req: BuildRequest):  # -> ImageResolver
        def resolve(ref: str, platform: str | None, pull: bool = False) -> Image:
            if not pull:
                try:
                    return self.store.get(ref)
                except ImageNotFound:
                    pass
            puller = getattr(getattr(self.engine, "images", None), "pull", None)
            if puller is None:
                raise BuildError(f"No such image: {ref}")
            try:
                handle = puller(ref, platform=platform)
            except PynsError as e:
                raise BuildError(f"pull {ref}: {e}" if pull else f"No such image: {ref} ({e})") from None
            return getattr(handle, "image", handle)

        return resolve

    def _dispatch(self, dispatcher: Dispatcher, state: StageState, inst: Instruction, name: str) -> None:
        try:
            dispatcher.dispatch(state, inst)
        except BuildError as e:
            error = located(name, inst.line, str(e))
            error.exit_code = e.exit_code
            raise error from None
        except PynsError as e:
            raise located(name, inst.line, str(e)) from None
        assert state.image_id is not None
        self.log(f" ---> {_short(state.image_id)}\n")

    def _begin(self, env: BuildEnv, dispatcher: Dispatcher, stage: Stage, args: BuildArgs, pull: bool) -> StageState:
        """FROM: the stage's starting image and config, then its base's ONBUILD triggers."""
        inst: From = stage.from_
        dockerfile = env.dockerfile
        globals_ = args.global_env()
        name = self._expand(dockerfile, inst, inst.image, globals_)
        platform = self._expand(dockerfile, inst, inst.platform, globals_) if inst.platform else None
        if not name:
            raise located(dockerfile.name, inst.line, f"base name ({inst.image}) should not be blank")
        state = StageState(stage.index, stage.name, args.stage())
        env.committer.reset()
        previous = dockerfile.stage_index(name, before=stage.index)
        if previous is not None and not name.isdigit():
            done = env.finished[previous]
            state.config = copy.deepcopy(done.config)
            state.image_id, state.layers, state.layer_dirs = done.image_id, list(done.layers), list(done.layer_dirs)
        elif name.lower() != SCRATCH:
            try:
                image = env.resolve_image(name, platform, pull)  # type: ignore[call-arg]
            except PynsError as e:
                raise located(dockerfile.name, inst.line, str(e)) from None
            env.committer.adopt(state, image)
            self.log(f" ---> {_short(image.id)}\n")
        else:
            state.config = scratch_config()
        run = state.run_config
        ensure_path(run)
        triggers = list(run.get("OnBuild") or [])
        run["OnBuild"] = None
        if triggers:
            self._run_triggers(dispatcher, state, triggers, inst)
        return state

    def _run_triggers(self, dispatcher: Dispatcher, state: StageState, triggers: list[str], inst: From) -> None:
        name = dispatcher.env.dockerfile.name
        self.log(f"# Executing {len(triggers)} build trigger{'s' if len(triggers) != 1 else ''}\n")
        for trigger in triggers:
            try:
                nodes = parse_lines(trigger, "ONBUILD").nodes
                for node in nodes:
                    if node.keyword in ("ONBUILD", "FROM", "MAINTAINER"):
                        raise InvalidArgument(f"{node.keyword} isn't allowed as an ONBUILD trigger")
                    sub = to_instruction(node)
                    self._dispatch(dispatcher, state, _at_line(sub, inst.line), name)
            except (InvalidArgument, BuildError) as e:
                if isinstance(e, BuildError) and str(e).startswith(f"{name}:"):
                    raise
                raise located(name, inst.line, f"ONBUILD trigger {trigger!r}: {e}") from None

    def _add_labels(self, dispatcher: Dispatcher, state: StageState, labels: dict[str, str], step: int, total: int,
                    name: str) -> None:
        """``--label``: docker appends a LABEL instruction to the last stage."""
        text = "LABEL " + " ".join(f"{_quote(k)}={_quote(v)}" for k, v in labels.items())
        node = Node("LABEL", (), text[len("LABEL "):], 0, 0, text)
        self.log(f"Step {step}/{total} : {text}\n")
        pairs = tuple((_quote(k), _quote(v)) for k, v in labels.items())
        self._dispatch(dispatcher, state, Pairs(node, pairs), name)


def _quote(text: str) -> str:
    """Quote a --label key or value so that it survives Dockerfile word splitting."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("$", "\\$") + '"'


def _at_line(inst: Instruction, line: int) -> Instruction:
    """A trigger instruction reported at the FROM line that pulled it in."""
    node = inst.node
    moved = Node(node.keyword, node.flags, node.args, line, line, node.original, node.heredocs)
    return type(inst)(**{**inst.__dict__, "node": moved})  # type: ignore[arg-type]
