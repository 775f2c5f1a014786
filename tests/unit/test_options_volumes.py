"""-v specs: the CLI's split, the daemon's Linux parser, the local driver's names."""
import pytest
from hypothesis import given, strategies as st

from pyns.errors import InvalidArgument
from pyns.options import VolumeSpec, parse_volume


@pytest.mark.parametrize("spec,expected", [
    ("/h:/c", VolumeSpec("/h", "/c", False, "bind")),
    ("/h/:/c/", VolumeSpec("/h", "/c", False, "bind")),
    ("/h//x/../y:/c", VolumeSpec("/h/y", "/c", False, "bind")),
    ("/h:/c:ro", VolumeSpec("/h", "/c", True, "bind", ("ro",))),
    ("/h:/c:rw,Z,rshared", VolumeSpec("/h", "/c", False, "bind", ("rw", "Z", "rshared"))),
    ("data:/c", VolumeSpec("data", "/c", False, "volume")),
    ("my-vol.1:/c:ro,nocopy", VolumeSpec("my-vol.1", "/c", True, "volume", ("ro", "nocopy"))),
    ("/data", VolumeSpec("", "/data", False, "anonymous")),
    ("/a/../data/", VolumeSpec("", "/data", False, "anonymous")),
    ("/h:/c:cached", VolumeSpec("/h", "/c", False, "bind", ("cached",))),
])
def test_examples(spec, expected):
    assert parse_volume(spec) == expected


def test_properties():
    bind = parse_volume("/h:/c:ro,z")
    assert (bind.propagation, bind.selinux_label, bind.copy_data, bind.mode) == ("rprivate", "z", False, "ro,z")
    assert parse_volume("/h:/c:rslave").propagation == "rslave"
    vol = parse_volume("vol:/c:nocopy")
    assert (vol.propagation, vol.copy_data) == ("", False)
    assert parse_volume("vol:/c").copy_data


def test_relative_sources_with_cwd():
    assert parse_volume("./src:/c", cwd="/home/u") == VolumeSpec("/home/u/src", "/c", False, "bind")
    assert parse_volume(".:/c:ro", cwd="/home/u").source == "/home/u"
    assert parse_volume("../x:/c", cwd="/home/u").source == "/home/x"
    with pytest.raises(InvalidArgument, match="includes invalid characters for a local volume name"):
        parse_volume("./src:/c")


@pytest.mark.parametrize("spec,message", [
    ("", "invalid empty volume spec"),
    ("/a:/b:/c:/d", "invalid spec: /a:/b:/c:/d: too many colons"),
    ("/a::/b", "invalid spec: /a::/b: empty section between colons"),
    ("/a:/b:", "invalid spec: /a:/b:: empty section between colons"),
    (":/b", "invalid spec: :/b: empty section between colons"),
    ("/a:rw", "invalid volume specification: '/a:rw'"),
    ("/a:/b:rw,ro", "invalid mode: rw,ro"),
    ("/a:/b:foo", "invalid mode: foo"),
    ("/a:/b:z,Z", "invalid mode: z,Z"),
    ("/a:/", "invalid volume specification: '/a:/': invalid mount config for type \"bind\": "
             "invalid specification: destination can't be '/'"),
    ("/a:/b/..", "invalid volume specification: '/a:/b/..': invalid mount config for type \"bind\": "
                 "invalid specification: destination can't be '/'"),
    ("/a:b", "invalid volume specification: '/a:b': invalid mount config for type \"bind\": "
             "invalid mount path: 'b' mount path must be absolute"),
    ("data", "invalid volume specification: 'data': invalid mount config for type \"volume\": "
             "invalid mount path: 'data' mount path must be absolute"),
    ("/", "invalid volume specification: '/': invalid mount config for type \"volume\": "
          "invalid specification: destination can't be '/'"),
    ("/a:/b:nocopy", "invalid volume specification: '/a:/b:nocopy': invalid mount config for type \"bind\": "
                     "field VolumeOptions must not be specified"),
    ("vol:/b:rshared", "invalid volume specification: 'vol:/b:rshared': invalid mount config for type \"volume\": "
                       "field BindOptions must not be specified"),
    ("1:/b", "create 1: volume name is too short, names should be at least two alphanumeric characters"),
    ("_x:/b", 'create _x: "_x" includes invalid characters for a local volume name, only '
              '"[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed. If you intended to pass a host directory, use absolute path'),
])
def test_errors(spec, message):
    with pytest.raises(InvalidArgument) as err:
        parse_volume(spec)
    assert str(err.value) == message


segment = st.from_regex(r"[a-zA-Z0-9_.\-]{1,8}", fullmatch=True).filter(lambda s: s not in (".", ".."))
paths = st.lists(segment, min_size=1, max_size=4).map(lambda parts: "/" + "/".join(parts))
names = st.from_regex(r"[a-zA-Z0-9][a-zA-Z0-9_.\-]{1,10}", fullmatch=True)
modes = st.tuples(
    st.sampled_from([None, "ro", "rw"]), st.sampled_from([None, "z", "Z"]),
    st.sampled_from([None, "private", "rprivate", "slave", "rslave", "shared", "rshared"]),
).map(lambda t: tuple(m for m in t if m))


@given(paths, paths, modes)
def test_bind_round_trip(source, target, options):
    spec = f"{source}:{target}" + (":" + ",".join(options) if options else "")
    parsed = parse_volume(spec)
    assert parsed == VolumeSpec(source, target, "ro" in options, "bind", options)
    assert parse_volume(str(parsed)) == parsed


@given(names, paths, st.sampled_from([(), ("ro",), ("nocopy",), ("rw", "nocopy", "z")]))
def test_named_round_trip(name, target, options):
    spec = f"{name}:{target}" + (":" + ",".join(options) if options else "")
    parsed = parse_volume(spec)
    assert (parsed.kind, parsed.source, parsed.target, parsed.options) == ("volume", name, target, options)
    assert parse_volume(str(parsed)) == parsed


@given(paths)
def test_anonymous_round_trip(target):
    parsed = parse_volume(target)
    assert parsed == VolumeSpec("", target, False, "anonymous")
    assert parse_volume(str(parsed)) == parsed


@given(st.text(max_size=30), st.one_of(st.none(), st.just("/cwd")))
def test_garbage_only_invalid_argument(spec, cwd):
    try:
        parsed = parse_volume(spec, cwd=cwd)
    except InvalidArgument:
        return
    assert parsed.target.startswith("/") and parsed.target != "/"
    assert parsed.kind == "bind" or "/" not in parsed.source


@given(st.from_regex(r"[a-z/.:,Z]{0,16}", fullmatch=True))
def test_near_miss_only_invalid_argument(spec):
    try:
        parse_volume(spec)
    except InvalidArgument:
        pass
