"""Reference parsing must match docker's normalisation exactly."""
from __future__ import annotations

import os
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pyns.errors import InvalidArgument
from pyns.images import reference
from pyns.images.reference import Reference, parse, parse_strict, parse_tagged

HEX = "a" * 64
DIGEST = f"sha256:{'0123456789abcdef' * 4}"


@pytest.mark.parametrize("text, normalised, familiar", [
    ("busybox", "docker.io/library/busybox", "busybox"),
    ("busybox:latest", "docker.io/library/busybox:latest", "busybox:latest"),
    ("library/debian", "docker.io/library/debian", "debian"),
    ("docker/docker", "docker.io/docker/docker", "docker/docker"),
    ("docker.io/debian", "docker.io/library/debian", "debian"),
    ("docker.io/library/debian", "docker.io/library/debian", "debian"),
    ("index.docker.io/debian", "docker.io/library/debian", "debian"),
    ("index.docker.io/docker/docker", "docker.io/docker/docker", "docker/docker"),
    ("docker.io/library/foo/bar", "docker.io/library/foo/bar", "library/foo/bar"),
    ("127.0.0.1:5000/busybox", "127.0.0.1:5000/busybox", "127.0.0.1:5000/busybox"),
    ("127.0.0.1:5000/library/debian", "127.0.0.1:5000/library/debian", "127.0.0.1:5000/library/debian"),
    ("localhost/x", "localhost/x", "localhost/x"),
    ("localhost:5000/ns/repo:tag", "localhost:5000/ns/repo:tag", "localhost:5000/ns/repo:tag"),
    ("foo_bar.com:8080", "docker.io/library/foo_bar.com:8080", "foo_bar.com:8080"),
    ("foo/foo_bar.com:8080", "docker.io/foo/foo_bar.com:8080", "foo/foo_bar.com:8080"),
    ("sub-dom1.foo.com/bar/baz/quux", "sub-dom1.foo.com/bar/baz/quux", "sub-dom1.foo.com/bar/baz/quux"),
    ("b.gcr.io/test.example.com/my-app:test.example.com", "b.gcr.io/test.example.com/my-app:test.example.com",
     "b.gcr.io/test.example.com/my-app:test.example.com"),
    ("xn--n3h.com/myimage:xn--n3h.com", "xn--n3h.com/myimage:xn--n3h.com", "xn--n3h.com/myimage:xn--n3h.com"),
    ("[2001:db8::1]:5000/repo", "[2001:db8::1]:5000/repo", "[2001:db8::1]:5000/repo"),
    ("Foo/bar", "Foo/bar", "Foo/bar"),  # an upper-case first component can only be a host
    ("0.0__0/0", "0.0__0/0", "0.0__0/0"),  # looks like a host, is not one: a domain-less path (as docker)
    ("a__b/c-d---e/f.g_h:T_a.g-1", "docker.io/a__b/c-d---e/f.g_h:T_a.g-1", "a__b/c-d---e/f.g_h:T_a.g-1"),
    (f"busybox@{DIGEST}", f"docker.io/library/busybox@{DIGEST}", f"busybox@{DIGEST}"),
    (f"busybox:1.36@{DIGEST}", f"docker.io/library/busybox:1.36@{DIGEST}", f"busybox:1.36@{DIGEST}"),
])
def test_normalisation(text: str, normalised: str, familiar: str) -> None:
    ref = parse(text)
    assert ref.string() == normalised
    assert str(ref) == normalised
    assert ref.familiar() == familiar


def test_fields() -> None:
    ref = parse(f"127.0.0.1:5000/ns/repo:v1@{DIGEST}")
    assert (ref.domain, ref.path, ref.tag, ref.digest) == ("127.0.0.1:5000", "ns/repo", "v1", DIGEST)
    assert ref.name == "127.0.0.1:5000/ns/repo"
    assert ref.familiar_name() == "127.0.0.1:5000/ns/repo"


def test_default_tag() -> None:
    assert parse("busybox").with_default_tag().string() == "docker.io/library/busybox:latest"
    assert parse("busybox").with_default_tag().familiar() == "busybox:latest"
    assert parse("busybox:1").with_default_tag().tag == "1"
    pinned = parse(f"busybox@{DIGEST}").with_default_tag()
    assert pinned.tag is None and pinned.digest == DIGEST


@pytest.mark.parametrize("text, message", [
    ("", "invalid reference format"),
    (":justtag", "invalid reference format"),
    (f"@{DIGEST}", "invalid reference format"),
    ("busybox:", "invalid reference format"),
    ("bus box", "invalid reference format"),
    ("aa/asdf$$^/aa", "invalid reference format"),
    ("a___b", "invalid reference format"),
    ("a..b", "invalid reference format"),
    ("-a", "invalid reference format"),
    ("a-", "invalid reference format"),
    ("repo@sha256:ffffffff", "invalid reference format"),
    ("[fe80::1%eth0]:5000/repo", "invalid reference format"),
    ("busybox:" + "a" * 129, "invalid reference format"),
    ("busybox:-tag", "invalid reference format"),
    ("Uppercase:tag", "invalid reference format: repository name must be lowercase"),
    ("Busybox", "invalid reference format: repository name must be lowercase"),
    ("test:5000/Uppercase/lowercase:tag", "invalid reference format: repository name must be lowercase"),
    ("localhost:5000/A", "invalid reference format: repository name must be lowercase"),
    ("a/" + "b" * 250, "repository name must not be more than 255 characters"),
    (HEX, "cannot specify 64-byte hexadecimal strings"),
    ("validname@invaliddigest:" + "f" * 32, "unsupported digest algorithm"),
    ("validname@sha256:" + "f" * 32, "invalid checksum digest length"),
    ("validname@sha256:" + "F" * 64, "invalid checksum digest format"),
])
def test_rejects(text: str, message: str) -> None:
    with pytest.raises(InvalidArgument, match=message.replace("(", r"\(").replace(")", r"\)").replace("$", r"\$")):
        parse(text)


def test_name_length_limit_counts_the_domain() -> None:
    # docker.io/library/ + 237 chars is exactly 255
    assert parse("a" * 237).name == "docker.io/library/" + "a" * 237
    with pytest.raises(InvalidArgument, match="255"):
        parse("a" * 238)


def test_parse_tagged() -> None:
    assert parse_tagged("busybox").string() == "docker.io/library/busybox:latest"
    with pytest.raises(InvalidArgument, match="refusing to create a tag with a digest reference"):
        parse_tagged(f"busybox@{DIGEST}")
    with pytest.raises(InvalidArgument, match="ambiguous tag using digest algorithm"):
        parse_tagged("sha256:abc")


def test_parse_strict_keeps_unqualified_names() -> None:
    assert parse_strict("busybox:1") == Reference("", "busybox", "1", None)


# -- properties -------------------------------------------------------------------

components = st.from_regex(r"[a-z0-9]{1,6}(?:(?:[._]|__|-{1,2})[a-z0-9]{1,6}){0,2}", fullmatch=True)
paths = st.lists(components, min_size=1, max_size=3).map("/".join)
hosts = st.one_of(
    st.just("localhost"),
    st.from_regex(r"[a-z0-9]{1,8}(?:\.[a-z0-9]{1,8}){1,2}", fullmatch=True),
    st.from_regex(r"[a-zA-Z0-9]{1,8}(?:\.[a-z0-9]{1,8}){0,2}:[0-9]{1,5}", fullmatch=True),
    st.just("[::1]:5000"),
)
domains = st.one_of(st.none(), hosts)
tags = st.one_of(st.none(), st.from_regex(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,20}", fullmatch=True))
digests = st.one_of(st.none(), st.from_regex(r"sha256:[a-f0-9]{64}", fullmatch=True))


@st.composite
def references(draw: st.DrawFn) -> str:
    domain, path, tag, digest = draw(domains), draw(paths), draw(tags), draw(digests)
    text = f"{domain}/{path}" if domain else path
    if tag:
        text += f":{tag}"
    if digest:
        text += f"@{digest}"
    return text


@given(references())
@settings(max_examples=300)
def test_round_trips(text: str) -> None:
    ref = parse(text)
    assert parse(ref.string()) == ref
    assert parse(ref.familiar()) == ref
    assert parse(ref.string()).string() == ref.string()  # normalisation is idempotent
    assert ref.with_default_tag().with_default_tag() == ref.with_default_tag()
    assert parse_strict(ref.string()) == ref


@given(references())
def test_familiar_is_never_longer(text: str) -> None:
    ref = parse(text)
    assert len(ref.familiar()) <= len(ref.string())
    assert not ref.familiar().startswith("docker.io/")


@given(st.text(max_size=80))
@settings(max_examples=500)
def test_garbage_only_raises_invalid_argument(text: str) -> None:
    try:
        ref = parse(text)
    except InvalidArgument:
        return
    assert parse(ref.string()) == ref


@given(references(), st.sampled_from(list(" !$%^&*()+=|\\\"'<>,?\t\n~`{}") + ["\u00e9"]))
def test_rejects_any_foreign_character(text: str, bad: str) -> None:
    for position in (0, len(text) // 2, len(text)):
        with pytest.raises(InvalidArgument):
            parse(text[:position] + bad + text[position:])


@given(paths.filter(lambda p: any(c.isalpha() for c in p.split("/")[-1])))
def test_uppercase_paths_rejected(path: str) -> None:
    last = path.split("/")
    last[-1] = last[-1].upper()
    with pytest.raises(InvalidArgument, match="must be lowercase"):
        parse("example.com/" + "/".join(last))


# -- the hand-written scanners against the grammar's regular expressions ----------------

_ORACLE = re.compile(reference.REFERENCE_PATTERN, re.ASCII)
_NAME_ORACLE = re.compile(reference.NAME_PATTERN, re.ASCII)
_TAG_ORACLE = re.compile(reference.TAG_PATTERN, re.ASCII)
_NEAR_MISSES = st.text(alphabet="aZ09._-_:/@[]+fé ", max_size=24)


def _oracle(s: str):
    m = _ORACLE.fullmatch(s)
    if m is None:
        return None
    nm = _NAME_ORACLE.fullmatch(m.group(1))
    return m.group(1), m.group(2), m.group(3), nm.group(1)


@given(st.one_of(references(), _NEAR_MISSES,
                 st.builds("".join, st.lists(st.one_of(references(), _NEAR_MISSES), max_size=3))))
@settings(max_examples=int(os.environ.get('PYNS_HYPOTHESIS_EXAMPLES', '400')), deadline=None)
def test_scanners_agree_with_the_grammar(text: str) -> None:
    assert reference._match(text) == _oracle(text)
    assert reference._is_tag(text) == bool(_TAG_ORACLE.fullmatch(text))


@pytest.mark.parametrize("text", [
    "a", "a:b", "a/b:c", "localhost:5000", "localhost:5000/x", "[::1]:5000/x", "[::1]/x", "[::1]:5000",
    "[]/x", "[:::]/x:1", "a-/b", "-a/b", "A/b", "a__b", "a___b", "a--b", "a.-b", "a:1/b:c", "a/b:c/d",
    "x@sha256:" + "a" * 64, "x@a+b.c_d-e:" + "0" * 32, "x@1a:" + "0" * 32, "x@a+:" + "0" * 32,
    "x:" + "t" * 128, "x:" + "t" * 129, "x:.t", "x:_t", "x@sha256:" + "a" * 31, "a@b@sha256:" + "a" * 64,
])
def test_scanners_agree_on_edge_cases(text: str) -> None:
    assert reference._match(text) == _oracle(text)
