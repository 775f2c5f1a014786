"""Registry test helpers: a real docker-registry, OCI layouts pushed with skopeo, fakes.

* :class:`DockerRegistry` runs Debian's ``docker-registry`` on a free
  loopback port with storage in a temp dir (optionally in ``silly`` token
  auth mode, which issues Bearer challenges and accepts any token).
* :class:`OciLayout` writes an OCI image layout (blobs + index.json) from
  tar bytes, in gzip/zstd/uncompressed and multi-platform form, so images
  are pushed by ``skopeo`` (:func:`skopeo_copy`), not by pyns.
* :class:`FakeRegistry` is a small in-process registry for what a real one
  will not do on demand: 500s, truncated or tampered blobs, redirects,
  wrong digests, Basic auth, odd media types.
* :class:`TokenServer` is a token endpoint (anonymous or Basic-authenticated).

Everything listens on 127.0.0.1 and is stopped by its fixture.
"""
from __future__ import annotations

import base64
import gzip
import hashlib
import io
import json
import os
import shutil
import socket
import subprocess
import tarfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

DOCKER_REGISTRY = shutil.which("docker-registry") or "/usr/bin/docker-registry"
SKOPEO = shutil.which("skopeo") or "/usr/bin/skopeo"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
LAYER_TYPES = {"gzip": "application/vnd.oci.image.layer.v1.tar+gzip",
               "zstd": "application/vnd.oci.image.layer.v1.tar+zstd",
               "none": "application/vnd.oci.image.layer.v1.tar"}

needs_registry_tools = pytest.mark.skipif(
    not (os.path.exists(DOCKER_REGISTRY) and os.path.exists(SKOPEO)),
    reason="docker-registry and skopeo are needed (make deps installs them)")


def sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_http(url: str, timeout: float = 15.0, proc: subprocess.Popen | None = None) -> None:
    """Wait until ``url`` answers at all (any HTTP status counts)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            urllib.request.urlopen(url, timeout=1).close()
            return
        except urllib.error.HTTPError:
            return
        except OSError:
            if proc is not None and proc.poll() is not None:
                raise RuntimeError(f"{proc.args} exited with {proc.returncode}")
            if time.monotonic() > deadline:
                raise
            time.sleep(0.03)


# -- tarballs -------------------------------------------------------------------


@dataclass
class Entry:
    """A tar entry to write: a file (data), dir, symlink, hardlink, fifo or char device."""

    name: str
    data: bytes = b""
    kind: bytes = tarfile.REGTYPE
    mode: int = 0o644
    link: str = ""
    uid: int = 0
    gid: int = 0
    mtime: int = 1_700_000_000
    xattrs: dict[str, str] = field(default_factory=dict)


def tar_bytes(entries: list[Entry] | dict[str, bytes]) -> bytes:
    """An uncompressed PAX tar of ``entries`` (a dict means plain files)."""
    if isinstance(entries, dict):
        entries = [Entry(n, d) for n, d in entries.items()]
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tf:
        for e in entries:
            info = tarfile.TarInfo(e.name)
            info.type, info.mode, info.linkname, info.mtime = e.kind, e.mode, e.link, e.mtime
            info.uid, info.gid = e.uid, e.gid
            info.size = len(e.data) if e.kind == tarfile.REGTYPE else 0
            info.pax_headers = {f"SCHILY.xattr.{k}": v for k, v in e.xattrs.items()}
            tf.addfile(info, io.BytesIO(e.data) if e.kind == tarfile.REGTYPE else None)
    return buf.getvalue()


def sample_layers(base: bytes) -> list[bytes]:
    """A base rootfs plus two layers that delete, replace and link across layers.

    The merged /t must be exactly :data:`SAMPLE_TREE` (see there).
    """
    d = tarfile.DIRTYPE
    layer1 = tar_bytes([Entry("t", kind=d, mode=0o755), Entry("t/a", b"a\n"), Entry("t/b", b"b\n"),
                        Entry("t/dir", kind=d, mode=0o755), Entry("t/dir/c", b"c\n"),
                        Entry("t/keep", kind=d, mode=0o755), Entry("t/keep/x", b"x\n")])
    layer2 = tar_bytes([Entry("t/.wh.a"), Entry("t/d", b"d\n", mode=0o600, uid=1000, gid=1000),
                        Entry("t/dir", kind=d, mode=0o755), Entry("t/dir/.wh..wh..opq"), Entry("t/dir/e", b"e\n")])
    layer3 = tar_bytes([Entry("t/.wh.keep"), Entry("t/link", kind=tarfile.SYMTYPE, mode=0o777, link="d"),
                        Entry("t/f", b"f\n", mode=0o755), Entry("t/hard", kind=tarfile.LNKTYPE, link="t/f")])
    return [base, layer1, layer2, layer3]


# `find /t | sort` and `cat` of every file in a container of sample_layers()
SAMPLE_TREE = "/t\n/t/b\n/t/d\n/t/dir\n/t/dir/e\n/t/f\n/t/hard\n/t/link\n"
SAMPLE_CHECK = ["sh", "-c", "find /t | sort; cat /t/b /t/link /t/dir/e /t/hard; stat -c '%a %u' /t/d"]
SAMPLE_OUTPUT = SAMPLE_TREE + "b\nd\ne\nf\n600 1000\n"


def compress(data: bytes, kind: str) -> bytes:
    if kind == "gzip":
        return gzip.compress(data, compresslevel=1, mtime=0)
    if kind == "zstd":
        import zstandard

        return zstandard.ZstdCompressor(level=3).compress(data)
    return data


# -- OCI image layouts ------------------------------------------------------------


class OciLayout:
    """An OCI image layout directory, written blob by blob."""

    def __init__(self, path: Path) -> None:
        self.path = path
        (path / "blobs" / "sha256").mkdir(parents=True, exist_ok=True)
        (path / "oci-layout").write_text('{"imageLayoutVersion": "1.0.0"}')
        self.refs: list[dict[str, Any]] = []

    def blob(self, data: bytes, media_type: str) -> dict[str, Any]:
        digest = sha(data)
        (self.path / "blobs" / "sha256" / digest.split(":")[1]).write_bytes(data)
        return {"mediaType": media_type, "digest": digest, "size": len(data)}

    def image(self, layers: list[bytes], compression: str = "gzip", arch: str = "amd64", variant: str = "",
              config: dict[str, Any] | None = None) -> dict[str, Any]:
        """Add an image of uncompressed ``layers``; returns its manifest descriptor (with platform)."""
        descs = [self.blob(compress(layer, compression), LAYER_TYPES[compression]) for layer in layers]
        cfg = {"architecture": arch, "os": "linux", "created": "2024-01-02T03:04:05Z",
               "config": {"Cmd": ["sh"], "Env": ["PATH=/usr/sbin:/usr/bin:/sbin:/bin"]},
               "rootfs": {"type": "layers", "diff_ids": [sha(layer) for layer in layers]},
               "history": [{"created": "2024-01-02T03:04:05Z", "created_by": f"layer {i}"}
                           for i in range(len(layers))]}
        if variant:
            cfg["variant"] = variant
        cfg.update(config or {})
        manifest = {"schemaVersion": 2, "mediaType": OCI_MANIFEST,
                    "config": self.blob(json.dumps(cfg).encode(), OCI_CONFIG), "layers": descs}
        desc = self.blob(json.dumps(manifest).encode(), OCI_MANIFEST)
        desc["platform"] = {"architecture": arch, "os": "linux", **({"variant": variant} if variant else {})}
        return desc

    def tag(self, desc: dict[str, Any], name: str) -> None:
        """Point tag ``name`` of index.json at a manifest or index descriptor."""
        entry = {k: v for k, v in desc.items() if k != "platform"}
        entry["annotations"] = {"org.opencontainers.image.ref.name": name}
        self.refs = [r for r in self.refs if r["annotations"]["org.opencontainers.image.ref.name"] != name]
        self.refs.append(entry)
        index = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": self.refs}
        (self.path / "index.json").write_text(json.dumps(index))

    def multi(self, manifests: list[dict[str, Any]]) -> dict[str, Any]:
        """An image index blob over platform manifests; returns its descriptor."""
        index = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": manifests}
        return self.blob(json.dumps(index).encode(), OCI_INDEX)


def skopeo(*args: str, timeout: float = 120) -> str:
    proc = subprocess.run([SKOPEO, "--insecure-policy", *args], capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        raise AssertionError(f"skopeo {' '.join(args)} failed: {proc.stderr}")
    return proc.stdout


def skopeo_copy(src: str, dest: str, *extra: str) -> None:
    skopeo("copy", "-q", "--src-tls-verify=false", "--dest-tls-verify=false", *extra, src, dest)


def skopeo_inspect(ref: str, raw: bool = False) -> Any:
    out = skopeo("inspect", "--tls-verify=false", *(["--raw"] if raw else []), f"docker://{ref}")
    return out if raw else json.loads(out)


# -- docker-registry ------------------------------------------------------------------


class DockerRegistry:
    """Debian's docker-registry on 127.0.0.1:<free port>, storage in ``workdir``."""

    def __init__(self, workdir: Path, token_realm: str | None = None) -> None:
        self.workdir = workdir
        self.port = free_port()
        self.host = f"127.0.0.1:{self.port}"
        self.token_realm = token_realm
        self.proc: subprocess.Popen | None = None
        self.log_path = workdir / "registry.log"

    def requests(self, needle: str) -> list[str]:
        """Access-log lines containing ``needle`` (e.g. '"PATCH /v2/repo/')."""
        return [line for line in self.log_path.read_text(errors="replace").splitlines() if needle in line]

    def start(self) -> "DockerRegistry":
        self.workdir.mkdir(parents=True, exist_ok=True)
        auth = ""
        if self.token_realm:
            auth = f"auth:\n  silly:\n    realm: {self.token_realm}\n    service: pyns-test\n"
        config = self.workdir / "config.yml"
        config.write_text(
            "version: 0.1\nlog:\n  level: error\n"
            f"storage:\n  filesystem:\n    rootdirectory: {self.workdir / 'data'}\n  delete:\n    enabled: true\n"
            f"http:\n  addr: {self.host}\n{auth}")
        with open(self.log_path, "wb") as log:  # access log: tests count requests in it
            self.proc = subprocess.Popen([DOCKER_REGISTRY, "serve", str(config)], stdout=log, stderr=log)
        wait_http(f"http://{self.host}/v2/", proc=self.proc)
        return self

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self.proc = None
        shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> "DockerRegistry":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


# -- in-process servers ------------------------------------------------------------------


class _Server:
    """A ThreadingHTTPServer on a free loopback port, run in a daemon thread."""

    handler: type[BaseHTTPRequestHandler]

    def __init__(self) -> None:
        outer = self

        class Handler(self.handler):  # type: ignore[name-defined, misc]
            server_obj = outer

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.host = f"127.0.0.1:{self.port}"
        self.url = f"http://{self.host}"
        self._thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)

    def start(self) -> Any:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> Any:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def send_json(handler: BaseHTTPRequestHandler, obj: Any, status: int = 200) -> None:
    body = json.dumps(obj).encode()
    handler.send_response(status)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)


class _TokenHandler(BaseHTTPRequestHandler):
    server_obj: "TokenServer"

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        srv = self.server_obj
        srv.requests.append({"path": self.path, "authorization": self.headers.get("Authorization")})
        if srv.credentials is not None:
            want = "Basic " + base64.b64encode(f"{srv.credentials[0]}:{srv.credentials[1]}".encode()).decode()
            if self.headers.get("Authorization") != want:
                self.send_response(401)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
        send_json(self, {"token": f"tok-{len(srv.requests)}", "expires_in": 300})


class TokenServer(_Server):
    """Issues bearer tokens; with ``credentials`` only to Basic-authenticated callers."""

    handler = _TokenHandler

    def __init__(self, credentials: tuple[str, str] | None = None) -> None:
        super().__init__()
        self.credentials = credentials
        self.requests: list[dict[str, Any]] = []


class _FakeRegistryHandler(BaseHTTPRequestHandler):
    server_obj: "FakeRegistry"
    protocol_version = "HTTP/1.1"

    def _send(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None,
              length: int | None = None) -> None:
        self.send_response(status)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body) if length is None else length))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _error(self, status: int, code: str, message: str) -> None:
        body = json.dumps({"errors": [{"code": code, "message": message}]}).encode()
        self._send(status, body, {"Content-Type": "application/json"})

    def _authorized(self) -> bool:
        srv = self.server_obj
        if srv.basic is None:
            return True
        want = "Basic " + base64.b64encode(f"{srv.basic[0]}:{srv.basic[1]}".encode()).decode()
        if self.headers.get("Authorization") == want:
            return True
        self._send(401, b'{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}',
                   {"WWW-Authenticate": 'Basic realm="fake"', "Content-Type": "application/json"})
        return False

    def do_HEAD(self) -> None:  # noqa: N802
        self.do_GET()

    def do_PUT(self) -> None:  # noqa: N802 - only hooks answer writes; the rest 404s like unknown paths
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.do_GET()

    def do_GET(self) -> None:  # noqa: N802
        srv = self.server_obj
        srv.log.append(f"{self.command} {self.path}")
        hook = srv.hook(self.path)
        if hook is not None and hook(self):
            return
        if not self._authorized():
            return
        path = self.path.split("?", 1)[0]
        if path == "/v2/":
            self._send(200, b"{}", {"Content-Type": "application/json"})
            return
        if path.startswith("/storage/"):
            self._blob(path[len("/storage/"):], redirected=True)
            return
        parts = path[len("/v2/"):].rsplit("/", 2)
        if len(parts) == 3 and parts[1] == "manifests":
            found = srv.manifests.get((parts[0], parts[2]))
            if found is None:
                self._error(404, "MANIFEST_UNKNOWN", "manifest unknown")
                return
            data, media_type = found
            self._send(200, data, {"Content-Type": media_type, "Docker-Content-Digest": sha(data)})
            return
        if len(parts) == 3 and parts[1] == "blobs":
            if srv.redirect_blobs:
                self._send(307, b"", {"Location": f"{srv.url}/storage/{parts[2]}"})
                return
            self._blob(parts[2])
            return
        self._error(404, "NAME_UNKNOWN", "repository name not known to registry")

    def _blob(self, digest: str, redirected: bool = False) -> None:
        srv = self.server_obj
        data = srv.blobs.get(digest)
        if data is None:
            self._error(404, "BLOB_UNKNOWN", "blob unknown to registry")
            return
        if digest in srv.truncate:
            self._send(200, data[: len(data) // 2], {"Content-Type": "application/octet-stream"}, length=len(data))
            self.close_connection = True
            return
        self._send(200, data, {"Content-Type": "application/octet-stream"})


class FakeRegistry(_Server):
    """A registry serving fixed manifests and blobs, with faults on demand.

    ``hooks`` maps a path substring to ``f(handler) -> bool`` (True when it
    answered the request itself); ``truncate`` lists blob digests sent cut
    in half; ``redirect_blobs`` sends every blob through a 307.
    """

    handler = _FakeRegistryHandler

    def __init__(self) -> None:
        super().__init__()
        self.manifests: dict[tuple[str, str], tuple[bytes, str]] = {}
        self.blobs: dict[str, bytes] = {}
        self.hooks: dict[str, Callable[[BaseHTTPRequestHandler], bool]] = {}
        self.truncate: set[str] = set()
        self.redirect_blobs = False
        self.basic: tuple[str, str] | None = None
        self.log: list[str] = []

    def hook(self, path: str) -> Callable[[BaseHTTPRequestHandler], bool] | None:
        for key, fn in self.hooks.items():
            if key in path:
                return fn
        return None

    def add_blob(self, data: bytes) -> str:
        digest = sha(data)
        self.blobs[digest] = data
        return digest

    def layer_digests(self, repo: str, tag: str) -> list[str]:
        return [l["digest"] for l in json.loads(self.manifests[(repo, tag)][0])["layers"]]

    def add_image(self, repo: str, tag: str, layers: list[bytes], compression: str = "gzip",
                  manifest_type: str = DOCKER_MANIFEST, layer_type: str | None = None,
                  diff_ids: list[str] | None = None, config: dict[str, Any] | None = None) -> str:
        """Serve an image of uncompressed ``layers`` as ``repo:tag``; returns the manifest digest."""
        blobs = [compress(layer, compression) for layer in layers]
        cfg = {"architecture": "amd64", "os": "linux", "config": {"Cmd": ["sh"]},
               "rootfs": {"type": "layers", "diff_ids": diff_ids or [sha(layer) for layer in layers]}}
        cfg.update(config or {})
        cfg_bytes = json.dumps(cfg).encode()
        default_layer = {"gzip": "application/vnd.docker.image.rootfs.diff.tar.gzip",
                         "none": "application/vnd.docker.image.rootfs.diff.tar",
                         "zstd": LAYER_TYPES["zstd"]}[compression]
        manifest = {"schemaVersion": 2, "mediaType": manifest_type,
                    "config": {"mediaType": DOCKER_CONFIG if manifest_type == DOCKER_MANIFEST else OCI_CONFIG,
                               "digest": self.add_blob(cfg_bytes), "size": len(cfg_bytes)},
                    "layers": [{"mediaType": layer_type or default_layer, "digest": self.add_blob(b),
                                "size": len(b)} for b in blobs]}
        data = json.dumps(manifest).encode()
        self.manifests[(repo, tag)] = (data, manifest_type)
        self.manifests[(repo, sha(data))] = (data, manifest_type)
        return sha(data)


class _HubHandler(BaseHTTPRequestHandler):
    server_obj: "FakeHub"

    def do_GET(self) -> None:  # noqa: N802
        import urllib.parse

        query = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query)
        self.server_obj.queries.append(query)
        term = query.get("q", [""])[0]
        results = [r for r in self.server_obj.results if term in r["name"]][: int(query.get("n", ["25"])[0])]
        send_json(self, {"num_results": len(results), "query": term, "results": results})


class FakeHub(_Server):
    """Docker Hub's search API (``/v1/search``) with canned results."""

    handler = _HubHandler

    def __init__(self, results: list[dict[str, Any]]) -> None:
        super().__init__()
        self.results = results
        self.queries: list[dict[str, list[str]]] = []


def fail_times(n: int, status: int = 500) -> Callable[[BaseHTTPRequestHandler], bool]:
    """A hook answering ``status`` to the first ``n`` requests, then passing them through."""
    left = [n]

    def hook(handler: BaseHTTPRequestHandler) -> bool:
        if left[0] <= 0:
            return False
        left[0] -= 1
        handler._send(status, b"{}", {"Content-Type": "application/json"})  # type: ignore[attr-defined]
        return True
    return hook


# -- fixtures ---------------------------------------------------------------------------


@pytest.fixture(scope="session")
def docker_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DockerRegistry]:
    """One real registry for the session (tests use distinct repository names)."""
    if not os.path.exists(DOCKER_REGISTRY):
        pytest.skip("docker-registry is not installed")
    reg = DockerRegistry(tmp_path_factory.mktemp("registry"))
    with reg:
        yield reg


@pytest.fixture
def fake_registry() -> Iterator[FakeRegistry]:
    with FakeRegistry() as reg:
        yield reg


@pytest.fixture
def pyns_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private PYNS_CONFIG dir (credentials, mirrors) with fast retries."""
    cfg = tmp_path / "pyns-config"
    cfg.mkdir()
    (cfg / "config.json").write_text(json.dumps({"retry-backoff": 0.01}))
    monkeypatch.setenv("PYNS_CONFIG", str(cfg))
    return cfg


def unique_repo(prefix: str) -> str:
    return f"{prefix}-{os.urandom(4).hex()}"
