"""Signal names and numbers as moby/sys/signal parses them."""
import signal

import pytest
from hypothesis import given, strategies as st

from pyns.errors import InvalidArgument
from pyns.options import SIGNALS, parse_signal, signal_name


@pytest.mark.parametrize("text,expected", [
    ("SIGTERM", signal.SIGTERM), ("TERM", signal.SIGTERM), ("term", signal.SIGTERM), ("15", 15),
    ("SigKill", 9), ("SIGRTMIN", 34), ("SIGRTMIN+3", 37), ("RTMAX-1", 63), ("rtmax", 64),
    ("+9", 9), ("SIGCLD", signal.SIGCHLD), ("IOT", signal.SIGABRT), ("SIGPWR", signal.SIGPWR),
])
def test_examples(text, expected):
    assert parse_signal(text) == expected


@pytest.mark.parametrize("text", ["", "0", "SIG", "SIGSIGTERM", "FOO", "RTMIN+16", "65", "32", "-9", " 9", "9 ", "SIGTERM\n"])
def test_errors(text):
    with pytest.raises(InvalidArgument) as err:
        parse_signal(text)
    assert str(err.value) == f"invalid signal: {text}"


def test_names():
    assert signal_name(15) == "SIGTERM" and signal_name(6) == "SIGABRT" and signal_name(17) == "SIGCHLD"
    assert signal_name(34) == "SIGRTMIN"
    with pytest.raises(InvalidArgument):
        signal_name(0)


@given(st.sampled_from(sorted(SIGNALS)), st.booleans(), st.sampled_from([str.upper, str.lower, str.title]))
def test_round_trip(name, prefix, case):
    text = case(("SIG" if prefix else "") + name)
    number = parse_signal(text)
    assert number == SIGNALS[name]
    assert parse_signal(str(number)) == number
    assert parse_signal(signal_name(number)) == number


@given(st.text(max_size=12))
def test_garbage_only_invalid_argument(text):
    try:
        assert 1 <= parse_signal(text) <= 64
    except InvalidArgument:
        pass
