"""parse_cpus against docker's ParseCPUs (big.Rat * 1e9)."""
import pytest
from hypothesis import given, strategies as st

from pyns.errors import InvalidArgument
from pyns.options import parse_cpus


@pytest.mark.parametrize("text,expected", [
    ("1.5", 1_500_000_000), ("1", 1_000_000_000), ("0", 0), ("0.01", 10_000_000), ("3/2", 1_500_000_000),
    (".5", 500_000_000), ("2.", 2_000_000_000), ("1e-9", 1), ("2e0", 2_000_000_000), ("+1", 1_000_000_000),
    ("0.000000001", 1), ("0e999999999", 0), ("1.000000000000", 1_000_000_000),
])
def test_examples(text, expected):
    assert parse_cpus(text) == expected


@pytest.mark.parametrize("text,message", [
    ("1.x1", "failed to parse 1.x1 as a rational number"), ("", "failed to parse  as a rational number"),
    ("abc", "failed to parse abc as a rational number"), ("1/0", "failed to parse 1/0 as a rational number"),
    ("1.0000000001", "value is too precise"), ("1/3", "value is too precise"), ("1e-10", "value is too precise"),
])
def test_errors(text, message):
    with pytest.raises(InvalidArgument) as err:
        parse_cpus(text)
    assert str(err.value) == message


def test_negative_and_range():
    with pytest.raises(InvalidArgument, match="Range of CPUs"):
        parse_cpus("-1")
    with pytest.raises(InvalidArgument, match=r"0.01 to 4.00, as there are only 4 CPUs"):
        parse_cpus("5", ncpu=4)
    assert parse_cpus("4", ncpu=4) == 4_000_000_000
    assert parse_cpus(2) == 2_000_000_000
    assert parse_cpus(0.25) == 250_000_000


@given(st.integers(0, 10**15))
def test_decimal_round_trip(nanos):
    text = f"{nanos // 10**9}.{nanos % 10**9:09d}"
    assert parse_cpus(text) == nanos


@given(st.integers(0, 10**6), st.integers(1, 10**3))
def test_fraction(numerator, denominator):
    try:
        value = parse_cpus(f"{numerator}/{denominator}")
    except InvalidArgument as err:
        assert str(err) == "value is too precise"
        assert (numerator * 10**9) % denominator
    else:
        assert value * denominator == numerator * 10**9


@given(st.text())
def test_garbage_only_invalid_argument(text):
    try:
        assert parse_cpus(text) >= 0
    except InvalidArgument:
        pass


@given(st.from_regex(r"[+\-]?[0-9]{0,25}\.?[0-9]{0,25}([eE][+\-]?[0-9]{0,25})?(/[0-9]{0,5})?", fullmatch=True))
def test_near_miss_only_invalid_argument(text):
    try:
        assert 0 <= parse_cpus(text) < 2**63
    except InvalidArgument:
        pass
