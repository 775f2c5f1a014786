"""Token auth (docker-registry's silly mode + a token server), Basic auth, login/logout."""
from __future__ import annotations

import json
import os
import stat
import urllib.parse
from pathlib import Path

import pytest

from pyns.errors import RegistryError
from tests.conftest import needs_root, pyns_cli
from tests.registry_env import (DockerRegistry, FakeRegistry, OciLayout, TokenServer, fake_registry, needs_registry_tools,
                                pyns_config, skopeo_copy, tar_bytes)

pytestmark = [needs_root, needs_registry_tools]
__all__ = ["fake_registry", "pyns_config"]


def _layout(tmp_path: Path) -> Path:
    layout = OciLayout(tmp_path / "layout")
    layout.tag(layout.image([tar_bytes({"hello": b"token auth\n"})]), "t")
    return layout.path


@pytest.fixture
def token_registry(tmp_path: Path, request):
    """docker-registry in silly token mode behind a TokenServer (credentials via indirect param)."""
    creds = getattr(request, "param", None)
    with TokenServer(credentials=creds) as tokens, DockerRegistry(tmp_path / "reg", f"{tokens.url}/token") as reg:
        yield reg, tokens


def test_anonymous_token_flow(engine, pyns_config, token_registry, tmp_path):
    reg, tokens = token_registry
    skopeo_copy(f"oci:{_layout(tmp_path)}:t", f"docker://{reg.host}/anon/img:t")
    tokens.requests.clear()
    img = engine.images.pull(f"{reg.host}/anon/img:t")
    layer = engine.image_store.layers.get(img.image.chain_ids[0])
    assert Path(layer.diff_dir, "hello").read_bytes() == b"token auth\n"
    assert tokens.requests, "the registry's challenge was never answered"
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(tokens.requests[0]["path"]).query)
    assert query == {"service": ["pyns-test"], "scope": ["repository:anon/img:pull"]}
    assert tokens.requests[0]["authorization"] is None
    assert len(tokens.requests) == 1  # one token serves the manifest, config and layer requests


@pytest.mark.parametrize("token_registry", [("alice", "s3cret")], indirect=True)
def test_login_pull_push_logout_with_token_server(root, pyns_config, token_registry, tmp_path):
    reg, tokens = token_registry
    skopeo_copy(f"oci:{_layout(tmp_path)}:t", f"docker://{reg.host}/private/img:t", "--dest-creds", "alice:s3cret")
    ref = f"{reg.host}/private/img:t"
    denied = pyns_cli("pull", ref)
    assert denied.returncode == 125 and "unauthorized: authentication required" in denied.stderr.decode()
    bad = pyns_cli("login", "-u", "alice", "--password-stdin", reg.host, input=b"wrong\n")
    assert bad.returncode == 125 and "incorrect username or password" in bad.stderr.decode()
    assert not (pyns_config / "config.json").read_text().count("auths")
    ok = pyns_cli("login", "-u", "alice", "--password-stdin", reg.host, input=b"s3cret\n")
    assert ok.returncode == 0 and ok.stdout.decode() == "Login Succeeded\n", ok.stderr.decode()
    config = pyns_config / "config.json"
    assert stat.S_IMODE(os.stat(config).st_mode) == 0o600
    assert json.loads(config.read_text())["auths"][reg.host]["auth"] == "YWxpY2U6czNjcmV0"
    pulled = pyns_cli("pull", ref)
    assert pulled.returncode == 0, pulled.stderr.decode()
    assert tokens.requests[-1]["authorization"] == "Basic YWxpY2U6czNjcmV0"
    assert pyns_cli("tag", ref, f"{reg.host}/private/copy:t").returncode == 0
    pushed = pyns_cli("push", f"{reg.host}/private/copy:t")
    assert pushed.returncode == 0, pushed.stderr.decode()
    out = pyns_cli("logout", reg.host)
    assert out.stdout.decode() == f"Removing login credentials for {reg.host}\n"
    assert "auths" not in json.loads(config.read_text()) or not json.loads(config.read_text())["auths"]
    assert pyns_cli("logout", reg.host).stdout.decode() == f"Not logged in to {reg.host}\n"
    assert pyns_cli("pull", f"{reg.host}/private/copy:t").returncode == 125


def test_basic_auth_registry(engine, pyns_config, fake_registry: FakeRegistry):
    fake_registry.basic = ("bob", "hunter2")
    fake_registry.add_image("basic", "1", [tar_bytes({"b": b"basic\n"})])
    ref = f"{fake_registry.host}/basic:1"
    with pytest.raises(RegistryError, match="unauthorized: authentication required"):
        engine.images.pull(ref)
    with pytest.raises(RegistryError, match="unauthorized"):
        engine.images.login("bob", "wrong", fake_registry.host)
    assert engine.images.login("bob", "hunter2", fake_registry.host) == "Login Succeeded"
    img = engine.images.pull(ref)
    assert Path(engine.image_store.layers.get(img.image.chain_ids[0]).diff_dir, "b").read_bytes() == b"basic\n"
    assert engine.images.logout(fake_registry.host) == f"Removing login credentials for {fake_registry.host}"


def test_docker_hub_login_key_and_insecure_policy(pyns_config):
    from pyns.images.registry.config import RegistryConfig

    cfg = RegistryConfig.load()
    assert cfg.is_insecure("127.0.0.1:5000") and cfg.is_insecure("[::1]:5000") and cfg.is_insecure("localhost")
    assert not cfg.is_insecure("registry.example.com") and not cfg.is_insecure("10.1.2.3:5000")
    (pyns_config / "config.json").write_text(json.dumps({"insecure-registries": ["10.0.0.0/8", "reg.lan:5000"]}))
    cfg = RegistryConfig.load()
    assert cfg.is_insecure("10.1.2.3:5000") and cfg.is_insecure("reg.lan:5000") and not cfg.is_insecure("reg.lan")
