"""``-u user[:group]`` and its resolution against the container's files.

Resolution follows moby/sys/user ``GetExecUser`` (what docker's daemon and
runc use) plus the daemon's ``getUser`` wrapper: names are looked up in the
image's /etc/passwd and /etc/group, numbers need no entry, and the primary
gid is also the first additional gid (docker does this since CVE-2022-36109).
"""
from __future__ import annotations

from collections.abc import Callable, Iterable

from pyns.errors import InvalidArgument
from pyns.options._go import GO_SPACE, atoi
from pyns.records import record

MAX_ID = (1 << 31) - 1
_RANGE = f"uids and gids must be in range 0-{MAX_ID}"

ReadFile = Callable[[str], "bytes | None"]


@record(frozen=True)
class ExecUser:
    """What runc's GetExecUser yields; ``home`` falls back to "/" like runc."""

    uid: int
    gid: int
    sgids: tuple[int, ...]
    home: str


@record(frozen=True)
class ResolvedUser:
    """Ids for the spawned process: ``additional_gids`` starts with ``gid``."""

    uid: int
    gid: int
    additional_gids: tuple[int, ...]


@record(frozen=True)
class _Arg:
    name: str
    number: int | None  # set when the argument is numeric


def _arg(text: str) -> _Arg | None:
    """parseUserArg/parseGroupArg: None when empty; numbers range-checked."""
    if text == "":
        return None
    number = atoi(text)
    if number is not None and not 0 <= number <= MAX_ID:
        raise InvalidArgument(_RANGE)
    return _Arg(text, number)


def parse_user(spec: str) -> tuple[str, str | None]:
    """Split ``user[:group]`` at the first colon; the group is None if absent.

    Only syntax is checked (numeric ids must be in 0..2**31-1).
    """
    if not isinstance(spec, str):
        raise InvalidArgument(f"invalid user: {spec!r}")
    user, _, group = spec.partition(":")
    _arg(user)
    _arg(group)
    return user, group or None


def _go_int(text: str) -> int:
    """Atoi with errors ignored, as the passwd parser does."""
    value = atoi(text)
    return value if value is not None and -(1 << 63) <= value < (1 << 63) else 0


def _records(data: bytes, skip_comments: bool) -> list[list[str]]:
    """Colon-split lines of a passwd/group file, trimmed like bytes.TrimSpace."""
    records = []
    for line in data.decode("utf-8", "surrogateescape").split("\n"):
        line = line.strip(GO_SPACE)
        if not line or (skip_comments and line[0] == "#"):
            continue
        records.append(line.split(":"))
    return records


def _field(record: list[str], index: int) -> str:
    return record[index] if index < len(record) else ""


def _groups(data: bytes | None) -> list[tuple[str, int, list[str]]]:
    """(name, gid, members) for each /etc/group entry."""
    if data is None:
        return []
    out = []
    for rec in _records(data, skip_comments=True):
        members = _field(rec, 3)
        out.append((rec[0], _go_int(_field(rec, 2)), members.split(",") if members else []))
    return out


def _matches(arg: _Arg, name: str, number: int) -> bool:
    return number == arg.number if arg.number is not None else name == arg.name


def lookup_exec_user(spec: str, read_file: ReadFile) -> ExecUser:
    """runc/moby GetExecUser for ``spec`` against the container's files.

    ``read_file(path)`` returns the bytes of "/etc/passwd" or "/etc/group" in
    the container, or None when missing. Errors use docker's wording, e.g.
    "unable to find user foo: no matching entries in passwd file".
    """
    if not isinstance(spec, str):
        raise InvalidArgument(f"invalid user: {spec!r}")
    user_text, _, group_text = spec.partition(":")
    user_arg, group_arg = _arg(user_text), _arg(group_text)
    uid, gid, home = 0, 0, "/"
    sgids: tuple[int, ...] = ()
    passwd = read_file("/etc/passwd")
    matched_name = ""
    for rec in _records(passwd, skip_comments=False) if passwd is not None else []:
        entry_uid = _go_int(_field(rec, 2))
        if (user_arg is None and entry_uid == 0) or (user_arg is not None and _matches(user_arg, rec[0], entry_uid)):
            matched_name, uid, gid, home = rec[0], entry_uid, _go_int(_field(rec, 3)), _field(rec, 5)
            break
    else:
        if user_arg is not None:
            if user_arg.number is None:
                raise InvalidArgument(f"unable to find user {user_arg.name}: no matching entries in passwd file")
            uid = user_arg.number
    if group_arg is not None or matched_name:
        groups = _groups(read_file("/etc/group"))
        if group_arg is not None:
            found = next((g for g in groups if _matches(group_arg, g[0], g[1])), None)
            if found is not None:
                gid = found[1]
            elif group_arg.number is None:
                raise InvalidArgument(f"unable to find group {group_arg.name}: no matching entries in group file")
            else:
                gid = group_arg.number
        else:
            sgids = tuple(g[1] for g in groups if matched_name in g[2])
    return ExecUser(uid, gid, sgids, home)


def additional_groups(names: Iterable[str], read_file: ReadFile) -> tuple[int, ...]:
    """``--group-add`` values to gids (GetAdditionalGroups), first-seen order."""
    args = [_arg(name) for name in names]
    wanted = [a for a in args if a is not None]
    if len(wanted) != len(args):
        raise InvalidArgument("invalid group: the name or id must not be empty")
    groups = _groups(read_file("/etc/group")) if wanted else []
    gids: dict[int, None] = {}
    for arg in wanted:
        found = next((g for g in groups if _matches(arg, g[0], g[1])), None)
        if found is not None:
            if not 0 <= found[1] <= MAX_ID:
                raise InvalidArgument(_RANGE)
            gids[found[1]] = None
        elif arg.number is None:
            raise InvalidArgument(f"unable to find group {arg.name}: no matching entries in group file")
        else:
            gids[arg.number] = None
    return tuple(gids)


def resolve_user(spec: str, read_file: ReadFile, group_add: Iterable[str] = ()) -> ResolvedUser:
    """uid, gid and supplementary gids for the container process, as docker.

    The primary gid is defaulted from the passwd entry when the user exists
    there, else 0; ``additional_gids`` is (gid, *groups listing the user,
    *group_add).
    """
    user = lookup_exec_user(spec, read_file)
    extra = additional_groups(list(group_add), read_file)
    return ResolvedUser(user.uid, user.gid, (user.gid, *user.sgids, *extra))
