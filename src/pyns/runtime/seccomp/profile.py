"""Docker's seccomp profile format: parse and validate JSON into a model.

The format is the one ``docker run --security-opt seccomp=FILE`` reads
(moby's ``types.Seccomp``): ``defaultAction``/``defaultErrnoRet``, either
``architectures`` or ``archMap``, ``flags``, and ``syscalls`` rules with
``name``/``names``, ``action``, ``errnoRet``, ``args`` and ``includes`` /
``excludes`` conditions (``caps``, ``arches``, ``minKernel``).

Parsing is strict about what docker would reject or silently mis-apply
(unknown actions and operators, an errno on an action that has none, both
``name`` and ``names``) and lenient about extra keys, as Go's JSON decoder
is, so that profiles written for docker (with ``comment`` fields and the
like) load unchanged. Every problem is an :class:`InvalidArgument` that
says where in the document it is.
"""
from __future__ import annotations

import json
import re
from typing import Any

from pyns.errors import InvalidArgument
from pyns.records import field, record
from pyns.runtime.seccomp.context import normalize_cap

# Actions and their kernel return values (SECCOMP_RET_*, as libseccomp's SCMP_ACT_*).
ACTIONS: dict[str, int] = {
    "SCMP_ACT_KILL": 0x00000000,
    "SCMP_ACT_KILL_THREAD": 0x00000000,
    "SCMP_ACT_KILL_PROCESS": 0x80000000,
    "SCMP_ACT_TRAP": 0x00030000,
    "SCMP_ACT_ERRNO": 0x00050000,
    "SCMP_ACT_TRACE": 0x7FF00000,
    "SCMP_ACT_LOG": 0x7FFC0000,
    "SCMP_ACT_ALLOW": 0x7FFF0000,
}
# Actions that carry a return value (errnoRet); EPERM when the profile gives none.
ERRNO_ACTIONS = frozenset({"SCMP_ACT_ERRNO", "SCMP_ACT_TRACE"})
EPERM = 1

OPERATORS: dict[str, int] = {  # enum scmp_compare
    "SCMP_CMP_NE": 1, "SCMP_CMP_LT": 2, "SCMP_CMP_LE": 3, "SCMP_CMP_EQ": 4,
    "SCMP_CMP_GE": 5, "SCMP_CMP_GT": 6, "SCMP_CMP_MASKED_EQ": 7,
}

ARCHITECTURES = frozenset({
    "SCMP_ARCH_X86", "SCMP_ARCH_X86_64", "SCMP_ARCH_X32", "SCMP_ARCH_ARM", "SCMP_ARCH_AARCH64",
    "SCMP_ARCH_MIPS", "SCMP_ARCH_MIPS64", "SCMP_ARCH_MIPS64N32", "SCMP_ARCH_MIPSEL",
    "SCMP_ARCH_MIPSEL64", "SCMP_ARCH_MIPSEL64N32", "SCMP_ARCH_PPC", "SCMP_ARCH_PPC64",
    "SCMP_ARCH_PPC64LE", "SCMP_ARCH_S390", "SCMP_ARCH_S390X", "SCMP_ARCH_PARISC",
    "SCMP_ARCH_PARISC64", "SCMP_ARCH_RISCV64", "SCMP_ARCH_LOONGARCH64",
})

FLAGS = frozenset({
    "SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
    "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV",
})

MAX_ARG_INDEX = 5  # syscalls take at most six arguments
MAX_RET_DATA = 0xFFFF  # SECCOMP_RET_DATA: what fits beside the action
_U64 = (1 << 64) - 1
_KERNEL_RE = re.compile(r"^(\d+)\.(\d+)$")


@record(frozen=True)
class Arg:
    """One argument comparison: ``args[index] op value`` (MASKED_EQ: ``& value == valueTwo``)."""

    index: int
    value: int
    value_two: int
    op: str


@record(frozen=True)
class Condition:
    """An ``includes``/``excludes`` block: capability names (no ``CAP_``), arches, minimum kernel."""

    caps: tuple[str, ...] = ()
    arches: tuple[str, ...] = ()
    min_kernel: tuple[int, int] | None = None

    def __bool__(self) -> bool:
        return bool(self.caps or self.arches or self.min_kernel)


@record(frozen=True)
class Rule:
    names: tuple[str, ...]
    action: str
    errno_ret: int | None = None
    args: tuple[Arg, ...] = ()
    includes: Condition = field(default_factory=Condition)
    excludes: Condition = field(default_factory=Condition)
    comment: str = ""


@record(frozen=True)
class ArchMapEntry:
    architecture: str
    sub_architectures: tuple[str, ...] = ()


@record(frozen=True)
class Profile:
    """A parsed profile. An empty ``default_action`` with no rules means "no filter" (docker's rule)."""

    default_action: str
    default_errno_ret: int | None = None
    architectures: tuple[str, ...] = ()
    arch_map: tuple[ArchMapEntry, ...] = ()
    flags: tuple[str, ...] = ()
    syscalls: tuple[Rule, ...] = ()

    @property
    def disabled(self) -> bool:
        return not self.default_action and not self.syscalls


def action_value(action: str, errno_ret: int | None) -> int:
    """The kernel's return value for an action; ERRNO and TRACE carry errno_ret (EPERM if None)."""
    value = ACTIONS[action]
    if action in ERRNO_ACTIONS:
        value |= EPERM if errno_ret is None else errno_ret
    return value


class _Error(Exception):
    """A problem at a path in the document; becomes InvalidArgument at the top."""


def _type_name(v: Any) -> str:
    return {dict: "object", list: "array", str: "string", bool: "boolean", int: "number",
            float: "number", type(None): "null"}.get(type(v), type(v).__name__)


def _expect(where: str, v: Any, kind: type | tuple[type, ...], what: str) -> Any:
    if not isinstance(v, kind) or (isinstance(v, bool) and kind is not bool):
        raise _Error(f"{where}: expected {what}, got {_type_name(v)}")
    return v


def _uint(where: str, v: Any, maximum: int) -> int:
    _expect(where, v, int, "an unsigned integer")
    if not 0 <= v <= maximum:
        raise _Error(f"{where}: {v} is out of range 0..{maximum}")
    return v


def _strings(where: str, v: Any, allowed: frozenset[str] | None = None) -> tuple[str, ...]:
    if v is None:
        return ()
    _expect(where, v, list, "an array of strings")
    out = []
    for i, s in enumerate(v):
        _expect(f"{where}[{i}]", s, str, "a string")
        if allowed is not None and s not in allowed:
            raise _Error(f"{where}[{i}]: unknown value {s!r}")
        out.append(s)
    return tuple(out)


def _condition(where: str, v: Any) -> Condition:
    if v is None:
        return Condition()
    _expect(where, v, dict, "an object")
    min_kernel = None
    if v.get("minKernel") not in (None, ""):
        mk = _expect(f"{where}.minKernel", v["minKernel"], str, "a string")
        m = _KERNEL_RE.match(mk)
        if not m:
            raise _Error(f'{where}.minKernel: invalid kernel version {mk!r}, expected "<kernel>.<major>"')
        min_kernel = (int(m.group(1)), int(m.group(2)))
    return Condition(caps=tuple(normalize_cap(c) for c in _strings(f"{where}.caps", v.get("caps"))),
                     arches=_strings(f"{where}.arches", v.get("arches")), min_kernel=min_kernel)


def _arg(where: str, v: Any) -> Arg:
    _expect(where, v, dict, "an object")
    op = _expect(f"{where}.op", v.get("op"), str, "a string")
    if op not in OPERATORS:
        raise _Error(f"{where}.op: unknown operator {op!r}")
    return Arg(index=_uint(f"{where}.index", v.get("index", 0), MAX_ARG_INDEX),
               value=_uint(f"{where}.value", v.get("value", 0), _U64),
               value_two=_uint(f"{where}.valueTwo", v.get("valueTwo", 0), _U64), op=op)


def _action(where: str, v: Any) -> str:
    action = _expect(where, v, str, "a string")
    if action == "SCMP_ACT_NOTIFY":
        raise _Error(f"{where}: SCMP_ACT_NOTIFY is not supported by pyns")
    if action not in ACTIONS:
        raise _Error(f"{where}: unknown action {action!r}")
    return action


def _errno(where: str, v: Any, action: str) -> int | None:
    if v is None:
        return None
    if action not in ERRNO_ACTIONS:
        raise _Error(f"{where}: errnoRet is only supported for SCMP_ACT_ERRNO and SCMP_ACT_TRACE, not {action}")
    return _uint(where, v, MAX_RET_DATA)


def _rule(where: str, v: Any) -> Rule:
    _expect(where, v, dict, "an object")
    name, names = v.get("name"), v.get("names")
    if name and names:
        raise _Error(f"{where}: both 'name' and 'names' are specified, use either 'name' or 'names'")
    all_names = (_expect(f"{where}.name", name, str, "a string"),) if name else _strings(f"{where}.names", names)
    if not all_names or not all(all_names):
        raise _Error(f"{where}: a rule needs a non-empty 'name' or 'names'")
    action = _action(f"{where}.action", v.get("action"))
    args = _expect(f"{where}.args", v.get("args") or [], list, "an array")
    comment = v.get("comment") or ""
    return Rule(names=all_names, action=action, errno_ret=_errno(f"{where}.errnoRet", v.get("errnoRet"), action),
                args=tuple(_arg(f"{where}.args[{i}]", a) for i, a in enumerate(args)),
                includes=_condition(f"{where}.includes", v.get("includes")),
                excludes=_condition(f"{where}.excludes", v.get("excludes")),
                comment=comment if isinstance(comment, str) else "")


def _arch_map(where: str, v: Any) -> tuple[ArchMapEntry, ...]:
    out = []
    for i, e in enumerate(_expect(where, v or [], list, "an array")):
        w = f"{where}[{i}]"
        _expect(w, e, dict, "an object")
        arch = _expect(f"{w}.architecture", e.get("architecture"), str, "a string")
        if arch not in ARCHITECTURES:
            raise _Error(f"{w}.architecture: unknown architecture {arch!r}")
        out.append(ArchMapEntry(arch, _strings(f"{w}.subArchitectures", e.get("subArchitectures"), ARCHITECTURES)))
    return tuple(out)


def from_document(doc: Any) -> Profile:
    """A decoded JSON document -> Profile (raises InvalidArgument)."""
    try:
        _expect("profile", doc, dict, "an object")
        if doc.get("listenerPath"):
            raise _Error("listenerPath: seccomp user notification (SCMP_ACT_NOTIFY) is not supported by pyns")
        rules = _expect("syscalls", doc.get("syscalls") or [], list, "an array")
        default = doc.get("defaultAction")
        if default in (None, "") and rules:
            raise _Error("defaultAction: required when syscalls are given")
        default = "" if default in (None, "") else _action("defaultAction", default)
        architectures = _strings("architectures", doc.get("architectures"), ARCHITECTURES)
        arch_map = _arch_map("archMap", doc.get("archMap"))
        if architectures and arch_map:
            raise _Error("both 'architectures' and 'archMap' are specified, use either 'architectures' or 'archMap'")
        default_errno = doc.get("defaultErrnoRet")
        return Profile(
            default_action=default,
            default_errno_ret=_errno("defaultErrnoRet", default_errno, default) if default else None,
            architectures=architectures,
            arch_map=arch_map,
            flags=_strings("flags", doc.get("flags"), FLAGS),
            syscalls=tuple(_rule(f"syscalls[{i}]", r) for i, r in enumerate(rules)),
        )
    except _Error as e:
        raise InvalidArgument(f"decoding seccomp profile failed: {e}") from None


def parse(text: str | bytes) -> Profile:
    """JSON text -> Profile, with docker's wording for a document that is not JSON."""
    try:
        doc = json.loads(text)
    except (ValueError, UnicodeDecodeError) as e:
        raise InvalidArgument(f"decoding seccomp profile failed: {e}") from None
    return from_document(doc)
