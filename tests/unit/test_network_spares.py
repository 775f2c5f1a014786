"""State files written and deleted by reusing inodes (pyns.network.spares)."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from pyns.network import spares


def _spares(d: Path) -> list[str]:
    return sorted(n for n in os.listdir(d) if n.startswith(".spare-"))


def test_a_rewrite_reuses_the_previous_inode(tmp_path: Path) -> None:
    record = tmp_path / "allocations.json"
    spares.write_json(str(record), {"n": 1})
    first = record.stat().st_ino
    spares.write_json(str(record), {"n": 2, "longer": "x" * 100})
    assert json.loads(record.read_text()) == {"n": 2, "longer": "x" * 100}
    assert _spares(tmp_path) == [".spare-0"] and (tmp_path / ".spare-0").stat().st_ino == first
    spares.write_json(str(record), {"n": 3})  # shorter than the spare's stale content
    assert json.loads(record.read_text()) == {"n": 3} and record.stat().st_ino == first


def test_a_retired_record_becomes_the_next_ones_inode(tmp_path: Path) -> None:
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    spares.write_json(str(a), {"cid": "a"})
    inode = a.stat().st_ino
    assert spares.retire(str(a)) and not a.exists()
    assert not spares.retire(str(a))  # nothing left: idempotent
    spares.write_json(str(b), {"cid": "b"})
    assert b.stat().st_ino == inode and json.loads(b.read_text()) == {"cid": "b"}
    assert _spares(tmp_path) == []


def test_spares_are_bounded(tmp_path: Path) -> None:
    for i in range(spares.SLOTS + 3):
        (tmp_path / f"{i}.json").write_text("{}")
        spares.retire(str(tmp_path / f"{i}.json"))
    assert len(_spares(tmp_path)) == spares.SLOTS
    assert not [n for n in os.listdir(tmp_path) if n.endswith(".json")]


def test_claim_moves_a_spare_or_makes_a_file_and_never_replaces(tmp_path: Path) -> None:
    keep = tmp_path / "spare-dir"
    target = tmp_path / "ns"
    spares.claim(str(target), str(keep))  # no spare directory yet: a new file
    assert target.stat().st_size == 0
    inode = target.stat().st_ino
    assert spares.retire(str(target), str(keep)) and _spares(keep) == [".spare-0"]
    spares.claim(str(target), str(keep))
    assert target.stat().st_ino == inode and _spares(keep) == []
    with pytest.raises(FileExistsError):
        spares.claim(str(target), str(keep))


def test_a_retired_inode_is_not_shared_with_a_live_file(tmp_path: Path) -> None:
    a = tmp_path / "a.json"
    a.write_text("{}")
    spares.retire(str(a))
    spare = tmp_path / ".spare-0"
    assert spare.stat().st_nlink == 1


def test_read_json_retries_what_does_not_parse_and_rejects(tmp_path: Path, monkeypatch) -> None:
    """A reader without the lock may catch a recycled inode mid-write: it reads the path again."""
    path = tmp_path / "x.json"
    path.write_text('{"cid": "x"}')
    answers = iter([b'{"ci', b'{"cid": "other"}', b'{"cid": "x"}'])
    real_open = open

    class Fake:
        def __init__(self, data: bytes) -> None:
            self.data = data

        def __enter__(self):
            return self

        def __exit__(self, *exc) -> None:
            pass

        def read(self) -> bytes:
            return self.data

    monkeypatch.setattr("builtins.open", lambda p, mode="r", *a, **k: Fake(next(answers)) if p == str(path)
                        else real_open(p, mode, *a, **k))
    assert spares.read_json(str(path), None, lambda d: d.get("cid") == "x") == {"cid": "x"}
    assert spares.read_json(str(tmp_path / "missing.json"), None) is None
