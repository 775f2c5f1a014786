"""--tmpfs: destination checks and moby's MergeTmpfsOptions."""
import pytest
from hypothesis import given, strategies as st

from pyns.errors import InvalidArgument
from pyns.options import merge_tmpfs_options, parse_tmpfs, tmpfs_options


@pytest.mark.parametrize("spec,expected", [
    ("/run", ("/run", "noexec,nosuid,nodev,rprivate")),
    ("/run:rw,size=64m,mode=1777", ("/run", "noexec,nosuid,nodev,rprivate,rw,size=64m,mode=1777")),
    ("/run:exec", ("/run", "nosuid,nodev,rprivate,exec")),
    ("/run:size=1m,size=2m,shared", ("/run", "noexec,nosuid,nodev,size=2m,shared")),
    ("/run:defaults,ro", ("/run", "noexec,nosuid,nodev,rprivate,ro")),
    ("/run:", ("/run", "noexec,nosuid,nodev,rprivate")),
])
def test_examples(spec, expected):
    assert parse_tmpfs(spec) == expected


@pytest.mark.parametrize("spec,message", [
    ("/", "invalid specification: destination can't be '/'"),
    ("/a/..", "invalid specification: destination can't be '/'"),
    ("run", "invalid mount path: 'run' mount path must be absolute"),
    ("", "invalid mount path: '' mount path must be absolute"),
    ("/run:foo", 'invalid tmpfs option "foo"'),
    ("/run:bad=1", 'invalid tmpfs option "bad"'),
    ("/run:rw,", 'invalid tmpfs option ""'),
])
def test_errors(spec, message):
    with pytest.raises(InvalidArgument) as err:
        parse_tmpfs(spec)
    assert str(err.value) == message


def test_merge_keeps_last_of_each_kind():
    assert merge_tmpfs_options(["ro", "rw", "size=1", "uid=0", "size=2"]) == ["rw", "uid=0", "size=2"]
    assert tmpfs_options("") == ["noexec", "nosuid", "nodev", "rprivate"]


options = st.sampled_from(["ro", "rw", "exec", "noexec", "suid", "nosuid", "dev", "nodev", "shared",
                           "rslave", "size=64m", "size=1g", "mode=1777", "uid=1000", "gid=0", "nr_inodes=10"])


@given(st.lists(options, max_size=8))
def test_merge_properties(opts):
    merged = tmpfs_options(",".join(opts))
    assert len(merged) == len(set(merged))
    for opt in opts:
        if "=" in opt:  # the last value of each data key wins
            key = opt.split("=")[0]
            assert [o for o in merged if o.startswith(key + "=")] == [[o for o in opts if o.startswith(key + "=")][-1]]
    assert merge_tmpfs_options(merged) == merged


@given(st.text(max_size=30))
def test_garbage_only_invalid_argument(spec):
    try:
        target, data = parse_tmpfs(spec)
    except InvalidArgument:
        return
    assert spec.startswith(target) and data
