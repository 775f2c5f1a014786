"""Argument shapes shared by Dockerfile instructions: exec form and word expansion.

Quote handling and ``$VAR`` substitution themselves live in
:mod:`pyns.images.shellwords` (also used by ``import --change``); this
module adds the two Dockerfile-only pieces: recognising the JSON exec form
with docker's error for non-string arrays (the recogniser is
:func:`pyns.images.changes.exec_form`), and docker's ``ProcessWords``
(used by EXPOSE), where an unquoted variable's value is split on blanks.
"""
from __future__ import annotations

from collections.abc import Mapping

from pyns.images import changes
from pyns.images.shellwords import expand, split_words

def exec_form(args: str) -> list[str] | None:
    """The JSON array of an exec-form Dockerfile instruction, or None for the
    shell form; a well-formed array of non-strings is an error (docker's)."""
    return changes.exec_form(args, strict=True)


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
