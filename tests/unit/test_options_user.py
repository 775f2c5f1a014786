"""-u parsing and resolution with moby/sys/user semantics."""
import pytest
from hypothesis import given, strategies as st

from pyns.errors import InvalidArgument
from pyns.options import ExecUser, ResolvedUser, lookup_exec_user, parse_user, resolve_user

PASSWD = b"""root:x:0:0:root:/root:/bin/sh
daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin
  foo:x:1000:1001:Foo:/home/foo:/bin/sh
broken:x:notanumber:7
"""
GROUP = b"""root:x:0:root
# comment:x:5:foo
wheel:x:10:root,foo
foo:x:1001:
audio:x:29:foo
"""


def files(passwd=PASSWD, group=GROUP):
    table = {"/etc/passwd": passwd, "/etc/group": group}
    return lambda path: table.get(path)


@pytest.mark.parametrize("spec,expected", [
    ("", ResolvedUser(0, 0, (0, 0, 10))),
    ("root", ResolvedUser(0, 0, (0, 0, 10))),
    ("foo", ResolvedUser(1000, 1001, (1001, 10, 29))),
    ("1000", ResolvedUser(1000, 1001, (1001, 10, 29))),
    ("foo:wheel", ResolvedUser(1000, 10, (10,))),
    ("foo:0", ResolvedUser(1000, 0, (0,))),
    ("4242", ResolvedUser(4242, 0, (0,))),
    ("4242:4343", ResolvedUser(4242, 4343, (4343,))),
    ("daemon:", ResolvedUser(1, 1, (1,))),
    (":wheel", ResolvedUser(0, 10, (10,))),
    ("broken", ResolvedUser(0, 7, (7,))),
])
def test_resolve(spec, expected):
    assert resolve_user(spec, files()) == expected


def test_exec_user_home_and_defaults():
    assert lookup_exec_user("foo", files()) == ExecUser(1000, 1001, (10, 29), "/home/foo")
    assert lookup_exec_user("4242", files()) == ExecUser(4242, 0, (), "/")
    assert lookup_exec_user("", files(None, None)) == ExecUser(0, 0, (), "/")
    assert resolve_user("123:456", files(None, None)) == ResolvedUser(123, 456, (456,))


def test_group_add():
    assert resolve_user("foo", files(), ["audio", "77", "wheel", "29"]) == ResolvedUser(1000, 1001, (1001, 10, 29, 29, 77, 10))
    with pytest.raises(InvalidArgument, match="unable to find group video: no matching entries in group file"):
        resolve_user("foo", files(), ["video"])


@pytest.mark.parametrize("spec,message", [
    ("bar", "unable to find user bar: no matching entries in passwd file"),
    ("foo:video", "unable to find group video: no matching entries in group file"),
    ("-1", "uids and gids must be in range 0-2147483647"),
    ("2147483648", "uids and gids must be in range 0-2147483647"),
    ("0:99999999999999999999999", "uids and gids must be in range 0-2147483647"),
])
def test_errors(spec, message):
    with pytest.raises(InvalidArgument) as err:
        resolve_user(spec, files())
    assert str(err.value) == message


def test_missing_files():
    with pytest.raises(InvalidArgument, match="unable to find user foo"):
        resolve_user("foo", files(None, None))


def test_parse_user():
    assert parse_user("foo") == ("foo", None)
    assert parse_user("foo:bar") == ("foo", "bar")
    assert parse_user("1:2:3") == ("1", "2:3")
    assert parse_user("foo:") == ("foo", None)
    with pytest.raises(InvalidArgument):
        parse_user("-5")


names = st.from_regex(r"[a-z_][a-z0-9_\-]{0,8}", fullmatch=True)
ids = st.integers(0, 2**31 - 1)


@given(names, ids, ids, st.lists(st.tuples(names, ids), max_size=4))
def test_round_trip_names_and_numbers(name, uid, gid, groups):
    passwd = f"{name}:x:{uid}:{gid}::/home/{name}:/bin/sh\n".encode()
    group = "".join(f"{g}:x:{n}:{name}\n" for g, n in groups).encode()
    by_name = resolve_user(name, files(passwd, group))
    assert by_name == resolve_user(str(uid), files(passwd, group))
    assert by_name == ResolvedUser(uid, gid, (gid, *[n for _, n in groups]))
    assert parse_user(f"{name}:{gid}") == (name, str(gid))


@given(st.text(max_size=20), st.binary(max_size=200), st.binary(max_size=200))
def test_garbage_only_invalid_argument(spec, passwd, group):
    try:
        user = resolve_user(spec, files(passwd, group))
    except InvalidArgument:
        return
    assert user.additional_gids[0] == user.gid
