"""docker history rows from a config's history and the layer sizes."""
from __future__ import annotations

from datetime import datetime, timezone

from pyns.images.history import MISSING, history
from pyns.images.image import Image


def image(config: dict) -> Image:
    return Image(id="sha256:" + "1" * 64, config=config, diff_ids=(), chain_ids=(), size=0,
                 stored=datetime(2024, 1, 1, tzinfo=timezone.utc))


def test_empty_layers_take_no_layer():
    cfg = {"history": [{"created": "2024-01-01T00:00:00Z", "created_by": "ADD rootfs"},
                       {"created_by": "ENV A=1", "empty_layer": True},
                       {"created_by": "RUN make", "comment": "c"}]}
    rows = history(image(cfg), [100, 7])
    assert [(r.id, r.created_by, r.size, r.comment) for r in rows] == [
        ("sha256:" + "1" * 64, "RUN make", 7, "c"), (MISSING, "ENV A=1", 0, ""), (MISSING, "ADD rootfs", 100, "")]
    assert rows[2].created == datetime(2024, 1, 1, tzinfo=timezone.utc) and rows[0].created is None


def test_without_history_one_row_per_layer():
    rows = history(image({"created": "2023-05-06T07:08:09Z"}), [1, 2])
    assert [r.size for r in rows] == [2, 1] and rows[0].id.startswith("sha256:")
    assert history(image({}), [])[0].size == 0
