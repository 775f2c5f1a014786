"""The pure ``rmi`` decision rules."""
from __future__ import annotations

import pytest

from pyns.errors import Conflict
from pyns.images.reference import parse
from pyns.images.removal import ImageUser, is_id_prefix, is_single_reference, plan_removal

IMAGE = "sha256:" + "ab" * 32
D1, D2 = "sha256:" + "1" * 64, "sha256:" + "2" * 64


def refs(*names: str):
    return [parse(n) for n in names]


def test_is_id_prefix() -> None:
    assert is_id_prefix(IMAGE, "abab") and is_id_prefix(IMAGE, "sha256:ab") and is_id_prefix(IMAGE, IMAGE)
    assert not is_id_prefix(IMAGE, "busybox")


@pytest.mark.parametrize("names, single", [
    ([], False),
    (["a:1"], True),
    ([f"a@{D1}"], True),
    (["a:1", f"a@{D1}"], True),
    (["a:1", f"a@{D1}", f"a@{D2}"], True),
    (["a:1", "a:2"], False),
    (["a:1", f"b@{D1}"], False),
    ([f"a@{D1}", f"b@{D2}"], False),
])
def test_is_single_reference(names, single) -> None:
    assert is_single_reference(refs(*names)) is single


def test_untag_one_of_several() -> None:
    plan = plan_removal(IMAGE, "a:1", parse("a:1"), refs("a:1", "b:1"), [], False, False)
    assert [r.familiar() for r in plan.untag] == ["a:1"] and not plan.delete


def test_last_tag_takes_its_digests_but_not_other_repos() -> None:
    plan = plan_removal(IMAGE, "a:1", parse("a:1"), refs("a:1", f"a@{D1}", f"b@{D2}"), [], False, False)
    assert [r.familiar() for r in plan.untag] == ["a:1", f"a@{D1}"] and not plan.delete


def test_id_with_single_reference_deletes() -> None:
    plan = plan_removal(IMAGE, "abab", None, refs("a:1", f"a@{D1}"), [], False, False)
    assert [r.familiar() for r in plan.untag] == ["a:1", f"a@{D1}"] and plan.delete


def test_id_with_many_references_needs_force() -> None:
    with pytest.raises(Conflict, match="must be forced"):
        plan_removal(IMAGE, "abab", None, refs("a:1", "b:1"), [], False, False)
    plan = plan_removal(IMAGE, "abab", None, refs("a:1", "b:1"), [], False, True)
    assert len(plan.untag) == 2 and plan.delete


def test_running_container_cannot_be_forced() -> None:
    users = [ImageUser("f" * 64, True)]
    with pytest.raises(Conflict, match="cannot be forced"):
        plan_removal(IMAGE, "abab", None, [], users, False, True)
    # untagging with force is still allowed; the image stays
    plan = plan_removal(IMAGE, "a:1", parse("a:1"), refs("a:1"), users, False, True)
    assert len(plan.untag) == 1 and not plan.delete
