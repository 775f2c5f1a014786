"""``-v/--volume`` specs, checked the way the docker CLI and daemon check them.

A spec goes through two parsers in docker: the CLI's (which splits on colons,
spots empty sections and decides whether the spec has a source) and the
daemon's Linux parser (modes, absolute paths, the target "/" ban), and named
volumes then meet the local driver's name rules. :func:`parse_volume` runs
the same three checks in the same order, so the first error is docker's.
"""
from __future__ import annotations

import re
from typing import Literal

from pyns.errors import InvalidArgument
from pyns.options._go import clean_path, quote
from pyns.records import record

PROPAGATIONS = ("private", "rprivate", "slave", "rslave", "shared", "rshared")
_GROUPS = {
    "rw": "rw", "ro": "rw", "z": "label", "Z": "label", "nocopy": "copy",
    "consistent": "consistency", "cached": "consistency", "delegated": "consistency",
    **{p: "propagation" for p in PROPAGATIONS},
}
_VOLUME_NAME = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9_.-]+")
VOLUME_NAME_CHARS = "[a-zA-Z0-9][a-zA-Z0-9_.-]"

Kind = Literal["bind", "volume", "anonymous"]


@record(frozen=True)
class VolumeSpec:
    """One parsed ``-v`` value.

    ``source`` is the cleaned host path (bind), the volume name (volume) or
    "" (anonymous); ``target`` is the cleaned container path; ``options`` are
    the mode words as given (``ro``, ``z``, ``rshared``, ``nocopy``, ...).
    """

    source: str
    target: str
    read_only: bool
    kind: Kind
    options: tuple[str, ...] = ()

    @property
    def mode(self) -> str:
        """The raw mode string, as docker stores it in MountPoint.Mode."""
        return ",".join(self.options)

    @property
    def propagation(self) -> str:
        """Bind propagation; docker's default is rprivate, volumes have none."""
        if self.kind != "bind":
            return ""
        return next((o for o in self.options if o in PROPAGATIONS), "rprivate")

    @property
    def selinux_label(self) -> str:
        """"z", "Z" or ""."""
        return next((o for o in self.options if o in ("z", "Z")), "")

    @property
    def copy_data(self) -> bool:
        """Whether a new volume is seeded from the image (off with nocopy)."""
        return self.kind != "bind" and "nocopy" not in self.options

    def __str__(self) -> str:
        """The spec back in ``-v`` syntax (parses to an equal VolumeSpec)."""
        parts = [self.source, self.target] if self.source else [self.target]
        if self.options:
            parts.append(self.mode)
        return ":".join(parts)


def _valid_mode(mode: str) -> bool:
    """linuxValidMountMode: known words, at most one of each group."""
    if mode == "":
        return True
    seen: set[str] = set()
    for word in mode.split(","):
        group = _GROUPS.get(word)
        if group is None or group in seen:
            return False
        seen.add(group)
    return True


def _cli_source(spec: str) -> str:
    """The CLI's volumespec.Parse: returns the source it sees ("" = anonymous)."""
    if spec == "":
        raise InvalidArgument("invalid empty volume spec")
    if len(spec.encode("utf-8", "surrogatepass")) <= 2:
        return ""
    source = target = ""
    buffer: list[str] = []
    for char in spec + "\0":
        if char == ":" and len(buffer) == 1 and buffer[0].isalpha():
            buffer.append(char)  # looks like a Windows drive letter
        elif char in (":", "\0"):
            text = "".join(buffer)
            if not buffer:
                raise InvalidArgument(f"invalid spec: {spec}: empty section between colons")
            if source == "" and char == "\0":
                target = text
            elif source == "":
                source = text
            elif target == "":
                target = text
            elif char == ":":
                raise InvalidArgument(f"invalid spec: {spec}: too many colons")
            buffer = []
        else:
            buffer.append(char)
    return source


def _is_file_path(source: str) -> bool:
    """The CLI's isFilePath: decides whether a source is made absolute."""
    if source[0] in "./~":
        return True
    if len(source) == 1:
        return False
    if source.startswith("\\\\"):
        return True
    return source[0].isalpha() and source[1] == ":"


def _mount_error(raw: str, kind: str, message: str) -> InvalidArgument:
    return InvalidArgument(f"invalid volume specification: '{raw}': invalid mount config for type {quote(kind)}: {message}")


def _check_target(raw: str, kind: str, target: str) -> str:
    """validateMountTarget, plus: the cleaned target must really be absolute.

    Docker tests absoluteness after turning backslashes into slashes but then
    mounts the unconverted path; we refuse such targets instead.
    """
    if target == "":
        raise _mount_error(raw, kind, "field Target must not be empty")
    if clean_path(target.replace("\\", "/")) == "/":
        raise _mount_error(raw, kind, "invalid specification: destination can't be '/'")
    cleaned = clean_path(target)
    if not target.replace("\\", "/").startswith("/") or not cleaned.startswith("/"):
        raise _mount_error(raw, kind, f"invalid mount path: '{target.replace(chr(92), '/')}' mount path must be absolute")
    return cleaned


def check_volume_name(name: str) -> None:
    """The local volume driver's name rules, with its error text."""
    if len(name.encode("utf-8", "surrogatepass")) == 1:
        raise InvalidArgument(f"create {name}: volume name is too short, names should be at least two alphanumeric characters")
    if not _VOLUME_NAME.fullmatch(name):
        raise InvalidArgument(
            f"create {name}: {quote(name)} includes invalid characters for a local volume name, "
            f"only {quote(VOLUME_NAME_CHARS)} are allowed. If you intended to pass a host directory, use absolute path"
        )


def parse_volume(spec: str, cwd: str | None = None) -> VolumeSpec:
    """Parse ``HOST:CTR[:opts]``, ``NAME:CTR[:opts]`` or ``/CTR`` like docker.

    ``cwd``, when given, turns ``./dir`` and ``.`` sources into absolute
    paths as the CLI does; without it they are rejected as volume names.
    Duplicate targets are the caller's business.
    """
    if not isinstance(spec, str):
        raise InvalidArgument(f"invalid volume specification: '{spec}'")
    source = _cli_source(spec)
    if source == "":
        target = _check_target(spec, "volume", spec)
        return VolumeSpec("", target, False, "anonymous")
    raw = spec
    if _is_file_path(source) and cwd is not None:
        host, _, rest = spec.partition(":")
        if not host.startswith("/") and host.startswith("."):
            raw = clean_path(cwd.rstrip("/") + "/" + host) + ":" + rest
    return _parse_mount_raw(raw)


def _parse_mount_raw(raw: str) -> VolumeSpec:
    """The daemon's linuxParser.ParseMountRaw for a spec with a source."""
    parts = raw.split(":", 3)
    if parts[0] == "" or len(parts) == 4:
        raise InvalidArgument(f"invalid volume specification: '{raw}'")
    mode = ""
    if len(parts) == 2:
        if _valid_mode(parts[1]):
            raise InvalidArgument(f"invalid volume specification: '{raw}'")
        source, target = parts
    elif len(parts) == 3:
        source, target, mode = parts
    else:
        source, target = "", parts[0]
    if not _valid_mode(mode):
        raise InvalidArgument(f"invalid mode: {mode}")
    options = tuple(mode.split(",")) if mode else ()
    kind: Kind = "bind" if source.startswith("/") else "volume"
    if source == "":
        kind = "anonymous"
    cleaned = _check_target(raw, "volume" if kind == "anonymous" else kind, target)
    if kind == "bind" and "nocopy" in options:
        raise _mount_error(raw, kind, "field VolumeOptions must not be specified")
    if kind != "bind" and any(o in PROPAGATIONS for o in options):
        raise _mount_error(raw, "volume", "field BindOptions must not be specified")
    if kind == "volume":
        check_volume_name(source)
    return VolumeSpec(clean_path(source) if kind == "bind" else source, cleaned, "ro" in options, kind, options)
