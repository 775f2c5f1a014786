"""HTTP transport and client against an in-process fake registry: retries, truncation, redirects, auth."""
from __future__ import annotations

import io
import time

import pytest

from pyns.errors import RegistryError
from pyns.images.registry.client import RegistryClient
from pyns.images.registry.config import Credentials, RegistryConfig
from pyns.images.registry.transport import Transport, TransientError
from tests.registry_env import FakeRegistry, fail_times, fake_registry, sha

__all__ = ["fake_registry"]


def test_retries_server_errors_with_backoff(fake_registry: FakeRegistry):
    fake_registry.hooks["/v2/"] = fail_times(2, 503)
    transport = Transport(retries=3, backoff=0.05)
    start = time.monotonic()
    with transport.request("GET", f"{fake_registry.url}/v2/") as resp:
        assert resp.status == 200 and resp.body() == b"{}"
    assert time.monotonic() - start >= 0.05 + 0.1
    assert len(fake_registry.log) == 3


def test_gives_up_after_retries(fake_registry: FakeRegistry):
    fake_registry.hooks["/v2/"] = fail_times(10, 500)
    resp = Transport(retries=1, backoff=0.001).request("GET", f"{fake_registry.url}/v2/")
    assert resp.status == 500 and len(fake_registry.log) == 2
    resp.close()


def test_no_retry_when_the_body_cannot_be_replayed(fake_registry: FakeRegistry):
    fake_registry.hooks["/v2/"] = fail_times(1, 500)

    class OneShot(io.RawIOBase):
        def readable(self):
            return True

        def readinto(self, b):
            return 0

    resp = Transport(retries=3, backoff=0.001).request("PUT", f"{fake_registry.url}/v2/", body=OneShot(),  # type: ignore[arg-type]
                                                        headers={"Content-Length": "0"})
    assert resp.status == 500
    resp.close()


def test_truncated_body_is_transient(fake_registry: FakeRegistry):
    digest = fake_registry.add_blob(b"x" * 100_000)
    fake_registry.truncate.add(digest)
    resp = Transport().request("GET", f"{fake_registry.url}/v2/r/blobs/{digest}")
    with pytest.raises(TransientError, match="truncated body: got 50000 of 100000 bytes"):
        resp.body()


def test_connection_refused_and_unknown_host():
    with pytest.raises(TransientError):
        Transport(retries=0).request("GET", "http://127.0.0.1:1/v2/")
    with pytest.raises(RegistryError, match="lookup"):
        Transport(retries=0).request("GET", "http://no-such-host.invalid/v2/")


def test_keep_alive_connection_is_reused(fake_registry: FakeRegistry):
    transport = Transport()
    for _ in range(3):
        with transport.request("GET", f"{fake_registry.url}/v2/") as resp:
            resp.body()
    assert len(transport._idle[("http", fake_registry.host, True)]) == 1
    transport.close()


def client_for(reg: FakeRegistry, creds: Credentials | None = None) -> RegistryClient:
    return RegistryClient(reg.host, RegistryConfig(retries=1, backoff=0.001), creds)


def test_client_falls_back_to_http_and_fetches_blobs_through_redirects(fake_registry: FakeRegistry):
    fake_registry.redirect_blobs = True
    digest = fake_registry.add_blob(b"blob data")
    client = client_for(fake_registry)
    with client.open_blob("some/repo", digest) as resp:
        assert resp.body() == b"blob data"
    assert client.base_url == f"http://{fake_registry.host}"
    assert any(line.startswith("GET /storage/") for line in fake_registry.log)


def test_basic_auth_is_sent_once_challenged(fake_registry: FakeRegistry):
    fake_registry.basic = ("u", "p")
    fake_registry.add_image("r", "t", [b""])
    with pytest.raises(RegistryError, match="unauthorized: authentication required"):
        client_for(fake_registry).get_manifest("r", "t")
    data, ctype, digest = client_for(fake_registry, Credentials("u", "p")).get_manifest("r", "t")
    assert digest == sha(data) and ctype == "application/vnd.docker.distribution.manifest.v2+json"


def test_error_body_is_reported(fake_registry: FakeRegistry):
    with pytest.raises(RegistryError, match=r"manifest for .*/nope:v1 not found: manifest unknown"):
        client_for(fake_registry).get_manifest("nope", "v1")
    with pytest.raises(RegistryError, match="blob unknown to registry"):
        client_for(fake_registry).open_blob("nope", "sha256:" + "0" * 64)


def _self_signed(tmp_path) -> tuple[str, str]:
    import shutil
    import subprocess

    if not shutil.which("openssl"):
        pytest.skip("openssl is needed to make a test certificate")
    key, cert = str(tmp_path / "key.pem"), str(tmp_path / "cert.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert,
                    "-days", "1", "-subj", "/CN=localhost"], check=True, capture_output=True)
    return cert, key


def test_https_registry_verification(tmp_path):
    import ssl

    cert, key = _self_signed(tmp_path)
    with FakeRegistry() as reg:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert, key)
        reg.httpd.socket = ctx.wrap_socket(reg.httpd.socket, server_side=True)
        digest = reg.add_blob(b"over tls")
        # loopback is insecure by default: HTTPS first, without verification
        client = client_for(reg)
        with client.open_blob("r", digest) as resp:
            assert resp.body() == b"over tls"
        assert client.base_url == f"https://{reg.host}"
        # anywhere else the system CA store is used, and a self-signed certificate is refused
        with pytest.raises(RegistryError, match="tls: certificate verify failed"):
            Transport(retries=0).request("GET", f"https://{reg.host}/v2/", verify=True)
