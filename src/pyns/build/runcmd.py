"""The RUN step: the command line (shell, exec form, heredocs), cache key, container, layer.

Like docker's classic builder, the command recorded in history and used
as the cache key is prefixed with the build arguments in effect
(``|2 A=1 B=2 /bin/sh -c make``), so changing a build argument busts the
cache from the first RUN that sees it. Heredocs are passed to the shell
(``RUN cat <<EOF >f``); a RUN that is a single heredoc runs it as a
script, through its ``#!`` interpreter when it has one.
"""
from __future__ import annotations

import shlex
from collections.abc import Callable
from typing import TYPE_CHECKING

from pyns.build.cache import step_key
from pyns.build.diff import UpperDiff
from pyns.build.instructions import Command
from pyns.build.layertar import Meta
from pyns.build.runstep import RunRequest, run_in_container
from pyns.build.state import StageState
from pyns.errors import BuildError

if TYPE_CHECKING:
    from pyns.build.steps import Dispatcher


def command_line(state: StageState, inst: Command) -> tuple[list[str], bytes | None]:
    """(argv, stdin) of the RUN; stdin carries a ``#!`` heredoc script."""
    if inst.exec_form:
        return list(inst.args), None
    text = inst.args[0]
    docs = inst.node.heredocs
    if not docs:
        return [*state.shell, text], None
    words = text.split()
    if len(docs) == 1 and len(words) == 1 and words[0].startswith("<<"):
        script = docs[0].content
        if script.startswith("#!"):
            interpreter = shlex.split(script.splitlines()[0][2:])
            return [*interpreter, "/dev/stdin"], script.encode("utf-8", "surrogateescape")
        return [*state.shell, script], None
    body = "".join(f"\n{doc.content}{doc.name}" for doc in docs)
    return [*state.shell, text + body], None


def dispatch_run(dispatcher: Dispatcher, state: StageState, inst: Command) -> None:
    env = dispatcher.env
    argv, stdin = command_line(state, inst)
    config_env = state.env()
    save_cmd = [*state.args.history_prefix(config_env), *argv]
    network = inst.network or env.network
    key = step_key("RUN", save_cmd, stdin.decode("utf-8", "surrogateescape") if stdin else None, network)
    if dispatcher.cached(state, key):
        return
    # FROM scratch and nothing yet: the container still needs an image to start from
    image_id = state.image_id or env.committer.bare_image(state)
    run_config = state.run_config
    request = RunRequest(
        image_id=image_id, argv=argv,
        env=[f"{k}={v}" for k, v in state.args.without(config_env).items()],
        workdir=run_config.get("WorkingDir") or "", user=run_config.get("User") or "", network=network,
        stdin=stdin)
    decoder = _LineRelay(env.log)
    result: dict[str, object] = {}

    def on_exit(code: int, upper: str) -> None:
        decoder.flush()
        if code != 0:
            error = BuildError(f"The command '{' '.join(argv)}' returned a non-zero code: {code}")
            error.exit_code = code
            raise error
        fs = dispatcher.fs(state)
        diff = UpperDiff(upper, fs, (run_config.get("Volumes") or {}).keys())
        layer = None
        if not diff.empty():
            layer = env.committer.pending(state, fs, Meta(0o755))
            diff.write(layer.writer)
        result["layer"] = layer

    def on_start(cid: str) -> None:
        env.log(f" ---> Running in {cid[:12]}\n")
        result["cid"] = cid

    run_in_container(env.engine.containers, env.engine.manager, request, on_start, decoder.feed, on_exit)
    env.log(f"Removing intermediate container {str(result['cid'])[:12]}\n")
    env.committer.commit(state, run_config, " ".join(save_cmd), key, result.get("layer"))  # type: ignore[arg-type]


class _LineRelay:
    """Turns the container's output bytes into log text, whole lines when possible."""

    def __init__(self, log: Callable[[str], None]) -> None:
        self.log = log
        self.pending = b""

    def feed(self, chunk: bytes) -> None:
        data = self.pending + chunk
        cut = data.rfind(b"\n") + 1
        self.pending = data[cut:]
        if cut:
            self.log(data[:cut].decode("utf-8", "replace"))

    def flush(self) -> None:
        if self.pending:
            self.log(self.pending.decode("utf-8", "replace") + "\n")
            self.pending = b""
