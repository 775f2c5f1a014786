"""parse_memory / parse_memory_swap against go-units RAMInBytes behaviour."""
import pytest
from hypothesis import given, strategies as st

from pyns.errors import InvalidArgument
from pyns.options import parse_memory, parse_memory_swap

KiB, MiB, GiB, TiB, PiB = 1 << 10, 1 << 20, 1 << 30, 1 << 40, 1 << 50


@pytest.mark.parametrize("text,expected", [
    ("0", 0), ("1024", 1024), ("64m", 64 * MiB), ("64M", 64 * MiB), ("64mb", 64 * MiB),
    ("1g", GiB), ("1.5g", int(1.5 * GiB)), ("32", 32), ("32b", 32), ("32B", 32),
    ("32k", 32 * KiB), ("32Kb", 32 * KiB), ("32Kib", 32 * KiB), ("32KIB", 32 * KiB),
    ("32Tb", 32 * TiB), ("32PB", 32 * PiB), ("32P", 32 * PiB), ("32.3", 32),
    ("32.3 mb", int(32.3 * MiB)), ("0.3MB", int(0.3 * MiB)), ("0 ", 0), ("32.", 32),
    ("-0", 0), (".3k", int(0.3 * KiB)), ("1e3", 1000), ("1 GiB", GiB), ("0x1p4", 16),
])
def test_examples(text, expected):
    assert parse_memory(text) == expected


@pytest.mark.parametrize("text,message", [
    ("", "invalid size: ''"), ("hello", "invalid size: 'hello'"), ("-32", "invalid size: '-32'"),
    (" 32 ", "invalid size: ' 32 '"), ("32m b", "invalid size: '32m b'"), ("32bm", "invalid suffix: 'bm'"),
    ("64x", "invalid suffix: 'x'"), ("1..5", "invalid size: '1..5'"), ("32  b", "invalid suffix: ' b'"),
    ("0b ", "invalid size: '0b '"), ("0 B ", "invalid suffix: 'b '"), ("1kbyte", "invalid suffix: 'kbyte'"), ("1e400", "invalid size: '1e400'"),
    ("99999999999p", "invalid size: '99999999999p'"), ("1_000", "invalid size: '1_000'"),
])
def test_errors(text, message):
    with pytest.raises(InvalidArgument) as err:
        parse_memory(text)
    assert str(err.value) == message


def test_sdk_values():
    assert parse_memory(1234) == 1234
    for bad in (-1, True, 1.5j, None, [1]):
        with pytest.raises(InvalidArgument):
            parse_memory(bad)


def test_swap():
    assert parse_memory_swap("-1") == -1
    assert parse_memory_swap(-1) == -1
    assert parse_memory_swap("1g") == GiB
    with pytest.raises(InvalidArgument):
        parse_memory_swap("-2")


UNITS = {"": 1, "b": 1, "k": KiB, "kb": KiB, "kib": KiB, "m": MiB, "mb": MiB, "mib": MiB,
         "g": GiB, "gb": GiB, "gib": GiB, "t": TiB, "p": PiB}


@given(st.integers(0, 2**40), st.sampled_from(sorted(UNITS)), st.booleans(), st.booleans())
def test_round_trip(number, unit, upper, space):
    suffix = unit.upper() if upper else unit
    text = f"{number}{' ' if space and suffix else ''}{suffix}"
    expected = number * UNITS[unit]
    if expected < 2**63 and float(number) * UNITS[unit] < 2**63:
        assert parse_memory(text) == int(float(number) * UNITS[unit])


@given(st.integers(0, 2**62))
def test_plain_bytes_round_trip(number):
    assert parse_memory(str(number)) == int(float(number))
    assert parse_memory(number) == number


@given(st.text())
def test_garbage_only_invalid_argument(text):
    try:
        value = parse_memory(text)
    except InvalidArgument:
        return
    assert 0 <= value < 2**63


@given(st.from_regex(r"[ 0-9.eE+\-xXpPkKmMgGtTbBiI]{0,8}", fullmatch=True))
def test_near_miss_only_invalid_argument(text):
    try:
        assert parse_memory_swap(text) >= -1
    except InvalidArgument:
        pass
