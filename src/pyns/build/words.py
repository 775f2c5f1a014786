"""Argument shapes shared by Dockerfile instructions: exec form and word expansion.

Quote handling and ``$VAR`` substitution themselves live in
:mod:`pyns.images.shellwords` (also used by ``import --change``); this
module adds the two Dockerfile-only pieces: recognising the JSON exec form
with docker's error for non-string arrays, and docker's ``ProcessWords``
(used by EXPOSE), where an unquoted variable's value is split on blanks.
"""
from __future__ import annotations

import json
from collections.abc import Mapping

from pyns.errors import InvalidArgument
from pyns.images.shellwords import expand, split_words

NOT_STRING_ARRAY = "when using JSON array syntax, arrays must be comprised of strings only"


def exec_form(args: str) -> list[str] | None:
    """The JSON array of an exec-form instruction, or None for the shell form.

    Like docker, text that does not parse as a JSON array is the shell form
    (``CMD [oops`` runs ``/bin/sh -c "[oops"``), but a well-formed array
    holding anything but strings is an error.
    """
    text = args.strip()
    if not text.startswith("["):
        return None
    try:
        value = json.loads(text)
    except ValueError:
        return None
    if not isinstance(value, list):
        return None
    if not all(isinstance(v, str) for v in value):
        raise InvalidArgument(NOT_STRING_ARRAY)
    return value


def expand_words(text: str, env: Mapping[str, str], escape: str = "\\") -> list[str]:
    """docker's ProcessWords: expand, then split where the *result* has unquoted blanks.

    A quoted word stays one word whatever it expands to; an unquoted one is
    split after substitution, so ``EXPOSE $PORTS`` with ``PORTS="80 443"``
    exposes two ports. Empty results of unquoted words vanish.
    """
    words: list[str] = []
    for word in split_words(text, escape):
        value = expand(word, env, escape)
        if "'" in word or '"' in word:
            words.append(value)
        else:
            words.extend(value.split())
    return words
