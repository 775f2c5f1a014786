"""The Dockerfile parser: lines, directives, continuations, heredocs, instructions, errors."""
from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pyns.build.dockerfile import parse_dockerfile
from pyns.build.instructions import (
    Arg,
    Command,
    Copy,
    From,
    Healthcheck,
    Onbuild,
    Pairs,
    Shell,
    Value,
    Volume,
)
from pyns.build.parser import parse
from pyns.errors import BuildError


def nodes(text: str) -> list:
    return list(parse(text).nodes)


def error_of(text: str) -> str:
    with pytest.raises(BuildError) as info:
        parse_dockerfile(text)
    return str(info.value)


# -- lines ---------------------------------------------------------------------

def test_comments_continuations_and_line_numbers() -> None:
    text = ("FROM busybox\n"
            "# a comment\n"
            "\n"
            "RUN echo a \\\n"
            "  # a comment inside the instruction\n"
            "\n"
            "    b \\  \n"
            "c\n"
            "   CMD [\"sh\"]\n")
    got = nodes(text)
    assert [(n.keyword, n.line) for n in got] == [("FROM", 1), ("RUN", 4), ("CMD", 9)]
    assert got[1].args == "echo a     b c"  # continuation lines keep their leading blanks
    assert got[1].end_line == 8


def test_escape_directive_and_syntax_directive() -> None:
    text = "# syntax=docker/dockerfile:1\n# escape=`\nFROM x\nRUN dir c:\\ `\n  && echo ok\n"
    parsed = parse(text)
    assert parsed.escape == "`"
    assert parsed.directives == {"syntax": "docker/dockerfile:1", "escape": "`"}
    assert parsed.nodes[1].args == "dir c:\\   && echo ok"


def test_directives_only_at_the_top() -> None:
    assert parse("# comment\n# escape=`\nFROM x\n").escape == "\\"
    assert parse("\n# escape=`\nFROM x\n").escape == "\\"
    assert parse("# unknown=1\n# escape=`\nFROM x\n").escape == "\\"
    with pytest.raises(BuildError, match="Dockerfile:2: only one escape parser directive"):
        parse("# escape=`\n# escape=\\\nFROM x\n")
    with pytest.raises(BuildError, match="invalid escape token"):
        parse("# escape=x\nFROM x\n")


def test_crlf_and_bom() -> None:
    got = nodes("\ufeffFROM x\r\nRUN a \\\r\n b\r\n")
    assert [n.args for n in got] == ["x", "a  b"]


def test_heredocs() -> None:
    text = ("FROM x\n"
            "RUN <<EOF\n"
            "echo one\n"
            "echo two\n"
            "EOF\n"
            "COPY <<-\"A\" <<B /dest/\n"
            "\tliteral $X\n"
            "\tA\n"
            "expanded $X\n"
            "B\n"
            "CMD x\n")
    got = nodes(text)
    assert [n.keyword for n in got] == ["FROM", "RUN", "COPY", "CMD"]
    run, copy = got[1], got[2]
    assert run.heredocs[0].content == "echo one\necho two\n" and run.heredocs[0].expand
    assert [(h.name, h.content, h.expand, h.chomp) for h in copy.heredocs] == [
        ("A", "literal $X\n", False, True), ("B", "expanded $X\n", True, False)]
    assert got[3].line == 11


def test_heredoc_not_special_elsewhere_and_unterminated() -> None:
    assert nodes("FROM x\nLABEL a=<<EOF\n")[1].heredocs == ()
    with pytest.raises(BuildError, match="Dockerfile:2: unterminated heredoc"):
        parse("FROM x\nRUN <<EOF\necho\n")


# -- instructions --------------------------------------------------------------

def test_instruction_shapes() -> None:
    df = parse_dockerfile("""
ARG V=1
FROM --platform=linux/amd64 busybox:$V AS Build
RUN echo hi
RUN ["echo", "hi"]
CMD [oops
ENTRYPOINT []
ENV A=1 B="two words"
ENV LEGACY some value
LABEL "k"=v
ARG X Y=2
COPY --from=0 --chown=1:2 --chmod=0644 a b /dst/
ADD ["with space", "/d"]
VOLUME ["/a", "/b"]
VOLUME /c /d
SHELL ["/bin/bash", "-c"]
HEALTHCHECK --interval=5s --retries=3 CMD curl -f localhost
HEALTHCHECK NONE
ONBUILD RUN echo child
WORKDIR /app
USER app:app
STOPSIGNAL SIGINT
EXPOSE 80 $P
MAINTAINER me <me@example.com>
""")
    assert [a.pairs for a in df.meta_args] == [(("V", "1"),)]
    stage = df.stages[0]
    assert isinstance(stage.from_, From) and stage.name == "build" and stage.from_.platform == "linux/amd64"
    i = list(stage.instructions)
    assert isinstance(i[0], Command) and i[0].args == ("echo hi",) and not i[0].exec_form
    assert i[1].args == ("echo", "hi") and i[1].exec_form
    assert i[2].args == ("[oops",) and not i[2].exec_form  # not JSON: the shell form, like docker
    assert i[3].args == () and i[3].exec_form
    assert isinstance(i[4], Pairs) and i[4].pairs == (("A", "1"), ("B", '"two words"'))
    assert i[5].pairs == (("LEGACY", "some value"),)
    assert i[6].pairs == (('"k"', "v"),)
    assert isinstance(i[7], Arg) and i[7].pairs == (("X", None), ("Y", "2"))
    assert isinstance(i[8], Copy) and i[8].sources == ("a", "b") and i[8].dest == "/dst/"
    assert (i[8].from_, i[8].chown, i[8].chmod, i[8].add) == ("0", "1:2", "0644", False)
    assert i[9].sources == ("with space",) and i[9].add
    assert isinstance(i[10], Volume) and i[10].paths == ("/a", "/b") and i[11].paths == ("/c", "/d")
    assert isinstance(i[12], Shell) and i[12].shell == ("/bin/bash", "-c")
    assert isinstance(i[13], Healthcheck)
    assert i[13].config == {"Test": ["CMD-SHELL", "curl -f localhost"], "Interval": 5_000_000_000, "Retries": 3}
    assert i[14].config == {"Test": ["NONE"]}
    assert isinstance(i[15], Onbuild) and i[15].trigger == "RUN echo child"
    assert isinstance(i[16], Value) and i[16].value == "/app"
    assert [x.value for x in i[17:]] == ["app:app", "SIGINT", "80 $P", "me <me@example.com>"]


def test_stages_and_targets() -> None:
    df = parse_dockerfile("FROM a AS one\nRUN x\nFROM one AS two\nFROM scratch\nCOPY --from=two / /\n")
    assert [(s.index, s.name, s.steps) for s in df.stages] == [(0, "one", 2), (1, "two", 1), (2, None, 2)]
    assert df.stage_index("TWO") == 1 and df.stage_index("2") == 2 and df.stage_index("two", before=1) is None
    assert [s.index for s in df.up_to("two")] == [0, 1]
    with pytest.raises(BuildError, match="failed to reach build target nope"):
        df.up_to("nope")


@pytest.mark.parametrize("text, message", [
    ("FROM x\nRUN a\n\n\n\n\nRUNN b\n", "Dockerfile:7: unknown instruction: RUNN"),
    ("RUN echo\nFROM x\n", "Dockerfile:1: no build stage in current context"),
    ("# only a comment\n", "Dockerfile: file with no instructions"),
    ("ARG A=1\n", "Dockerfile:1: no FROM instruction"),
    ('FROM x\nCMD ["a", 1]\n', "Dockerfile:2: when using JSON array syntax, arrays must be comprised of strings only"),
    ("FROM x y\n", "Dockerfile:1: FROM requires either one or three arguments"),
    ("FROM x AS 1bad\n", "Dockerfile:1: invalid name for build stage"),
    ("FROM x AS a\nFROM y AS A\n", "Dockerfile:2: duplicate stage name 'a'"),
    ("FROM x\nCOPY onlyone\n", "Dockerfile:2: COPY requires at least two arguments"),
    ("FROM x\nSHELL /bin/bash -c\n", "Dockerfile:2: SHELL requires the arguments to be in JSON form"),
    ("FROM x\nCOPY --nope=1 a b\n", "Dockerfile:2: unknown flag: nope"),
    ("FROM x\nCOPY --from a b\n", "Dockerfile:2: missing a value on flag: from"),
    ("FROM x\nRUN --mount=type=cache,target=/x make\n", "Dockerfile:2: the --mount option is not supported"),
    ("FROM x\nONBUILD ONBUILD RUN x\n", "Dockerfile:2: Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed"),
    ("FROM x\nONBUILD FROM y\n", "Dockerfile:2: FROM isn't allowed as an ONBUILD trigger"),
    ("FROM x\nONBUILD RUNN y\n", "Dockerfile:2: unknown instruction: RUNN"),
    ("FROM x\nENV A\n", "Dockerfile:2: ENV must have two arguments"),
    ("FROM x\nUSER a b\n", "Dockerfile:2: USER requires exactly one argument"),
    ("FROM x\nRUN\n", "Dockerfile:2: RUN requires at least one argument"),
    ("FROM x\nHEALTHCHECK --interval=1x CMD true\n", 'Dockerfile:2: time: invalid duration "1x"'),
    ("FROM x\nEXPOSE\n", "Dockerfile:2: EXPOSE requires at least one argument"),
])
def test_errors_name_the_line(text: str, message: str) -> None:
    assert error_of(text).startswith(message)


def test_custom_file_name_in_errors() -> None:
    with pytest.raises(BuildError, match=r"^build\.df:2: unknown instruction: NOPE"):
        parse_dockerfile("FROM x\nnope\n", "build.df")


# -- properties ----------------------------------------------------------------

_word = st.text(alphabet=st.sampled_from("abcxyz019_-./=:$"), min_size=1, max_size=8)
_filler = st.sampled_from(["", "# note", "   ", "  # indented comment"])


@settings(max_examples=200, deadline=None)
@given(st.lists(st.lists(_word, min_size=1, max_size=5), min_size=1, max_size=6), st.data())
def test_continuations_and_fillers_do_not_change_instructions(runs: list[list[str]], data: st.DataObject) -> None:
    """Splitting an instruction over lines (with comments and blank lines in between) is invisible."""
    lines = ["FROM base"]
    expected = [("FROM", "base", 1)]
    for words in runs:
        lines.extend(data.draw(st.lists(_filler, max_size=2)))
        start = len(lines) + 1
        first, *rest = words
        text = f"RUN x{first}"  # a leading "--" would be read as a flag
        for word in rest:
            lines.append(text + " \\")
            lines.extend(data.draw(st.lists(_filler, max_size=2)))
            text = word
        lines.append(text)
        expected.append(("RUN", "x" + " ".join(words), start))
    got = [(n.keyword, n.args.replace("  ", " "), n.line) for n in parse("\n".join(lines) + "\n").nodes]
    assert [(k, " ".join(a.split()), line) for k, a, line in got] == expected


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200))
def test_any_text_parses_or_fails_with_a_build_error(text: str) -> None:
    try:
        df = parse_dockerfile(text)
    except BuildError as e:
        assert str(e).startswith("Dockerfile")
    else:
        assert df.stages


@settings(max_examples=100, deadline=None)
@given(st.lists(st.text(alphabet=st.characters(blacklist_characters="\r\n", blacklist_categories=("Cs",)),
                        max_size=30), max_size=5))
def test_heredoc_bodies_are_kept_verbatim(body: list[str]) -> None:
    body = [line for line in body if line != "EOT"]
    text = "FROM x\nRUN <<EOT\n" + "".join(f"{line}\n" for line in body) + "EOT\nCMD done\n"
    got = nodes(text)
    assert got[1].heredocs[0].content == "".join(f"{line}\n" for line in body)
    assert got[2].keyword == "CMD" and got[2].line == 4 + len(body)
