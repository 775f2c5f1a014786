"""Client configuration: credentials (0600), insecure registries, mirrors, login server names."""
from __future__ import annotations

import json
import os
import stat

import pytest

from pyns.errors import InvalidArgument
from pyns.images.registry.config import Credentials, RegistryConfig, auth_key, is_loopback, split_host_port
from pyns.images.registry.endpoints import Endpoint, parse_mirror, pull_endpoints, push_endpoint
from pyns.images.registry.login import normalize_server


def test_credentials_are_stored_0600_and_merged(tmp_path):
    cfg = RegistryConfig.load(str(tmp_path / "cfg"))
    (tmp_path / "cfg").mkdir()
    (tmp_path / "cfg" / "config.json").write_text(json.dumps({"registry-mirrors": ["http://m:5000"]}))
    cfg.save_credentials("127.0.0.1:5000", Credentials("alice", "s:3"))
    RegistryConfig.load(str(tmp_path / "cfg")).save_credentials("docker.io", Credentials("bob", "x"))
    path = tmp_path / "cfg" / "config.json"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    data = json.loads(path.read_text())
    assert data["registry-mirrors"] == ["http://m:5000"]
    assert set(data["auths"]) == {"127.0.0.1:5000", "https://index.docker.io/v1/"}
    again = RegistryConfig.load(str(tmp_path / "cfg"))
    assert again.credentials("127.0.0.1:5000") == Credentials("alice", "s:3")
    assert again.credentials("docker.io") == Credentials("bob", "x")
    assert again.remove_credentials("127.0.0.1:5000") and not again.remove_credentials("127.0.0.1:5000")
    assert again.credentials("127.0.0.1:5000") is None
    assert RegistryConfig.load(str(tmp_path / "cfg")).mirrors == ["http://m:5000"]


def test_bad_config_is_a_clear_error(tmp_path):
    (tmp_path / "config.json").write_text("{oops")
    with pytest.raises(InvalidArgument, match="invalid pyns config"):
        RegistryConfig.load(str(tmp_path))


def test_settings_from_the_file(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps({
        "max-concurrent-downloads": 5, "max-retries": 0, "retry-backoff": 0.5, "upload-chunk-size": 1000,
        "search-index": "http://127.0.0.1:1", "auths": {"h": {"auth": "!!notbase64"}}}))
    cfg = RegistryConfig.load(str(tmp_path))
    assert (cfg.max_concurrent_downloads, cfg.retries, cfg.backoff, cfg.chunk_size) == (5, 0, 0.5, 1000)
    assert cfg.search_index == "http://127.0.0.1:1" and cfg.auths == {}


@pytest.mark.parametrize("host,expected", [
    ("127.0.0.1:5000", True), ("127.8.9.10", True), ("[::1]:5000", True), ("localhost:5000", True),
    ("::1", True), ("10.0.0.1:5000", False), ("registry.example.com", False), ("128.0.0.1", False),
])
def test_loopback_is_insecure_by_default(host, expected):
    assert is_loopback(host) is expected
    assert RegistryConfig().is_insecure(host) is expected


def test_configured_insecure_registries():
    cfg = RegistryConfig(insecure=["10.0.0.0/8", "reg.lan:5000", "plain.lan"])
    assert cfg.is_insecure("10.9.9.9:443") and cfg.is_insecure("reg.lan:5000") and cfg.is_insecure("plain.lan:1")
    assert not cfg.is_insecure("reg.lan:5001") and not cfg.is_insecure("11.0.0.1")


def test_split_host_port():
    assert split_host_port("[::1]:5000") == ("::1", "5000")
    assert split_host_port("h:1") == ("h", "1") and split_host_port("h") == ("h", "")


def test_endpoints_mirrors_only_for_docker_hub():
    cfg = RegistryConfig(mirrors=["http://127.0.0.1:5000", "mirror.example.com"])
    assert pull_endpoints("docker.io", cfg) == [Endpoint("127.0.0.1:5000", "http", True),
                                                Endpoint("mirror.example.com", None, True),
                                                Endpoint("registry-1.docker.io")]
    assert pull_endpoints("127.0.0.1:6000", cfg) == [Endpoint("127.0.0.1:6000")]
    assert push_endpoint("docker.io") == Endpoint("registry-1.docker.io")
    for bad in ("ftp://x", "http://x/path", ""):
        with pytest.raises(InvalidArgument):
            parse_mirror(bad)


def test_server_names():
    assert normalize_server(None) == "docker.io" == normalize_server("https://index.docker.io/v1/")
    assert normalize_server("registry-1.docker.io") == "docker.io"
    assert normalize_server("http://127.0.0.1:5000/") == "127.0.0.1:5000"
    assert auth_key("docker.io") == "https://index.docker.io/v1/" and auth_key("h:1") == "h:1"
