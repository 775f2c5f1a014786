"""A stage being built: its image so far, run config, arguments, and the next config.

Docker's classic builder keeps one mutable "run config" per stage and
commits an image after every instruction. Here a stage holds the last
committed image (id, full OCI config, layers) and the step's code derives
the next config from it with :func:`child_config`, which appends the
history entry and, for steps that changed files, the layer's diff_id.
"""
from __future__ import annotations

import copy
from typing import Any

from pyns.build.buildargs import StageArgs
from pyns.images.image import Image
from pyns.images.layers import Layer
from pyns.images.platform import host_platform
from pyns.images.shellwords import env_map
from pyns.records import field, record

DEFAULT_SHELL = ("/bin/sh", "-c")
DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
_NOT_INHERITED = ("history", "rootfs", "created", "comment", "config", "container_config", "container",
                  "docker_version")


def scratch_config() -> dict[str, Any]:
    """The config of ``FROM scratch``: this host's platform, nothing else."""
    return {**host_platform(), "config": {}, "rootfs": {"type": "layers", "diff_ids": []}, "history": []}


@record
class StageState:
    """Where one stage is: last image (None before any commit on scratch) and its config."""

    index: int
    name: str | None
    args: StageArgs
    config: dict[str, Any] = field(default_factory=scratch_config)
    image_id: str | None = None
    layers: list[Layer] = field(default_factory=list)
    layer_dirs: list[str] = field(default_factory=list)
    cmd_set: bool = False

    @property
    def run_config(self) -> dict[str, Any]:
        """The container config part (``Env``, ``Cmd``, ``WorkingDir``, ...)."""
        return self.config.setdefault("config", {})

    @property
    def shell(self) -> list[str]:
        return list(self.run_config.get("Shell") or DEFAULT_SHELL)

    def env(self) -> dict[str, str]:
        return env_map(self.run_config.get("Env"))

    def expansion_env(self) -> dict[str, str]:
        """What ``$VAR`` sees in this stage's instructions: ENV, then declared ARGs."""
        return self.args.expansion_env(self.env())

    @property
    def chain_id(self) -> str | None:
        return self.layers[-1].chain_id if self.layers else None

    def adopt(self, image: Image, layers: list[Layer], layer_dirs: list[str]) -> None:
        """Continue from ``image`` (a committed step, a cache hit, or the FROM image)."""
        self.image_id = image.id
        self.config = copy.deepcopy(image.config)
        self.layers = list(layers)
        self.layer_dirs = list(layer_dirs)


def ensure_path(run_config: dict[str, Any]) -> None:
    """docker adds the default PATH to a stage's ENV when its base image has none."""
    env = list(run_config.get("Env") or [])
    if not any(e.partition("=")[0] == "PATH" for e in env):
        run_config["Env"] = [*env, f"PATH={DEFAULT_PATH}"]


def child_config(parent: dict[str, Any], run_config: dict[str, Any], created: str, created_by: str,
                 diff_id: str | None) -> dict[str, Any]:
    """The OCI config of the image a step commits on top of ``parent``."""
    config = {k: copy.deepcopy(v) for k, v in parent.items() if k not in _NOT_INHERITED}
    entry: dict[str, Any] = {"created": created, "created_by": created_by}
    if config.get("author"):
        entry["author"] = config["author"]
    if diff_id is None:
        entry["empty_layer"] = True
    diff_ids = list((parent.get("rootfs") or {}).get("diff_ids") or [])
    if diff_id is not None:
        diff_ids.append(diff_id)
    config.update({
        "created": created,
        "config": run_config,
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
        "history": [*copy.deepcopy(parent.get("history") or []), entry],
    })
    return config
