"""Image references: docker's grammar and normalisation.

Users type ``busybox``, the store keys on ``docker.io/library/busybox:latest``
and ``docker images`` shows ``busybox`` again; all three views must agree
with docker exactly, or a name typed in one tool would not find an image
made by another. The grammar (distribution/reference)::

    reference := name [ ":" tag ] [ "@" digest ]
    name      := [ domain "/" ] path-component ( "/" path-component )*
    domain    := host [ ":" port ]      host := dns-name | "[" ipv6 "]"
    path-component := [a-z0-9]+ ( ( "." | "_" | "__" | "-"+ ) [a-z0-9]+ )*
    tag       := [\\w][\\w.-]{0,127}
    digest    := algorithm ":" hex{32,}

Normalisation (``splitDockerDomain``): the first ``/``-separated component
is a registry host only if it contains ``.`` or ``:``, is ``localhost``, or
has upper-case letters; otherwise the domain is ``docker.io`` and a single
component path gets the ``library/`` prefix.

The grammar is checked by hand-written scanners below, not by the regular
expressions it is written as here: compiling those cost every CLI start
~3 ms, a tenth of its imports. ``REFERENCE_PATTERN`` and ``NAME_PATTERN``
stay as the grammar's definition, and a property test checks that the
scanners and the compiled patterns agree on any string.
"""
from __future__ import annotations

from pyns.errors import InvalidArgument
from pyns.images import digest as dg
from pyns.records import record

DEFAULT_DOMAIN = "docker.io"
LEGACY_DEFAULT_DOMAIN = "index.docker.io"
OFFICIAL_PREFIX = "library/"
DEFAULT_TAG = "latest"
NAME_TOTAL_LENGTH_MAX = 255

_ALNUM = r"[a-z0-9]+"
_SEPARATOR = r"(?:[._]|__|[-]+)"
_PATH_COMPONENT = rf"{_ALNUM}(?:{_SEPARATOR}{_ALNUM})*"
_REMOTE_NAME = rf"{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*"
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN_NAME = rf"{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*"
_IPV6 = r"\[(?:[a-fA-F0-9:]+)\]"
_DOMAIN = rf"(?:{_DOMAIN_NAME}|{_IPV6})(?::[0-9]+)?"
_TAG = r"[\w][\w.-]{0,127}"
_DIGEST = r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}"
_NAME = rf"(?:{_DOMAIN}/)?{_REMOTE_NAME}"

# The grammar as regular expressions (compile with re.ASCII: Go's \w is
# [0-9A-Za-z_], Python's would accept any Unicode letter); the scanners below
# implement exactly these.
REFERENCE_PATTERN = rf"({_NAME})(?::({_TAG}))?(?:@({_DIGEST}))?"
NAME_PATTERN = rf"(?:({_DOMAIN})/)?({_REMOTE_NAME})"
TAG_PATTERN = _TAG

_LOWER_ALNUM = frozenset("abcdefghijklmnopqrstuvwxyz0123456789")
_WORD = dg.ASCII_ALNUM | {"_"}
_DIGITS = frozenset("0123456789")


def _is_path_component(s: str) -> bool:
    """[a-z0-9]+ ((. | _ | __ | -+) [a-z0-9]+)*"""
    if not s or s[0] not in _LOWER_ALNUM or s[-1] not in _LOWER_ALNUM:
        return False
    sep = ""
    for c in s:
        if c in _LOWER_ALNUM:
            if sep and sep not in (".", "_", "__") and sep.strip("-"):
                return False
            sep = ""
        elif c in "._-":
            sep += c
        else:
            return False
    return True


def _is_remote_name(s: str) -> bool:
    return all(_is_path_component(p) for p in s.split("/"))


def _is_domain_component(s: str) -> bool:
    return bool(s) and all(c in dg.ASCII_ALNUM or c == "-" for c in s) and s[0] != "-" and s[-1] != "-"


def _is_domain(s: str) -> bool:
    """(dns-name | [ipv6]) [:port]"""
    if s.startswith("["):
        end = s.find("]")
        if end < 2 or not all(c in dg.HEX_DIGITS or c == ":" for c in s[1:end]):
            return False
        colon, port = s[end + 1:end + 2], s[end + 2:]
        if not colon:
            return True
    else:
        host, colon, port = s.partition(":")
        if not all(_is_domain_component(p) for p in host.split(".")):
            return False
    return not colon or (colon == ":" and bool(port) and all(c in _DIGITS for c in port))


def _is_tag(s: str) -> bool:
    return 0 < len(s) <= 128 and s[0] in _WORD and all(c in _WORD or c in ".-" for c in s)


def _split_name(name: str) -> tuple[str | None, str] | None:
    """(domain or None, path) as NAME_PATTERN's groups would have them; None if no match."""
    first, slash, rest = name.partition("/")
    if slash and _is_domain(first) and _is_remote_name(rest):
        return first, rest
    return (None, name) if _is_remote_name(name) else None


def _match(s: str) -> tuple[str, str | None, str | None, str | None] | None:
    """(name, tag, digest, domain) as REFERENCE_PATTERN's fullmatch would give; None if none."""
    name_tag, at, digest = s.partition("@")
    if at and not dg.is_digest_format(digest):
        return None
    colon = name_tag.rfind(":")
    name, tag = name_tag, None
    if colon > name_tag.rfind("/"):  # a tag holds neither ":" nor "/"; a port is followed by "/"
        name, tag = name_tag[:colon], name_tag[colon + 1:]
        if not _is_tag(tag):
            return None
    split = _split_name(name)
    if split is None:
        return None
    return name, tag, digest if at else None, split[0]


ERR_FORMAT = "invalid reference format"
ERR_UPPERCASE = "invalid reference format: repository name must be lowercase"
ERR_EMPTY = "invalid reference format: repository name must have at least one component"
ERR_TOO_LONG = f"invalid reference format: repository name must not be more than {NAME_TOTAL_LENGTH_MAX} characters"


@record(frozen=True)
class Reference:
    """A parsed, normalised reference. ``tag`` and ``digest`` may be None."""

    domain: str
    path: str
    tag: str | None = None
    digest: str | None = None

    @property
    def name(self) -> str:
        """Fully qualified repository name, e.g. ``docker.io/library/busybox``."""
        return f"{self.domain}/{self.path}" if self.domain else self.path

    def string(self) -> str:
        """The normalised form used as a key: ``name[:tag][@digest]``."""
        return self.name + _suffix(self.tag, self.digest)

    def familiar_name(self) -> str:
        """The repository as docker prints it: ``busybox``, ``user/app``, ``host:5000/x``."""
        if self.domain != DEFAULT_DOMAIN:
            return self.name
        path = self.path
        if path.startswith(OFFICIAL_PREFIX) and "/" not in path[len(OFFICIAL_PREFIX):]:
            path = path[len(OFFICIAL_PREFIX):]
        return path

    def familiar(self) -> str:
        """The short form docker shows (``busybox:latest``, ``127.0.0.1:5000/busybox``)."""
        return self.familiar_name() + _suffix(self.tag, self.digest)

    def with_default_tag(self) -> "Reference":
        """Add ``:latest`` when neither tag nor digest was given (docker's TagNameOnly)."""
        if self.tag is None and self.digest is None:
            return Reference(self.domain, self.path, DEFAULT_TAG, None)
        return self

    def with_tag(self, tag: str) -> "Reference":
        """The same repository with another tag (digest dropped)."""
        if not _is_tag(tag):
            raise InvalidArgument("invalid tag format")
        return Reference(self.domain, self.path, tag, None)

    def with_digest(self, digest: str) -> "Reference":
        """The same repository pinned to ``digest`` (tag dropped, as in repo digests)."""
        dg.validate(digest)
        return Reference(self.domain, self.path, None, digest)

    def repository(self) -> "Reference":
        """Just the repository, without tag or digest."""
        return Reference(self.domain, self.path)

    def __str__(self) -> str:
        return self.string()


def _suffix(tag: str | None, digest: str | None) -> str:
    return (f":{tag}" if tag is not None else "") + (f"@{digest}" if digest is not None else "")


def split_domain(name: str) -> tuple[str, str]:
    """Split a user-typed name into (domain, remainder) like docker's splitDockerDomain."""
    first, sep, rest = name.partition("/")
    if not sep or (not any(c in first for c in ".:") and first != "localhost" and first.lower() == first):
        domain, remainder = DEFAULT_DOMAIN, name
    else:
        domain, remainder = first, rest
    if domain == LEGACY_DEFAULT_DOMAIN:
        domain = DEFAULT_DOMAIN
    if domain == DEFAULT_DOMAIN and "/" not in remainder:
        remainder = OFFICIAL_PREFIX + remainder
    return domain, remainder


def parse_strict(s: str) -> Reference:
    """Parse an already fully qualified reference (no normalisation), like reference.Parse.

    A missing domain is allowed by the grammar; it is reported as an empty
    ``domain`` so callers can tell that normalisation never happened.
    """
    m = _match(s)
    if m is None:
        if s == "":
            raise InvalidArgument(ERR_EMPTY)
        if _match(s.lower()):
            raise InvalidArgument(ERR_UPPERCASE)
        raise InvalidArgument(ERR_FORMAT)
    name, tag, digest, domain = m
    if len(name) > NAME_TOTAL_LENGTH_MAX:
        raise InvalidArgument(ERR_TOO_LONG)
    if digest is not None:
        dg.validate(digest)
    path = name[len(domain) + 1:] if domain is not None else name
    return Reference(domain or "", path, tag, digest)


def parse(s: str) -> Reference:
    """Parse and normalise a reference as ``docker pull/run/tag`` do.

    Raises :class:`~pyns.errors.InvalidArgument` with docker's wording.
    A bare 64-hex string is refused because it would be read as an image id.
    """
    if not isinstance(s, str):
        raise InvalidArgument(ERR_FORMAT)
    if dg.is_hex_id(s):
        raise InvalidArgument(f"invalid repository name ({s}), cannot specify 64-byte hexadecimal strings")
    domain, remainder = split_domain(s)
    remote = remainder.split(":", 1)[0]
    if remote.lower() != remote:
        raise InvalidArgument(ERR_UPPERCASE)
    # A first component taken as a host that is not a valid host name (say
    # "a.b_c/d") is re-read as path components with no domain, as docker does.
    return parse_strict(f"{domain}/{remainder}")


def parse_tagged(s: str) -> Reference:
    """Parse a reference that names a tag to create (``docker tag``/``import``).

    Digests cannot be tagged, and ``sha256:...`` as a name would shadow ids.
    """
    ref = parse(s)
    if ref.digest is not None:
        raise InvalidArgument("refusing to create a tag with a digest reference")
    if ref.path == f"{OFFICIAL_PREFIX}{dg.ALGORITHM}" and ref.domain == DEFAULT_DOMAIN:
        raise InvalidArgument("refusing to create an ambiguous tag using digest algorithm as name")
    return ref.with_default_tag()


def familiar(s: str) -> str:
    """Shorthand: the familiar form of any normalised reference string."""
    return parse(s).familiar()
