"""User-namespace id maps: what --userns-remap turns into.

A remapped container's root is an unprivileged host uid: ids 0..N-1 inside
are the host ranges given to a user in /etc/subuid and /etc/subgid,
concatenated in file order (as docker's --userns-remap does). ``default``
uses the ranges of the user ``pyns-remap`` when the files name it, else
the first 65536 ids from 100000 up that no entry in those files claims, so
pyns never shares ids with a user's own rootless containers.
"""
from __future__ import annotations

import grp
import pwd

from pyns.errors import InvalidArgument
from pyns.records import record

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (see pyns/__init__.py)
if TYPE_CHECKING:
    from typing import Any, Callable

SUBUID, SUBGID = "/etc/subuid", "/etc/subgid"
DEFAULT_USER = "pyns-remap"
DEFAULT_START, DEFAULT_SIZE = 100000, 65536

Range = tuple[int, int, int]  # inside, outside (host), count


@record(frozen=True)
class IdMap:
    """uid and gid ranges of one user namespace, as written to uid_map/gid_map."""

    uids: tuple[Range, ...]
    gids: tuple[Range, ...]

    @staticmethod
    def _text(ranges: tuple[Range, ...]) -> str:
        return "".join(f"{i} {o} {n}\n" for i, o, n in ranges)

    @property
    def uid_map(self) -> str:
        return self._text(self.uids)

    @property
    def gid_map(self) -> str:
        return self._text(self.gids)

    @staticmethod
    def _to_host(ranges: tuple[Range, ...], id_: int) -> int:
        for inside, outside, count in ranges:
            if inside <= id_ < inside + count:
                return outside + id_ - inside
        raise InvalidArgument(f"id {id_} is not mapped in the container's user namespace")

    def host_uid(self, uid: int) -> int:
        return self._to_host(self.uids, uid)

    def host_gid(self, gid: int) -> int:
        return self._to_host(self.gids, gid)

    @property
    def key(self) -> str:
        """A directory name for what depends on the mapping (chowned layer copies)."""
        return f"{self.host_uid(0)}.{self.host_gid(0)}"

    def to_record(self) -> dict[str, list[list[int]]]:
        return {"UidMap": [list(r) for r in self.uids], "GidMap": [list(r) for r in self.gids]}

    @classmethod
    def from_record(cls, data: dict | None) -> "IdMap | None":
        if not data:
            return None
        return cls(tuple(tuple(r) for r in data["UidMap"]), tuple(tuple(r) for r in data["GidMap"]))


def parse_subid(text: str) -> list[tuple[str, int, int]]:
    """/etc/subuid lines ``name-or-id:start:count``; comments and bad lines skipped."""
    out = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.split(":")
        if len(parts) != 3 or not parts[0]:
            continue
        try:
            start, count = int(parts[1]), int(parts[2])
        except ValueError:
            continue
        if start >= 0 and count > 0:
            out.append((parts[0], start, count))
    return out


def read_subid(path: str) -> list[tuple[str, int, int]]:
    """The entries of /etc/subuid or /etc/subgid (none when the file is missing)."""
    try:
        with open(path, encoding="utf-8") as f:
            return parse_subid(f.read())
    except FileNotFoundError:
        return []


def ranges_for(entries: list[tuple[str, int, int]], names: set[str]) -> tuple[Range, ...]:
    """The ranges an owner (known by any of names) has, stacked from 0 inside."""
    out, inside = [], 0
    for owner, start, count in entries:
        if owner in names:
            out.append((inside, start, count))
            inside += count
    return tuple(out)


def free_range(entries: list[tuple[str, int, int]], size: int = DEFAULT_SIZE, start: int = DEFAULT_START) -> int:
    """The lowest start >= start whose size ids no entry overlaps."""
    for _, s, n in sorted(entries, key=lambda e: e[1]):
        if s < start + size and start < s + n:
            start = s + n
    return start


def _names(name: str, by_name: Callable[[str], Any], by_id: Callable[[int], Any]) -> set[str]:
    """A user/group known by name or number: both spellings, as subuid files use either."""
    try:
        entry = by_id(int(name)) if name.isdigit() else by_name(name)
    except (KeyError, OverflowError):
        return {name}
    return {name, entry[0], str(entry[2])}


def resolve(setting: str, subuid: str = SUBUID, subgid: str = SUBGID) -> IdMap:
    """``default`` or ``USER[:GROUP]`` -> the id map (docker's --userns-remap values)."""
    setting = setting.strip()
    uid_entries, gid_entries = read_subid(subuid), read_subid(subgid)
    if setting == "default":
        uids = ranges_for(uid_entries, {DEFAULT_USER})
        gids = ranges_for(gid_entries, {DEFAULT_USER})
        if not uids or not gids:
            start = free_range(uid_entries + gid_entries)
            uids = gids = ((0, start, DEFAULT_SIZE),)
        return IdMap(uids, gids)
    user, _, group = setting.partition(":")
    if not user or ":" in group:
        raise InvalidArgument(f"invalid --userns-remap value {setting!r}: use default or USER[:GROUP]")
    group = group or user
    uids = ranges_for(uid_entries, _names(user, pwd.getpwnam, pwd.getpwuid))
    if not uids:
        raise InvalidArgument(f"can't create ID mappings: no subuid ranges found for user {user!r} in {subuid}")
    gids = ranges_for(gid_entries, _names(group, grp.getgrnam, grp.getgrgid))
    if not gids:
        raise InvalidArgument(f"can't create ID mappings: no subgid ranges found for group {group!r} in {subgid}")
    return IdMap(uids, gids)
