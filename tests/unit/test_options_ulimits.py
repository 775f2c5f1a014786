"""--ulimit as go-units ParseUlimit reads it."""
import resource

import pytest
from hypothesis import given, strategies as st

from pyns.errors import InvalidArgument
from pyns.options import Ulimit, parse_ulimit, rlimit_number
from pyns.options.ulimits import ULIMIT_NAMES


def test_examples():
    assert parse_ulimit("nofile=1024:2048") == Ulimit("nofile", 1024, 2048)
    assert parse_ulimit("nproc=512") == ("nproc", 512, 512)
    assert parse_ulimit("core=-1") == ("core", -1, -1)
    assert parse_ulimit("core=0:-1") == ("core", 0, -1)
    assert parse_ulimit("nofile=1024:2048").resource == resource.RLIMIT_NOFILE
    assert rlimit_number("locks") == 10
    assert str(parse_ulimit("nofile=1:2")) == "nofile=1:2"


@pytest.mark.parametrize("text,message", [
    ("nofile", "invalid ulimit argument: nofile"),
    ("as=1", "invalid ulimit type: as"),
    ("NOFILE=1", "invalid ulimit type: NOFILE"),
    ("nofile=x", 'strconv.ParseInt: parsing "x": invalid syntax'),
    ("nofile=1:2:3", 'strconv.ParseInt: parsing "2:3": invalid syntax'),
    ("nofile=", 'strconv.ParseInt: parsing "": invalid syntax'),
    ("nofile=99999999999999999999", 'strconv.ParseInt: parsing "99999999999999999999": value out of range'),
    ("nofile=2048:1024", "ulimit soft limit must be less than or equal to hard limit: 2048 > 1024"),
    ("nofile=-1:1024", "ulimit soft limit must be less than or equal to hard limit: soft: -1 (unlimited), hard: 1024"),
])
def test_errors(text, message):
    with pytest.raises(InvalidArgument) as err:
        parse_ulimit(text)
    assert str(err.value) == message


@given(st.sampled_from(ULIMIT_NAMES), st.integers(0, 2**62), st.integers(0, 2**62))
def test_round_trip(name, a, b):
    soft, hard = min(a, b), max(a, b)
    parsed = parse_ulimit(f"{name}={soft}:{hard}")
    assert parsed == (name, soft, hard)
    assert parse_ulimit(str(parsed)) == parsed
    assert isinstance(parsed.resource, int)


@given(st.text(max_size=25))
def test_garbage_only_invalid_argument(text):
    try:
        parse_ulimit(text)
    except InvalidArgument:
        pass
