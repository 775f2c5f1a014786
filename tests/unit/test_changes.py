"""``--change`` lines: docker's semantics for each allowed instruction."""
from __future__ import annotations

import json

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from pyns.errors import InvalidArgument
from pyns.images.changes import VALID_COMMANDS, apply_changes, logical_lines, parse, parse_duration


def apply(*lines: str, config: dict | None = None) -> dict:
    return apply_changes(config, list(lines))


def test_cmd_exec_and_shell_form() -> None:
    assert apply('CMD ["/bin/sh", "-c", "echo hi"]')["Cmd"] == ["/bin/sh", "-c", "echo hi"]
    assert apply("CMD echo $HOME")["Cmd"] == ["/bin/sh", "-c", "echo $HOME"]
    assert apply("CMD [not json")["Cmd"] == ["/bin/sh", "-c", "[not json"]
    assert apply("cmd [1, 2]")["Cmd"] == ["/bin/sh", "-c", "[1, 2]"]  # not a list of strings


def test_entrypoint_resets_inherited_cmd_but_not_one_set_here() -> None:
    base = {"Cmd": ["old"]}
    assert apply('ENTRYPOINT ["/app"]', config=base) == {"Cmd": None, "Entrypoint": ["/app"]}
    out = apply('CMD ["x"]', "ENTRYPOINT /app --flag", config=base)
    assert out["Cmd"] == ["x"] and out["Entrypoint"] == ["/bin/sh", "-c", "/app --flag"]
    assert base == {"Cmd": ["old"]}  # the input is not modified


def test_env_forms_and_expansion() -> None:
    out = apply('ENV A=1 B="two words" C=x\\ y', "ENV D $A and ${B}", "ENV A=2 E=$A", "ENV F='$A' G=\"$A\"")
    assert out["Env"] == ["A=2", "B=two words", "C=x y", "D=1 and two words", "E=1", "F=$A", "G=2"]


def test_env_replaces_in_place() -> None:
    out = apply("ENV PATH=/x:$PATH", config={"Env": ["PATH=/usr/bin", "Z=1"]})
    assert out["Env"] == ["PATH=/x:/usr/bin", "Z=1"]


def test_env_defaults_in_substitution() -> None:
    # values are expanded with the environment from *before* the instruction
    out = apply("ENV A= B=x C=${B:-early}", "ENV D=${A:-dflt} E=${A-unset} F=${NOPE:+alt} G=${B:+alt}")
    assert out["Env"] == ["A=", "B=x", "C=early", "D=dflt", "E=", "F=", "G=alt"]


def test_expose() -> None:
    out = apply("EXPOSE 80 53/udp 9000-9002/TCP 132/sctp")
    assert out["ExposedPorts"] == {"80/tcp": {}, "53/udp": {}, "9000/tcp": {}, "9001/tcp": {},
                                   "9002/tcp": {}, "132/sctp": {}}


def test_label_onbuild_stopsignal_user_volume_workdir() -> None:
    out = apply('LABEL a=b "c d"="e f"', "LABEL legacy value with spaces", "ONBUILD RUN make",
                "STOPSIGNAL SIGINT", "USER 1000:1000", 'VOLUME ["/data", "/logs"]', "VOLUME /a /b",
                "WORKDIR /srv", "WORKDIR app/../web", "ENV D=/opt", "WORKDIR $D")
    assert out["Labels"] == {"a": "b", "c d": "e f", "legacy": "value with spaces"}
    assert out["OnBuild"] == ["RUN make"]
    assert out["StopSignal"] == "SIGINT"
    assert out["User"] == "1000:1000"
    assert out["Volumes"] == {"/data": {}, "/logs": {}, "/a": {}, "/b": {}}
    assert out["WorkingDir"] == "/opt"
    assert apply("WORKDIR /srv", "WORKDIR app/../web")["WorkingDir"] == "/srv/web"


@pytest.mark.parametrize("sig", ["SIGTERM", "term", "9", "SIGRTMIN+3", "KILL"])
def test_stop_signals(sig: str) -> None:
    assert apply(f"STOPSIGNAL {sig}")["StopSignal"] == sig


def test_healthcheck() -> None:
    out = apply("HEALTHCHECK --interval=1m30s --timeout=5s --start-period=500ms --retries=3 CMD curl -f http://x/")
    assert out["Healthcheck"] == {"Test": ["CMD-SHELL", "curl -f http://x/"], "Interval": 90_000_000_000,
                                  "Timeout": 5_000_000_000, "StartPeriod": 500_000_000, "Retries": 3}
    assert apply('HEALTHCHECK CMD ["true"]')["Healthcheck"] == {"Test": ["CMD", "true"]}
    assert apply("HEALTHCHECK NONE")["Healthcheck"] == {"Test": ["NONE"]}


def test_continuations_and_comments() -> None:
    assert logical_lines(["ENV A=1 \\", "  B=2", "# comment", "", "CMD x"]) == ["ENV A=1   B=2", "CMD x"]
    assert apply("ENV A=1 \\\nB=2")["Env"] == ["A=1", "B=2"]


def test_names_are_case_insensitive() -> None:
    assert apply("env A=1", "Cmd x", "wOrKdIr /w") == {"Env": ["A=1"], "Cmd": ["/bin/sh", "-c", "x"],
                                                       "WorkingDir": "/w"}


@pytest.mark.parametrize("line, message", [
    ("FOO bar", "FOO is not a valid change command"),
    ("RUN make", "RUN is not a valid change command"),
    ("FROM busybox", "FROM is not a valid change command"),
    ("MAINTAINER me", "MAINTAINER is not a valid change command"),
    ("ENV", "ENV requires at least one argument"),
    ("ENV A", "ENV must have two arguments"),
    ("ENV A=1 B", "can't find = in \"B\""),
    ("ENV =x", "ENV names can not be blank"),
    ('ENV A="unterminated', "matching double-quote"),
    ("CMD", "CMD requires at least one argument"),
    ("CMD --foo bar", "unknown flag: foo"),
    ("EXPOSE", "EXPOSE requires at least one argument"),
    ("EXPOSE 0", "invalid containerPort: 0"),
    ("EXPOSE 70000", "invalid containerPort: 70000"),
    ("EXPOSE http", "invalid containerPort: http"),
    ("EXPOSE 80/icmp", "invalid proto: icmp"),
    ("EXPOSE 90-80", "invalid range"),
    ("STOPSIGNAL SIGNOPE", "Invalid signal: SIGNOPE"),
    ("STOPSIGNAL 0", "Invalid signal: 0"),
    ("USER", "USER requires exactly one argument"),
    ("WORKDIR", "WORKDIR requires exactly one argument"),
    ("VOLUME", "VOLUME requires at least one argument"),
    ('VOLUME [""]', "VOLUME specified can not be an empty string"),
    ("ONBUILD ONBUILD RUN x", "Chaining ONBUILD"),
    ("ONBUILD FROM x", "FROM isn't allowed as an ONBUILD trigger"),
    ("HEALTHCHECK RUN x", 'Unknown type "RUN" in HEALTHCHECK'),
    ("HEALTHCHECK --interval=1us CMD x", "Interval cannot be less than 1ms"),
    ("HEALTHCHECK --retries=-1 CMD x", "--retries cannot be negative"),
    ("HEALTHCHECK --bogus=1 CMD x", "unknown flag: bogus"),
    ("HEALTHCHECK --interval=soon CMD x", "invalid duration"),
])
def test_rejects(line: str, message: str) -> None:
    with pytest.raises(InvalidArgument, match=message.replace("(", r"\(").replace("[", r"\[")):
        apply(line)


def test_a_bad_line_applies_nothing() -> None:
    with pytest.raises(InvalidArgument):
        apply("ENV A=1", "BOGUS x")


def test_parse_durations() -> None:
    assert parse_duration("0") == 0
    assert parse_duration("1h2m3.5s") == 3_723_500_000_000
    assert parse_duration("250us") == 250_000
    with pytest.raises(InvalidArgument):
        parse_duration("5")


# -- properties -------------------------------------------------------------------

env_keys = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,12}", fullmatch=True)
env_values = st.text(st.characters(blacklist_characters="\n", blacklist_categories=("Cs",)), max_size=30)


def dquote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("$", "\\$") + '"'


@given(st.dictionaries(env_keys, env_values, min_size=1, max_size=5))
def test_env_round_trip(env: dict[str, str]) -> None:
    line = "ENV " + " ".join(f"{k}={dquote(v)}" for k, v in env.items())
    assert apply(line)["Env"] == [f"{k}={v}" for k, v in env.items()]


@given(st.dictionaries(st.from_regex(r"[a-z][a-z0-9.-]{0,15}", fullmatch=True), env_values, min_size=1))
def test_label_round_trip(labels: dict[str, str]) -> None:
    line = "LABEL " + " ".join(f"{dquote(k)}={dquote(v)}" for k, v in labels.items())
    assert apply(line)["Labels"] == labels


@given(st.lists(st.text(max_size=20), min_size=1, max_size=5), st.sampled_from(["CMD", "ENTRYPOINT"]))
def test_exec_form_round_trip(argv: list[str], name: str) -> None:
    key = "Cmd" if name == "CMD" else "Entrypoint"
    assert apply(f"{name} {json.dumps(argv)}")[key] == argv


@given(st.integers(1, 65535), st.sampled_from(["", "/tcp", "/udp", "/sctp"]))
def test_expose_any_port(port: int, proto: str) -> None:
    assert apply(f"EXPOSE {port}{proto}")["ExposedPorts"] == {f"{port}{proto or '/tcp'}": {}}


@given(st.from_regex(r"[A-Za-z]{2,12}", fullmatch=True).filter(lambda n: n.lower() not in VALID_COMMANDS),
       st.text(max_size=20))
def test_unknown_instructions_rejected(name: str, rest: str) -> None:
    with pytest.raises(InvalidArgument, match="is not a valid change command"):
        apply(f"{name} {rest}".replace("\\", ""))


@given(st.lists(st.text(max_size=60), max_size=4))
@settings(max_examples=400)
def test_arbitrary_input_only_raises_invalid_argument(lines: list[str]) -> None:
    try:
        out = apply_changes({}, lines)
    except InvalidArgument:
        return
    assert isinstance(out, dict)


@given(st.sampled_from(sorted(VALID_COMMANDS)), st.text(max_size=40))
@settings(max_examples=400)
@example(name="stopsignal", rest="\u00b2")  # a "digit" int() refuses
def test_valid_instructions_with_arbitrary_arguments(name: str, rest: str) -> None:
    try:
        parse([f"{name} {rest}"])
        apply_changes({}, [f"{name} {rest}"])
    except InvalidArgument:
        pass
