"""Container ids and docker-style random names ("adjective_scientist")."""
from __future__ import annotations

import os
import re

from pyns.errors import InvalidArgument

_ADJECTIVES = (
    "amazing", "bold", "brave", "busy", "calm", "clever", "cool", "dazzling", "eager",
    "ecstatic", "elegant", "epic", "fervent", "festive", "focused", "friendly", "gallant",
    "gentle", "happy", "hopeful", "inspiring", "jolly", "keen", "kind", "laughing", "lucid",
    "magical", "modest", "nifty", "nostalgic", "optimistic", "peaceful", "pensive", "quirky",
    "relaxed", "serene", "sharp", "stoic", "sweet", "tender", "trusting", "upbeat", "vibrant",
    "wizardly", "wonderful", "youthful", "zealous", "zen",
)
_SCIENTISTS = (
    "agnesi", "babbage", "bell", "bohr", "curie", "darwin", "dijkstra", "einstein", "euclid",
    "euler", "faraday", "fermat", "fermi", "feynman", "franklin", "galileo", "gauss", "goodall",
    "hamilton", "hawking", "hertz", "hopper", "hypatia", "joliot", "kepler", "knuth", "lamarr",
    "leakey", "lovelace", "maxwell", "meitner", "mendel", "noether", "pascal", "pasteur",
    "planck", "poincare", "ramanujan", "ritchie", "shannon", "thompson", "tesla", "turing",
    "volta", "wozniak", "yalow",
)

NAME_RE = re.compile(r"^/?[a-zA-Z0-9][a-zA-Z0-9_.-]+$")


def new_id() -> str:
    """64 hex digits whose 12-digit short form is never all digits (docker's rule)."""
    while True:
        i = os.urandom(32).hex()
        if not i[:12].isdigit():
            return i


def _pick(words: tuple[str, ...]) -> str:
    # os.urandom, not secrets/random: their imports (hmac, hashlib) cost a CLI
    # start ~4 ms; the modulo bias over a few hundred words does not matter.
    return words[int.from_bytes(os.urandom(4), "little") % len(words)]


def random_name() -> str:
    return f"{_pick(_ADJECTIVES)}_{_pick(_SCIENTISTS)}"


def validate_name(name: str) -> str:
    """Docker's rule for --name; returns the name without a leading '/'."""
    if not NAME_RE.match(name):
        raise InvalidArgument(f'Invalid container name ({name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed')
    return name.lstrip("/")
