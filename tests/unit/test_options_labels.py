"""--label and generic key=value flags."""
import pytest
from hypothesis import given, strategies as st

from pyns.errors import InvalidArgument
from pyns.options import parse_key_value, parse_label


def test_labels():
    assert parse_label("a=b") == ("a", "b")
    assert parse_label("a") == ("a", "")
    assert parse_label("a=b=c") == ("a", "b=c")
    assert parse_label("com.example.x=") == ("com.example.x", "")
    assert parse_label(" a=b") == (" a", "b")  # docker keeps the leading space
    with pytest.raises(InvalidArgument, match="invalid label '=x': empty name"):
        parse_label("=x")
    with pytest.raises(InvalidArgument, match="label 'a b' contains whitespaces"):
        parse_label("a b=c")


def test_key_value():
    assert parse_key_value("net.core.somaxconn=1024") == ("net.core.somaxconn", "1024")
    assert parse_key_value("k") == ("k", "")
    with pytest.raises(InvalidArgument):
        parse_key_value("=v")


keys = st.from_regex(r"[a-z][a-z0-9.\-]{0,10}", fullmatch=True)


@given(keys, st.text(max_size=20))
def test_round_trip(key, value):
    assert parse_label(f"{key}={value}") == (key, value)
    assert parse_key_value(f"{key}={value}") == (key, value)


@given(st.text(max_size=20))
def test_garbage_only_invalid_argument(text):
    for parse in (parse_label, parse_key_value):
        try:
            parse(text)
        except InvalidArgument:
            pass
