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
"""
from __future__ import annotations

import re

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

# re.ASCII: Go's \w is [0-9A-Za-z_]; Python's would accept any Unicode letter.
_REFERENCE_RE = re.compile(rf"({_NAME})(?::({_TAG}))?(?:@({_DIGEST}))?", re.ASCII)
_NAME_RE = re.compile(rf"(?:({_DOMAIN})/)?({_REMOTE_NAME})", re.ASCII)
_TAG_RE = re.compile(_TAG, re.ASCII)

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
        if not _TAG_RE.fullmatch(tag):
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
    m = _REFERENCE_RE.fullmatch(s)
    if m is None:
        if s == "":
            raise InvalidArgument(ERR_EMPTY)
        if _REFERENCE_RE.fullmatch(s.lower()):
            raise InvalidArgument(ERR_UPPERCASE)
        raise InvalidArgument(ERR_FORMAT)
    name, tag, digest = m.group(1), m.group(2), m.group(3)
    if len(name) > NAME_TOTAL_LENGTH_MAX:
        raise InvalidArgument(ERR_TOO_LONG)
    nm = _NAME_RE.fullmatch(name)
    assert nm is not None  # the name group already matched the same pattern
    if digest is not None:
        dg.validate(digest)
    return Reference(nm.group(1) or "", nm.group(2), tag, digest)


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
