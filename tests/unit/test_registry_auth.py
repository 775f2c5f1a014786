"""WWW-Authenticate parsing and the token/basic authenticator."""
from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pyns.errors import RegistryError
from pyns.images.registry.auth import Authenticator, basic_header, parse_challenges, repository_scope
from pyns.images.registry.config import Credentials


def test_parse_bearer_challenge():
    [ch] = parse_challenges('Bearer realm="https://auth.docker.io/token",service="registry.docker.io",'
                            'scope="repository:samalba/my-app:pull,push"')
    assert ch.scheme == "bearer"
    assert ch.params == {"realm": "https://auth.docker.io/token", "service": "registry.docker.io",
                         "scope": "repository:samalba/my-app:pull,push"}
    assert ch.scopes == ("repository:samalba/my-app:pull,push",)


def test_parse_several_challenges_and_odd_spacing():
    chs = parse_challenges('Basic realm="Registry Realm" ,  Bearer realm=http://h/t , service=x')
    assert [(c.scheme, c.params) for c in chs] == [("basic", {"realm": "Registry Realm"}),
                                                     ("bearer", {"realm": "http://h/t", "service": "x"})]
    assert parse_challenges("Basic") == [parse_challenges("basic")[0]]
    assert parse_challenges('Bearer realm="a\\"b,c"')[0].params == {"realm": 'a"b,c'}
    assert parse_challenges("") == []


@given(st.text(max_size=80))
def test_parse_never_crashes(header):
    for ch in parse_challenges(header):
        assert ch.scheme == ch.scheme.lower()


class FakeTokenServer:
    def __init__(self, status=200, body=None):
        self.calls = []
        self.status = status
        self.body = body if body is not None else json.dumps({"token": "t1", "expires_in": 300}).encode()

    def __call__(self, url, headers):
        self.calls.append((url, headers))
        return self.status, {}, self.body


def bearer(auth: Authenticator, scope: str = "repository:x:pull") -> Authenticator:
    auth.learn(f'Bearer realm="https://auth.example/token?a=1",service="reg",scope="{scope}"')
    return auth


def test_token_is_fetched_once_per_scope_set():
    server = FakeTokenServer()
    auth = bearer(Authenticator("reg", None, server))
    scope = (repository_scope("x", ["pull"]),)
    assert auth.header(scope) == "Bearer t1" and auth.header(scope) == "Bearer t1"
    assert len(server.calls) == 1
    url, headers = server.calls[0]
    assert url == "https://auth.example/token?a=1&service=reg&scope=repository%3Ax%3Apull" and headers == {}
    auth.header(("repository:x:pull", "repository:y:pull"))
    assert "scope=repository%3Ax%3Apull&scope=repository%3Ay%3Apull" in server.calls[1][0]
    auth.forget(scope)
    auth.header(scope)
    assert len(server.calls) == 3


def test_token_with_credentials_and_access_token_field():
    server = FakeTokenServer(body=b'{"access_token": "a2"}')
    auth = bearer(Authenticator("reg", Credentials("alice", "pw"), server))
    assert auth.header(()) == "Bearer a2"
    assert server.calls[0][1] == {"Authorization": basic_header(Credentials("alice", "pw"))}
    assert "account=alice" in server.calls[0][0]


@pytest.mark.parametrize("status,body,message", [
    (401, b"", "unauthorized: authentication required"),
    (500, b"boom", "answered 500"),
    (200, b"{}", "returned no token"),
    (200, b"not json", "returned no token"),
])
def test_token_errors(status, body, message):
    auth = bearer(Authenticator("reg", None, FakeTokenServer(status, body)))
    with pytest.raises(RegistryError, match=message):
        auth.header(("repository:x:pull",))


def test_wrong_password_message():
    auth = bearer(Authenticator("reg", Credentials("a", "b"), FakeTokenServer(401, b"")))
    with pytest.raises(RegistryError, match="incorrect username or password"):
        auth.header(())


def test_basic_and_anonymous():
    assert Authenticator("reg", None, FakeTokenServer()).header(()) is None  # no challenge yet
    auth = Authenticator("reg", Credentials("u", "p"), FakeTokenServer())
    auth.learn('Basic realm="r"')
    assert auth.header(()) == "Basic dTpw"
    anon = Authenticator("reg", None, FakeTokenServer())
    anon.learn('Basic realm="r"')
    assert anon.header(()) is None
    assert anon.learn("Negotiate") is None
