"""``--label`` and other ``key=value`` flags (``--sysctl``, ``--log-opt``...)."""
from __future__ import annotations

from pyns.errors import InvalidArgument


def parse_label(text: str) -> tuple[str, str]:
    """docker's ValidateLabel + ConvertKVStringsToMap: ``a=b`` -> ("a", "b").

    The value may be empty or missing ("a" -> ("a", "")). The key may not be
    blank or contain spaces/tabs after its leading whitespace, which docker
    tolerates and, quirkily, keeps in the stored key.
    """
    if not isinstance(text, str):
        raise InvalidArgument(f"invalid label '{text!r}': empty name")
    key, _, value = text.partition("=")
    trimmed = key.lstrip(" \t")
    if not trimmed:
        raise InvalidArgument(f"invalid label '{text}': empty name")
    if " " in trimmed or "\t" in trimmed:
        raise InvalidArgument(f"label '{trimmed}' contains whitespaces")
    return key, value


def parse_key_value(text: str) -> tuple[str, str]:
    """A generic ``key=value`` flag (docker's MapOpts): value "" when absent."""
    if not isinstance(text, str):
        raise InvalidArgument(f"invalid key=value pair: {text!r}")
    key, _, value = text.partition("=")
    if not key:
        raise InvalidArgument(f"invalid key=value pair '{text}': empty key")
    return key, value
