"""Env files and -e values with docker's kvfile / ValidateEnv rules."""
import pytest
from hypothesis import given, strategies as st

from pyns.errors import InvalidArgument
from pyns.options import merge_image_env, parse_env, parse_env_file, replace_or_append_env

ENV = {"HOME": "/root", "EMPTY": ""}.get


def test_docker_rules():
    text = (
        "\ufeffFIRST=1\n"
        "# a comment\n"
        "\n"
        "   LEADING=trimmed key\n"
        'QUOTED="kept as is"\n'
        "EQ=a=b=c\n"
        "TRAIL=x  \n"
        "HOME\n"
        "EMPTY\n"
        "UNSET\n"
        "CRLF=v\r\n"
        "LAST=no newline"
    )
    assert parse_env_file(text, ENV) == [
        "FIRST=1", "LEADING=trimmed key", 'QUOTED="kept as is"', "EQ=a=b=c", "TRAIL=x  ",
        "HOME=/root", "EMPTY=", "CRLF=v", "LAST=no newline",
    ]


def test_no_lookup_drops_bare_keys():
    assert parse_env_file("A=1\nB\n", None) == ["A=1"]


@pytest.mark.parametrize("text,message", [
    ("A B=1", "variable 'A B' contains whitespaces"),
    ("A\tB", "variable 'A\tB' contains whitespaces"),
    ("A =1", "variable 'A ' contains whitespaces"),
    ("=x", "no variable name on line '=x'"),
    ("ok=1\n  =x", "no variable name on line '=x'"),
])
def test_errors(text, message):
    with pytest.raises(InvalidArgument) as err:
        parse_env_file(text, ENV)
    assert str(err.value) == message


def test_invalid_utf8():
    with pytest.raises(InvalidArgument, match=r"invalid utf8 bytes at line 2: \[65 61 255\]"):
        parse_env_file(b"OK=1\nA=\xff\n", None)
    with pytest.raises(InvalidArgument, match="line 1"):
        parse_env_file("A=\udcff", None)


def test_long_line():
    with pytest.raises(InvalidArgument, match="token too long"):
        parse_env_file("A=" + "x" * 70000, None)


def test_parse_env():
    assert parse_env(["A=1", "HOME", "UNSET", "B="], ENV) == ["A=1", "HOME=/root", "UNSET", "B="]
    assert parse_env(["A B=1"], None) == ["A B=1"]
    with pytest.raises(InvalidArgument, match="invalid environment variable: =x"):
        parse_env(["=x"], ENV)


def test_merge_and_replace():
    user = ["A=1", "B"]
    assert merge_image_env(user, ["B=image", "C=3", "A=image"]) == ["A=1", "B", "C=3"]
    defaults = ["PATH=/bin", "HOSTNAME=x", "TERM=xterm"]
    assert replace_or_append_env(defaults, ["PATH=/usr/bin", "TERM", "NEW=1", "B"]) == [
        "PATH=/usr/bin", "HOSTNAME=x", "NEW=1"]
    assert replace_or_append_env(["A=1"], ["A", "A=2"]) == ["A=2"]


keys = st.from_regex(r"[A-Za-z_][A-Za-z0-9_.\-]{0,10}", fullmatch=True)
values = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\n\r"), max_size=20)


@given(st.lists(st.tuples(keys, values), max_size=8), st.sampled_from(["\n", "\r\n"]))
def test_round_trip(pairs, newline):
    text = "".join(f"{k}={v}{newline}" for k, v in pairs)
    if newline == "\r\n":
        expected = [f"{k}={v}" for k, v in pairs]
    else:
        expected = [f"{k}={v}" for k, v in pairs]
    assert parse_env_file(text, None) == expected
    assert parse_env_file(text.encode(), None) == expected
    assert parse_env([f"{k}={v}" for k, v in pairs], None) == expected


@given(st.lists(keys, max_size=6), st.dictionaries(keys, values, max_size=6))
def test_bare_keys_use_lookup(names, env):
    text = "\n".join(names)
    expected = [f"{n}={env[n]}" for n in names if n in env]
    assert parse_env_file(text, env.get) == expected


@given(st.text())
def test_garbage_text(text):
    try:
        result = parse_env_file(text, ENV)
    except InvalidArgument:
        return
    assert all("\n" not in line and "=" in line for line in result)


@given(st.binary())
def test_garbage_bytes(data):
    try:
        parse_env_file(data, ENV)
    except InvalidArgument:
        pass


@given(st.lists(st.text(), max_size=5))
def test_garbage_env(values_):
    try:
        parse_env(values_, ENV)
    except InvalidArgument:
        pass
