"""Pure build rules: Go patterns, .dockerignore, word expansion, build args, history strings."""
from __future__ import annotations

import fnmatch

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pyns.build import commitmsg
from pyns.build.buildargs import BuildArgs
from pyns.build.dockerignore import Matcher
from pyns.build.patterns import has_magic, match
from pyns.build.words import exec_form, expand_words
from pyns.errors import InvalidArgument

# -- Go filepath.Match -------------------------------------------------------------


@pytest.mark.parametrize("pattern, name, expected", [
    ("*.txt", "a.txt", True), ("*.txt", "dir/a.txt", False), ("*/*.txt", "dir/a.txt", True),
    ("a?c", "abc", True), ("a?c", "a/c", False), ("[a-c]x", "bx", True), ("[^a-c]x", "dx", True),
    ("[^a-c]x", "ax", False), ("\\*", "*", True), ("\\*", "a", False), ("data", "data", True),
])
def test_go_match(pattern: str, name: str, expected: bool) -> None:
    assert match(pattern, name) is expected


@pytest.mark.parametrize("pattern", ["[", "[a-", "a\\", "[]a]", "[a-]"])
def test_go_bad_patterns(pattern: str) -> None:
    with pytest.raises(InvalidArgument, match="syntax error in pattern"):
        match(pattern, "x")


@settings(max_examples=300)
@given(st.text(alphabet="abc*?", max_size=6), st.text(alphabet="abc", max_size=6))
def test_go_match_agrees_with_fnmatch_without_separators(pattern: str, name: str) -> None:
    assert match(pattern, name) == fnmatch.fnmatchcase(name, pattern)


@settings(max_examples=200)
@given(st.text(alphabet="ab*?", max_size=5), st.text(alphabet="ab/", max_size=8))
def test_single_star_never_crosses_a_separator(pattern: str, name: str) -> None:
    if "/" in name and "/" not in pattern:
        assert not match(pattern, name)


def test_has_magic() -> None:
    assert has_magic("*.go") and has_magic("a?") and has_magic("[ab]") and not has_magic("plain/path.txt")


# -- .dockerignore ---------------------------------------------------------------------

def test_dockerignore_docker_examples() -> None:
    m = Matcher.from_text("# comment\n*/temp*\n*/*/temp*\ntemp?\n\n**/*.log\n/abs/file\n")
    assert m.excluded("somedir/temporary.txt") and m.excluded("somedir/temp")
    assert m.excluded("somedir/subdir/temporary.txt") and m.excluded("tempa")
    assert not m.excluded("temporary.txt") and not m.excluded("a/b/c/temp")
    assert m.excluded("x.log") and m.excluded("deep/down/x.log")
    assert m.excluded("abs/file")


def test_dockerignore_exceptions_last_match_wins() -> None:
    m = Matcher.from_text("*.md\n!README*.md\nREADME-secret.md\n")
    assert m.excluded("CHANGES.md") and not m.excluded("README.md") and m.excluded("README-secret.md")
    assert m.has_exceptions


def test_dockerignore_parent_directory_match_excludes_children() -> None:
    m = Matcher.from_text("build\nnode_modules/\n")
    assert m.excluded("build") and m.excluded("build/out/x.o") and m.excluded("node_modules/a/b.js")
    assert not m.excluded("builder") and not m.excluded("src/build.py")


def test_dockerignore_everything_but() -> None:
    m = Matcher.from_text("*\n!src\n!Dockerfile\n")
    assert m.excluded("secret") and not m.excluded("src/main.py") and not m.excluded("Dockerfile")


@settings(max_examples=200)
@given(st.lists(st.sampled_from(["a", "b", "*", "a/*", "**/b", "!a", "!b", "!**/b", "a/**"]), max_size=6),
       st.lists(st.sampled_from(["a", "b", "c"]), min_size=1, max_size=4))
def test_dockerignore_last_matching_line_decides(lines: list[str], parts: list[str]) -> None:
    path = "/".join(parts)
    m = Matcher.from_text("\n".join(lines))
    verdict = False
    for p in m.patterns:
        if p.matches(path):
            verdict = not p.exclusion
    assert m.excluded(path) == verdict


# -- words -----------------------------------------------------------------------------

def test_exec_form() -> None:
    assert exec_form('["a", "b c"]') == ["a", "b c"]
    assert exec_form("echo [x]") is None and exec_form("[not json") is None and exec_form('{"a": 1}') is None
    with pytest.raises(InvalidArgument, match="arrays must be comprised of strings only"):
        exec_form('["a", 1]')


def test_expand_words_splits_unquoted_values_only() -> None:
    env = {"PORTS": "80 443/udp", "ONE": "8080"}
    assert expand_words("$PORTS $ONE", env) == ["80", "443/udp", "8080"]
    assert expand_words('"$PORTS"', env) == ["80 443/udp"]
    assert expand_words("${NOPE} 22", env) == ["22"]
    assert expand_words("${NOPE:-9000}", env) == ["9000"]


# -- build args ------------------------------------------------------------------------

def test_build_arg_precedence_and_scope() -> None:
    args = BuildArgs({"VERSION": "2", "UNUSED": "x", "http_proxy": "http://p"})
    args.declare_global("VERSION", "1")
    args.declare_global("BASE", "busybox")
    assert args.global_env() == {"VERSION": "2", "BASE": "busybox"}
    stage = args.stage()
    assert stage.expansion_env({}) == {"http_proxy": "http://p"}  # globals need a re-declaration
    stage.declare("VERSION", None)
    stage.declare("LOCAL", "dflt")
    stage.declare("EMPTY", None)
    assert stage.expansion_env({}) == {"VERSION": "2", "LOCAL": "dflt", "http_proxy": "http://p"}
    assert stage.expansion_env({"LOCAL": "from-env"})["LOCAL"] == "from-env"  # ENV beats ARG
    assert stage.history_prefix({}) == ["|2", "LOCAL=dflt", "VERSION=2"]  # proxies stay out of history
    assert stage.history_prefix({"LOCAL": "e", "VERSION": "e"}) == []
    assert args.warning() == "[Warning] One or more build-args [UNUSED] were not consumed"


def test_declared_proxy_arg_is_in_history() -> None:
    args = BuildArgs({"http_proxy": "http://p"})
    stage = args.stage()
    stage.declare("http_proxy", None)
    assert stage.history_prefix({}) == ["|1", "http_proxy=http://p"]


# -- history strings ---------------------------------------------------------------------

def test_nop_strings_like_docker() -> None:
    shell = ["/bin/sh", "-c"]
    assert commitmsg.nop(shell, 'CMD ["sh"]') == '/bin/sh -c #(nop)  CMD ["sh"]'
    assert commitmsg.nop_one(shell, "WORKDIR /app") == "/bin/sh -c #(nop) WORKDIR /app"
    assert commitmsg.go_q(["/bin/sh", "-c", 'echo "hi"']) == '["/bin/sh" "-c" "echo \\"hi\\""]'
    assert commitmsg.go_v(["/data", "/logs"]) == "[/data /logs]"


@pytest.mark.parametrize("ns, text", [
    (0, "0s"), (5_000_000_000, "5s"), (90_000_000_000, "1m30s"), (3_600_000_000_000, "1h0m0s"),
    (1_500_000_000, "1.5s"), (250_000_000, "250ms"), (1_500, "1.5µs"), (7, "7ns"),
])
def test_go_duration(ns: int, text: str) -> None:
    assert commitmsg.go_duration(ns) == text


def test_healthcheck_string() -> None:
    config = {"Test": ["CMD-SHELL", "curl -f localhost"], "Interval": 5_000_000_000, "Retries": 3}
    assert commitmsg.healthcheck(config) == '&{["CMD-SHELL" "curl -f localhost"] "5s" "0s" "0s" "0s" \'\\x03\'}'
