"""Image layers as a remapped (--userns-remap) container must see them.

Layers are unpacked once, with the image's own ids, and shared by every
container. A remapped container needs them shifted into its host id range.
Where the layers' filesystem supports idmapped mounts (ext4, xfs, btrfs,
tmpfs on Linux >= 6.3, ...) the container's child mounts an idmapped view
of ``<root>/layers`` over it in its own mount namespace: no copy, nothing
on disk changes (csrc/userns.c). Elsewhere each layer is copied once per
mapping with its ids shifted, under ``<root>/remap/<uid>.<gid>/``, as
docker's remapped storage does; the copies go when their layer goes.

``PYNS_USERNS_LAYERS=copy`` forces the copies (and ``idmap`` refuses to fall
back), for tests and for filesystems whose idmap support is doubtful.
"""
from __future__ import annotations

import functools
import os
import stat
import subprocess

from pyns.errors import InvalidArgument, PynsError
from pyns.fsutil import remove_tree
from pyns.images.links import LayerLinks
from pyns.runtime.idmap import IdMap

MODE_ENV = "PYNS_USERNS_LAYERS"  # auto | idmap | copy
REMAP_DIR = "remap"


@functools.lru_cache(maxsize=16)
def _idmap_check(layers_dir: str, uid_map: str, gid_map: str) -> tuple[bool, str]:
    from pyns.runtime import native

    return native.idmap_supported(layers_dir, uid_map, gid_map)


def lower_dirs(root: str, layer_dirs: list[str], idmap: IdMap) -> tuple[list[str], list[str]]:
    """(the overlay's lower dirs, the dirs the child replaces with idmapped views)."""
    mode = os.environ.get(MODE_ENV, "auto")
    if mode not in ("auto", "idmap", "copy"):
        raise InvalidArgument(f"{MODE_ENV} must be auto, idmap or copy, not {mode!r}")
    layers_dir = os.path.join(root, "layers")
    if mode != "copy":
        ok, why = _idmap_check(layers_dir, idmap.uid_map, idmap.gid_map)
        if ok:
            return list(layer_dirs), [layers_dir]
        if mode == "idmap":
            raise PynsError(f"user namespace: {why}")
    return [shifted_copy(root, d, idmap) for d in layer_dirs], []


def _shift_one(path: str, rel: str, idmap: IdMap) -> None:
    st = os.lstat(path)
    try:
        uid, gid = idmap.host_uid(st.st_uid), idmap.host_gid(st.st_gid)
    except InvalidArgument:
        raise InvalidArgument(f"layer file {rel} is owned by {st.st_uid}:{st.st_gid}, "
                              "outside the ids the user namespace maps") from None
    caps = None
    if stat.S_ISREG(st.st_mode):
        try:
            caps = os.getxattr(path, "security.capability", follow_symlinks=False)
        except OSError:
            caps = None
    os.lchown(path, uid, gid)
    if not stat.S_ISLNK(st.st_mode):
        os.chmod(path, stat.S_IMODE(st.st_mode))  # chown cleared the set-id bits
    if caps is not None:
        os.setxattr(path, "security.capability", caps, follow_symlinks=False)


def _shift_tree(top: str, idmap: IdMap) -> None:
    """chown every entry into the mapped range, keeping modes and file capabilities
    (chown clears set-id bits and the security.capability xattr)."""
    for dirpath, dirnames, filenames in os.walk(top):
        _shift_one(dirpath, os.path.relpath(dirpath, top), idmap)
        for name in filenames + [d for d in dirnames if os.path.islink(os.path.join(dirpath, d))]:
            path = os.path.join(dirpath, name)
            _shift_one(path, os.path.relpath(path, top), idmap)


def shifted_copy(root: str, layer_dir: str, idmap: IdMap) -> str:
    """The layer's tree copied with its ids shifted (made once per mapping), as a short link."""
    real = os.path.realpath(layer_dir)
    rel = os.path.relpath(real, os.path.join(root, "layers"))  # <chain hex>/diff, or "empty"
    if rel.startswith(".."):
        raise PynsError(f"layer {layer_dir} is not in the layer store")
    name = rel.split(os.sep, 1)[0]
    base = os.path.join(root, REMAP_DIR, idmap.key)
    dest = os.path.join(base, name, "diff")
    if not os.path.isdir(dest):
        os.makedirs(base, exist_ok=True)
        tmp = f"{os.path.join(base, name)}.tmp-{os.getpid()}-{os.urandom(3).hex()}"
        os.mkdir(tmp)
        try:
            # cp -a keeps hardlinks, xattrs (overlay's opaque marks), devices, times.
            subprocess.run(["cp", "-a", "--reflink=auto", real, os.path.join(tmp, "diff")], check=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            _shift_tree(os.path.join(tmp, "diff"), idmap)
            try:
                os.rename(tmp, os.path.join(base, name))
            except OSError:
                pass  # a concurrent start made it first
        except subprocess.CalledProcessError as e:
            raise PynsError(f"copy layer {name} for the user namespace: "
                            f"{e.stderr.decode(errors='replace').strip()}") from None
        finally:
            remove_tree(tmp)
    if len(name) != 64:
        return dest  # the empty layer of a scratch image: its only lower dir
    # Short links as for the shared layers (links.py), in this mapping's own l/.
    return LayerLinks(base, base).path(f"sha256:{name}", dest)


def remove_copies(root: str, chain_hex: str) -> None:
    """Drop a deleted layer's shifted copies (every mapping) and their links.

    Never raises: it runs inside a layer's deletion, which must finish."""
    remap = os.path.join(root, REMAP_DIR)
    try:
        keys = os.listdir(remap)
    except OSError:
        return
    for key in keys:
        base = os.path.join(remap, key)
        try:
            LayerLinks(base, base).remove(f"sha256:{chain_hex}")
            remove_tree(os.path.join(base, chain_hex))
        except OSError:
            pass
