"""A whole Dockerfile: global ARGs, then stages, each a FROM and its instructions.

``parse_dockerfile`` is the pure entry point the builder (and tests) use:
text in, a :class:`Dockerfile` out, or one BuildError naming the first bad
line. Stage lookup (``AS name`` or index, case-insensitive) and
``--target`` selection live here too, because they only need the text.
"""
from __future__ import annotations

from pyns.build.instructions import Arg, From, Instruction, from_node
from pyns.build.parser import located, parse
from pyns.errors import BuildError
from pyns.records import record


@record(frozen=True)
class Stage:
    index: int
    name: str | None
    from_: From
    instructions: tuple[Instruction, ...]

    @property
    def steps(self) -> int:
        """How many ``Step N/M`` lines the stage prints (FROM included)."""
        return 1 + len(self.instructions)


@record(frozen=True)
class Dockerfile:
    name: str
    escape: str
    meta_args: tuple[Arg, ...]
    stages: tuple[Stage, ...]

    def stage_index(self, ref: str, before: int | None = None) -> int | None:
        """The stage called ``ref`` (a name, or a number for ``COPY --from=0``), if any.

        ``before`` limits the search to earlier stages, as a stage can only
        use the ones defined above it.
        """
        limit = len(self.stages) if before is None else before
        if ref.isdigit():
            index = int(ref)
            return index if index < limit else None
        for stage in self.stages[:limit]:
            if stage.name is not None and stage.name == ref.lower():
                return stage.index
        return None

    def up_to(self, target: str | None) -> tuple[Stage, ...]:
        """The stages a build runs: all of them, or those up to ``--target``."""
        if not target:
            return self.stages
        index = self.stage_index(target)
        if index is None or target.isdigit():
            raise BuildError(f"failed to reach build target {target} in Dockerfile")
        return self.stages[:index + 1]


def parse_dockerfile(text: str, name: str = "Dockerfile") -> Dockerfile:
    """Parse and check a whole Dockerfile; BuildError ``name:line: message`` on errors."""
    parsed = parse(text, name)
    if not parsed.nodes:
        raise BuildError(f"{name}: file with no instructions")
    meta: list[Arg] = []
    stages: list[Stage] = []
    current: From | None = None
    body: list[Instruction] = []
    names: set[str] = set()

    def close() -> None:
        if current is not None:
            stages.append(Stage(len(stages), current.stage_name, current, tuple(body)))

    for node in parsed.nodes:
        inst = from_node(node, name)
        if isinstance(inst, From):
            close()
            if inst.stage_name is not None:
                if inst.stage_name in names:
                    raise located(name, node.line, f"duplicate stage name {inst.stage_name!r}")
                names.add(inst.stage_name)
            current, body = inst, []
        elif current is None:
            if not isinstance(inst, Arg):
                raise located(name, node.line, f"no build stage in current context: {node.keyword} "
                                               "before the first FROM (only ARG may come first)")
            meta.append(inst)
        else:
            body.append(inst)
    close()
    if not stages:
        raise BuildError(f"{name}:{parsed.nodes[-1].line}: no FROM instruction: a Dockerfile needs a build stage")
    return Dockerfile(name, parsed.escape, tuple(meta), tuple(stages))
