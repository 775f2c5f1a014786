"""Two pulls of the same image at once: both succeed, the content is stored once."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import needs_root
from tests.registry_env import (OciLayout, docker_registry, needs_registry_tools, pyns_config, sample_layers,
                                skopeo_copy, tar_bytes, unique_repo)

pytestmark = [needs_root, needs_registry_tools]
__all__ = ["docker_registry", "pyns_config"]


def test_concurrent_pulls_store_once(engine, pyns_config, docker_registry, busybox_tar: Path, tmp_path):
    layers = sample_layers(busybox_tar.read_bytes()) + [tar_bytes({f"big{i}": os.urandom(300_000)})
                                                         for i in range(3)]
    layout = OciLayout(tmp_path / "layout")
    layout.tag(layout.image(layers), "c")
    ref = f"{docker_registry.host}/{unique_repo('concurrent')}:c"
    skopeo_copy(f"oci:{layout.path}:c", f"docker://{ref}")
    procs = [subprocess.Popen([sys.executable, "-m", "pyns.cli.main", "pull", "-q", ref],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(2)]
    outs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [e.decode() for _, e in outs]
    assert [o.decode() for o, _ in outs] == [ref + "\n"] * 2
    images = engine.images.list()
    assert len(images) == 1 and images[0].tags == [ref]
    root = Path(engine.root)
    assert len([n for n in os.listdir(root / "layers") if not n.startswith(".")]) == len(layers)
    blobs = os.listdir(root / "content" / "blobs" / "sha256")
    assert len(blobs) == len(layers) + 2  # layer tarballs, the config, the manifest
    assert os.listdir(root / "content" / "ingest") == []
    assert not [n for n in os.listdir(root / "layers") if n.startswith(".tmp")]
    assert len(os.listdir(root / "l")) == len(layers)


def test_failing_layer_cancels_forked_workers(engine, pyns_config, docker_registry, tmp_path):
    """One layer's diff_id is wrong: the other workers stop, nothing is left behind, not even a process."""
    import json
    import threading

    import pytest

    from pyns.errors import LayerError

    assert threading.active_count() == 1  # so the pull really forks its workers
    layers = [tar_bytes({f"f{i}": os.urandom(2_000_000)}) for i in range(4)]
    layout = OciLayout(tmp_path / "layout")
    desc = layout.image(layers, compression="none")
    manifest_path = layout.path / "blobs" / "sha256" / desc["digest"].split(":")[1]
    manifest = json.loads(manifest_path.read_text())
    config_path = layout.path / "blobs" / "sha256" / manifest["config"]["digest"].split(":")[1]
    config = json.loads(config_path.read_text())
    config["rootfs"]["diff_ids"][1] = "sha256:" + "0" * 64
    manifest["config"] = layout.blob(json.dumps(config).encode(), manifest["config"]["mediaType"])
    layout.tag(layout.blob(json.dumps(manifest).encode(), desc["mediaType"]), "bad")
    ref = f"{docker_registry.host}/{unique_repo('cancel')}:bad"
    skopeo_copy(f"oci:{layout.path}:bad", f"docker://{ref}", "--dest-compress-format", "gzip")
    engine.image_store  # noqa: B018 - the store's directories exist before the snapshot
    before = sorted(p for p in Path(engine.root).rglob("*") if not p.name.endswith(".lock"))
    with pytest.raises(LayerError, match="diff_id mismatch"):
        engine.images.pull(ref)
    after = sorted(p for p in Path(engine.root).rglob("*") if not p.name.endswith(".lock"))
    assert after == before
    assert not [p for p in Path("/proc").iterdir() if p.name.isdigit() and _is_forked_child(int(p.name))]


def _is_forked_child(pid: int) -> bool:
    """A child of this process running this process's program (a worker, not the registry)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            parent = int(f.read().rsplit(")", 1)[1].split()[1])
        return parent == os.getpid() and Path(f"/proc/{pid}/exe").resolve() == Path("/proc/self/exe").resolve()
    except (OSError, ValueError, IndexError):
        return False
