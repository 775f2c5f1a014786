"""ImageStore: lookup rules, tags, import, create_image and docker rmi semantics."""
from __future__ import annotations

import hashlib
import io
import json
import multiprocessing
import os
import tarfile
from datetime import datetime, timedelta, timezone

import pytest

from pyns.errors import AmbiguousId, Conflict, ImageNotFound, InvalidArgument, LayerError
from pyns.images import ImageStore, ImageUser
from pyns.images.layers import Layer

MANIFEST = "sha256:" + "d" * 64


def tar(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(data), 0o755
            tf.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def config_for(layers: list[Layer], **extra) -> dict:
    return {"architecture": "amd64", "os": "linux", "config": {}, **extra,
            "rootfs": {"type": "layers", "diff_ids": [l.diff_id for l in layers]}}


@pytest.fixture
def store(tmp_path) -> ImageStore:
    return ImageStore(str(tmp_path / "root"))


def imported(store: ImageStore, ref: str | None = "busybox", files: dict[str, bytes] | None = None, **kw):
    return store.import_tarball(io.BytesIO(tar(files or {"bin/sh": b"#!"})), ref, **kw)


def layer_names(store: ImageStore) -> list[str]:
    return sorted(l.chain_id for l in store.layers.list())


# -- import -------------------------------------------------------------------------

def test_import_config(store: ImageStore) -> None:
    before = datetime.now(timezone.utc)
    img = imported(store, "busybox", changes=['CMD ["sh"]', "ENV A=1"])
    cfg = img.config
    assert cfg["architecture"] == "amd64" and cfg["os"] == "linux"
    assert cfg["rootfs"] == {"type": "layers", "diff_ids": list(img.diff_ids)}
    assert cfg["history"] == [{"created": cfg["created"], "comment": "Imported from -"}]
    assert before - timedelta(seconds=1) <= img.created <= datetime.now(timezone.utc)
    assert img.created.tzinfo is not None
    assert img.container_config == {"Cmd": ["sh"], "Env": ["A=1"]}
    raw = store.content.read(img.id)
    assert img.id == "sha256:" + hashlib.sha256(raw).hexdigest() and json.loads(raw) == cfg
    assert img.short_id == img.id[7:19]
    assert img.repo_tags == ("busybox:latest",) and img.repo_digests == ()
    assert img.size == 2 and len(img.chain_ids) == 1 and img.chain_ids == img.diff_ids


def test_import_message_and_untagged(store: ImageStore) -> None:
    img = imported(store, None, message="my rootfs")
    assert img.config["history"][0]["comment"] == "my rootfs" and img.config["comment"] == "my rootfs"
    assert img.repo_tags == ()
    assert store.get(img.id) == img


def test_import_validates_before_reading(store: ImageStore) -> None:
    class Untouchable(io.RawIOBase):
        def read(self, n: int = -1) -> bytes:
            raise AssertionError("read")

    for ref, changes, msg in [("Busybox", [], "must be lowercase"),
                              ("busybox@sha256:" + "a" * 64, [], "cannot import digest reference"),
                              ("busybox", ["RUN rm -rf /"], "RUN is not a valid change command")]:
        with pytest.raises(InvalidArgument, match=msg):
            store.import_tarball(Untouchable(), ref, changes)  # type: ignore[arg-type]
    assert store.list() == [] and layer_names(store) == []


def test_import_hostile_tarball(store: ImageStore) -> None:
    with pytest.raises(LayerError):
        store.import_tarball(io.BytesIO(tar({"../../escape": b"x"})), "evil")
    assert store.list() == [] and layer_names(store) == []


# -- lookup -------------------------------------------------------------------------

def test_get_by_every_kind_of_name(store: ImageStore) -> None:
    img = imported(store, "busybox")
    hexid = img.id[7:]
    for name in ("busybox", "busybox:latest", "docker.io/library/busybox", "index.docker.io/library/busybox:latest",
                 img.id, hexid, hexid[:12], hexid[:1], "sha256:" + hexid[:5]):
        assert store.get(name).id == img.id, name
    with pytest.raises(ImageNotFound, match=r"^No such image: busybox:1$"):
        store.get("busybox:1")
    with pytest.raises(ImageNotFound, match=r"^No such image: alpine:latest$"):
        store.get("alpine")
    with pytest.raises(ImageNotFound, match="No such image: sha256:" + "0" * 64):
        store.get("0" * 64)
    with pytest.raises(InvalidArgument, match="invalid reference format"):
        store.get("Busybox")
    assert store.exists("busybox") and not store.exists("nope")


def test_ambiguous_prefix(store: ImageStore) -> None:
    layer = store.layers.register(io.BytesIO(tar({"f": b"1"})))
    ids = [store.create_image(config_for([layer], n=i), [layer]).id for i in range(17)]
    firsts = [i[7] for i in ids]
    shared = next(c for c in firsts if firsts.count(c) > 1)  # 17 ids, 16 hex digits: one repeats
    with pytest.raises(AmbiguousId, match=f"multiple IDs found with provided prefix: {shared}"):
        store.get(shared)
    for image_id in ids:  # the shortest unique prefix of each id finds it
        k = next(k for k in range(1, 65) if sum(x[7:].startswith(image_id[7:7 + k]) for x in ids) == 1)
        assert store.get(image_id[7:7 + k]).id == image_id


def test_tag_names_win_over_id_prefixes(store: ImageStore) -> None:
    a = imported(store, None, files={"a": b"1"})
    b = imported(store, None, files={"b": b"2"})
    prefix = a.id[7:10] if not b.id.startswith(a.id[:10]) else a.id[7:20]
    assert store.get(prefix).id == a.id
    store.tag(b.id, prefix)
    assert store.get(prefix).id == b.id  # "abc" is first a name (abc:latest), then an id prefix


def test_list_newest_first(store: ImageStore) -> None:
    first = imported(store, "one", files={"1": b""})
    second = imported(store, "two", files={"2": b""})
    assert [i.id for i in store.list()] == [second.id, first.id]
    assert ImageStore(store.root).get("two").id == second.id  # persisted


# -- tags ---------------------------------------------------------------------------

def test_tag_and_untag(store: ImageStore) -> None:
    img = imported(store, "busybox")
    assert store.tag(img.short_id, "127.0.0.1:5000/busybox").string() == "127.0.0.1:5000/busybox:latest"
    store.tag("busybox", "me/box:v1")
    assert store.get("busybox").repo_tags == ("127.0.0.1:5000/busybox:latest", "busybox:latest", "me/box:v1")
    other = imported(store, None, files={"x": b"y"})
    store.tag(other.id, "busybox")  # tags move
    assert store.get("busybox").id == other.id
    assert store.get(img.id).repo_tags == ("127.0.0.1:5000/busybox:latest", "me/box:v1")
    assert store.untag("me/box:v1") == "me/box:v1"
    with pytest.raises(ImageNotFound):
        store.untag("me/box:v1")
    with pytest.raises(InvalidArgument, match="refusing to create a tag with a digest reference"):
        store.tag(img.id, "busybox@sha256:" + "a" * 64)
    with pytest.raises(ImageNotFound):
        store.tag("nothing-here", "x")


def _tag_in_child(root: str, image_id: str, n: int) -> None:
    store = ImageStore(root)
    for i in range(10):
        store.tag(image_id, f"t{n}:{i}")


def test_concurrent_tagging_loses_nothing(store: ImageStore) -> None:
    img = imported(store, None)
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=_tag_in_child, args=(store.root, img.id, n)) for n in range(6)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=60)
    assert len(store.get(img.id).repo_tags) == 60


# -- create_image -------------------------------------------------------------------

def test_create_image_from_layers(store: ImageStore) -> None:
    base = store.layers.register(io.BytesIO(tar({"base": b"1"})))
    top = store.layers.register(io.BytesIO(tar({"top": b"22"})), parent=base.chain_id)
    raw = json.dumps(config_for([base, top], created="2020-01-02T03:04:05.123456789Z")).encode()
    img = store.create_image(raw, [base, top], reference="127.0.0.1:5000/app:v2", manifest_digest=MANIFEST)
    assert img.id == "sha256:" + hashlib.sha256(raw).hexdigest()  # bytes kept verbatim
    assert img.created == datetime(2020, 1, 2, 3, 4, 5, 123456, tzinfo=timezone.utc)
    assert img.chain_ids == (base.chain_id, top.chain_id) and img.size == 3
    assert img.repo_tags == ("127.0.0.1:5000/app:v2",)
    assert img.repo_digests == (f"127.0.0.1:5000/app@{MANIFEST}",)
    assert img.manifest_digest == MANIFEST
    dirs = store.layer_dirs(img)  # short l/ links to the layers' trees
    assert [os.path.realpath(d) for d in dirs] == [base.diff_dir, top.diff_dir]
    assert all(len(d) < len(store.root) + 12 for d in dirs)
    assert store.layer_dirs(img, short=False) == [base.diff_dir, top.diff_dir]
    assert store.lowerdir("127.0.0.1:5000/app:v2") == f"{dirs[1]}:{dirs[0]}"
    assert store.get(f"127.0.0.1:5000/app@{MANIFEST}").id == img.id
    assert store.get(f"127.0.0.1:5000/app:whatever@{MANIFEST}").id == img.id


def test_create_image_rejects_mismatches(store: ImageStore) -> None:
    base = store.layers.register(io.BytesIO(tar({"base": b"1"})))
    top = store.layers.register(io.BytesIO(tar({"top": b"2"})), parent=base.chain_id)
    with pytest.raises(InvalidArgument, match="diff_ids"):
        store.create_image(config_for([base]), [base, top])
    with pytest.raises(LayerError, match="not stacked"):
        store.create_image(config_for([top]), [top])
    with pytest.raises(InvalidArgument, match="rootfs.type"):
        store.create_image({"rootfs": {}}, [])
    store.layers.delete(top.chain_id)
    with pytest.raises(LayerError, match="not registered"):
        store.create_image(config_for([base, top]), [base, top])
    assert store.list() == []


def test_missing_layer_is_reported(store: ImageStore) -> None:
    img = imported(store, "x")
    store.layers.delete(img.chain_ids[0])
    with pytest.raises(LayerError, match="missing"):
        store.layer_dirs("x")


# -- remove -------------------------------------------------------------------------

def test_rmi_by_tag_untags_until_the_last(store: ImageStore) -> None:
    img = imported(store, "busybox")
    store.tag(img.id, "busybox:other")
    assert store.remove("busybox:other") == ["Untagged: busybox:other"]
    assert store.get("busybox").id == img.id
    chain = img.chain_ids[0]
    assert store.remove("busybox") == ["Untagged: busybox:latest", f"Deleted: {img.id}", f"Deleted: {chain}"]
    assert store.list() == [] and layer_names(store) == [] and not store.content.has(img.id)
    with pytest.raises(ImageNotFound, match="No such image: busybox:latest"):
        store.remove("busybox")


def test_rmi_by_id(store: ImageStore) -> None:
    img = imported(store, "busybox")
    store.tag(img.id, "busybox:2")  # two tags in one repository: not a "single reference"
    with pytest.raises(Conflict, match=rf"unable to delete {img.short_id} \(must be forced\) - image is "
                                       "referenced in multiple repositories"):
        store.remove(img.short_id)
    lines = store.remove(img.short_id, force=True)
    assert lines[:2] == ["Untagged: busybox:2", "Untagged: busybox:latest"] and lines[2] == f"Deleted: {img.id}"
    single = imported(store, "solo", files={"s": b""})
    assert store.remove(single.id[7:])[:2] == ["Untagged: solo:latest", f"Deleted: {single.id}"]
    dangling = imported(store, None, files={"d": b""})
    assert store.remove(dangling.id)[0] == f"Deleted: {dangling.id}"


def test_rmi_keeps_shared_layers(store: ImageStore) -> None:
    base = store.layers.register(io.BytesIO(tar({"base": b"1"})))
    top = store.layers.register(io.BytesIO(tar({"top": b"2"})), parent=base.chain_id)
    small = store.create_image(config_for([base]), [base], reference="small")
    big = store.create_image(config_for([base, top]), [base, top], reference="big")
    assert store.remove("small") == ["Untagged: small:latest", f"Deleted: {small.id}"]
    assert store.remove("big") == ["Untagged: big:latest", f"Deleted: {big.id}", f"Deleted: {top.chain_id}",
                                   f"Deleted: {base.chain_id}"]
    assert layer_names(store) == []


def test_rmi_tag_drops_the_repository_digests(store: ImageStore) -> None:
    layer = store.layers.register(io.BytesIO(tar({"f": b"1"})))
    img = store.create_image(config_for([layer]), [layer], reference="127.0.0.1:5000/app", manifest_digest=MANIFEST)
    assert store.remove("127.0.0.1:5000/app") == [
        "Untagged: 127.0.0.1:5000/app:latest", f"Untagged: 127.0.0.1:5000/app@{MANIFEST}",
        f"Deleted: {img.id}", f"Deleted: {layer.chain_id}"]


def test_rmi_with_containers(tmp_path) -> None:
    users: dict[str, list[ImageUser]] = {}
    store = ImageStore(str(tmp_path / "root"), image_users=lambda image_id: users.get(image_id, []))
    img = imported(store, "busybox")
    users[img.id] = [ImageUser("c" * 64, running=False)]
    with pytest.raises(Conflict, match=r'unable to remove repository reference "busybox" \(must force\) - '
                                       f"container {'c' * 12} is using its referenced image {img.short_id}"):
        store.remove("busybox")
    with pytest.raises(Conflict, match=r"\(must be forced\) - image is being used by stopped container c{12}"):
        store.remove(img.id)
    users[img.id] = [ImageUser("r" * 64, running=True)]
    # forcing a tag off an image a running container uses only untags it; the image stays, dangling
    assert store.remove("busybox", force=True) == ["Untagged: busybox:latest"]
    assert store.get(img.id).repo_tags == ()
    with pytest.raises(Conflict, match=r"\(cannot be forced\) - image is being used by running container r{12}"):
        store.remove(img.id, force=True)
    users[img.id] = [ImageUser("c" * 64, running=False)]
    assert store.remove(img.id, force=True)[0] == f"Deleted: {img.id}"  # stopped users do not stop -f
    again = imported(store, "busybox", files={"again": b""})
    users[again.id] = [ImageUser("c" * 64, running=False)]
    assert store.remove("busybox", force=True)[:2] == ["Untagged: busybox:latest", f"Deleted: {again.id}"]


def test_children_block_removal(store: ImageStore) -> None:
    layer = store.layers.register(io.BytesIO(tar({"f": b"1"})))
    parent = store.create_image(config_for([layer], n=1), [layer])
    store.create_image(config_for([layer], n=2), [layer], parent=parent.id)
    with pytest.raises(Conflict, match=r"\(cannot be forced\) - image has dependent child images"):
        store.remove(parent.id, force=True)


def test_gc_removes_orphan_layers(store: ImageStore) -> None:
    img = imported(store, "keep")
    orphan = store.layers.register(io.BytesIO(tar({"orphan": b"1"})))
    assert store.gc() == [orphan.chain_id]
    assert layer_names(store) == list(img.chain_ids)
