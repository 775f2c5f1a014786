"""COPY and ADD steps: gather and fingerprint the sources, probe the cache, write the layer.

The cache key is the sources' fingerprint (content and metadata, not
mtimes) plus the destination and ownership options, so touching a file
keeps the cache and editing it busts it from this step on. URLs are
downloaded on every build (the content decides whether the cache hits),
into the build's work directory, and removed afterwards.
"""
from __future__ import annotations

import contextlib
import email.utils
import os
import posixpath
import tempfile
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from typing import TYPE_CHECKING

from pyns.build import commitmsg
from pyns.build.cache import step_key
from pyns.build.copying import (
    CopyOptions,
    check_count,
    destination,
    parse_chmod,
    write_sources,
)
from pyns.build.instructions import Copy
from pyns.build.layertar import Meta
from pyns.build.rootfs import LayeredFS
from pyns.build.sources import (
    ContextFS,
    ImageFS,
    Source,
    SourceFS,
    is_archive,
    resolve_path_sources,
    sources_digest,
)
from pyns.build.state import StageState
from pyns.errors import BuildError, InvalidArgument, PynsError
from pyns.options.user import lookup_exec_user

if TYPE_CHECKING:
    from pyns.build.steps import Dispatcher

_URL_PREFIXES = ("http://", "https://")
_DOWNLOAD_TIMEOUT = 60


def _source_fs(dispatcher: Dispatcher, state: StageState, inst: Copy, ref: str | None) -> SourceFS:
    env = dispatcher.env
    if ref is None:
        return ContextFS(env.context)
    if inst.add:
        raise BuildError("ADD does not support --from, use COPY")
    index = env.dockerfile.stage_index(ref, before=state.index)
    if index is not None:
        return ImageFS(LayeredFS(env.finished[index].layer_dirs))
    if ref.isdigit() or env.dockerfile.stage_index(ref) is not None:
        raise BuildError(f"invalid from flag value {ref}: refers to current or future build stage")
    image = env.resolve_image(ref, None)
    return ImageFS(LayeredFS(env.store.layer_dirs(image)))


def _download(url: str, work_dir: str, checksum: str | None) -> Source:
    """Fetch an ADD URL into a temp file; named after the URL path, mtime from Last-Modified."""
    name = posixpath.basename(urllib.parse.urlparse(url).path)
    if not name:
        raise BuildError(f"cannot determine filename from url: {url}")
    fd, path = tempfile.mkstemp(prefix=f".tmp-download-{os.getpid()}-", dir=work_dir)  # pid: see sweep_temp
    try:
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=_DOWNLOAD_TIMEOUT) as resp:
            while chunk := resp.read(1 << 20):
                out.write(chunk)
            modified = resp.headers.get("Last-Modified")
        mtime = 0
        if modified:
            with contextlib.suppress(TypeError, ValueError):
                mtime = int(email.utils.parsedate_to_datetime(modified).timestamp())
        source = Source("url", name, data_path=path, mtime=mtime)
        if checksum:
            _verify(path, checksum, url)
        return source
    except OSError as e:
        os.unlink(path)
        raise BuildError(f"ADD failed: downloading {url}: {getattr(e, 'reason', None) or e}") from None
    except BaseException:
        os.unlink(path)
        raise


def _verify(path: str, checksum: str, url: str) -> None:
    import hashlib

    algo, _, expected = checksum.partition(":")
    if algo not in ("sha256", "sha384", "sha512") or not expected:
        raise BuildError(f"invalid checksum {checksum!r}: expected sha256:<hex>")
    h = hashlib.new(algo)
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    if h.hexdigest() != expected:
        raise BuildError(f"ADD failed: checksum of {url} is {algo}:{h.hexdigest()}, expected {checksum}")


@contextlib.contextmanager
def _sources(dispatcher: Dispatcher, state: StageState, inst: Copy) -> Iterator[list[Source]]:
    """Resolve every source argument; downloaded files are removed on exit."""
    env = dispatcher.env
    cmd = inst.keyword
    ref = dispatcher.expand(state, inst.from_) if inst.from_ is not None else None
    fs = _source_fs(dispatcher, state, inst, ref)
    heredocs = {h.name: h for h in inst.node.heredocs}
    sources: list[Source] = []
    try:
        for raw in inst.sources:
            doc = heredocs.get(raw.lstrip("<").lstrip("-").strip("'\"")) if raw.startswith("<<") else None
            if doc is not None:
                text = dispatcher.expand(state, doc.content) if doc.expand else doc.content
                sources.append(Source("heredoc", doc.name, data=text.encode("utf-8", "surrogateescape")))
                continue
            src = dispatcher.expand(state, raw)
            if src.startswith(_URL_PREFIXES):
                if not inst.add:
                    raise BuildError(f"{cmd} failed: source can't be a URL for COPY")
                sources.append(_download(src, env.work_dir, inst.checksum))
                continue
            found = resolve_path_sources(fs, src, cmd, isinstance(fs, ContextFS))
            if inst.add and isinstance(fs, ContextFS):
                for s in found:
                    s.archive = not s.is_dir and is_archive(fs.host(s.rel))
            sources.extend(found)
        yield sources
    finally:
        for s in sources:
            if s.kind == "url":
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(s.data_path)


def _identity(fs: LayeredFS, chown: str | None) -> tuple[int, int]:
    """``--chown=user[:group]`` against the image's /etc/passwd and /etc/group (group defaults to user)."""
    if not chown:
        return 0, 0
    user, _, group = chown.partition(":")
    try:
        found = lookup_exec_user(f"{user}:{group or user}", fs.read_file)
    except InvalidArgument as e:
        raise BuildError(f"unable to convert uid/gid chown string to host mapping: {e}") from None
    return found.uid, found.gid


def dispatch_copy(dispatcher: Dispatcher, state: StageState, inst: Copy) -> None:
    env = dispatcher.env
    cmd = inst.keyword
    dest_text = dispatcher.expand(state, inst.dest)
    chown = dispatcher.expand(state, inst.chown) if inst.chown is not None else None
    chmod = parse_chmod(inst.chmod)
    fs = dispatcher.fs(state)
    with _sources(dispatcher, state, inst) as sources:
        dest = destination(dest_text, state.run_config.get("WorkingDir") or "/", fs)
        check_count(sources, dest, cmd)
        digest = sources_digest(sources)
        created_by = commitmsg.nop_one(state.shell, f"{cmd} {digest} in {dest_text} ")
        key = step_key(cmd, digest, dest.path, dest.is_dir_hint, chown, inst.chmod,
                       [s.archive for s in sources], state.run_config)
        if dispatcher.cached(state, key):
            return
        uid, gid = _identity(fs, chown)
        now = int(time.time())
        opts = CopyOptions(uid, gid, chmod, now)
        layer = env.committer.pending(state, fs, Meta(0o755, uid, gid, now))
        try:
            write_sources(layer.writer, sources, dest, opts)
        except (PynsError, OSError) as e:
            layer.close()
            raise BuildError(f"{cmd} failed: {e}") from None
        env.committer.commit(state, state.run_config, created_by, key, layer)
