"""``docker rmi`` decision rules, as a pure function over the store's state.

Whether ``rmi X`` only untags or also deletes, and which conflicts stop it,
depends on how X was named (a reference or an id prefix), how many
references the image has, and which containers use it. Keeping these rules
free of I/O makes them testable case by case; the store just executes the
returned plan.
"""
from __future__ import annotations

from collections.abc import Sequence

from pyns.errors import Conflict
from pyns.images.reference import Reference
from pyns.records import field, record


@record(frozen=True)
class ImageUser:
    """A container that uses an image, as reported by the container layer."""

    container_id: str
    running: bool


@record
class RemovalPlan:
    """References to untag (in output order) and whether to delete the image."""

    untag: list[Reference] = field(default_factory=list)
    delete: bool = False


@record(frozen=True)
class _ImageConflict:
    message: str
    hard: bool
    used: bool


def is_id_prefix(image_id: str, given: str) -> bool:
    """True when the user named the image by (a prefix of) its id."""
    return image_id.startswith(given) or image_id.split(":", 1)[-1].startswith(given)


def is_single_reference(refs: Sequence[Reference]) -> bool:
    """At most one tag, and every reference within that one repository."""
    if len(refs) <= 1:
        return len(refs) == 1
    tags = [r for r in refs if r.digest is None]
    if len(tags) > 1:
        return False
    repos_with_digests = {r.name for r in refs if r.digest is not None}
    single = tags[0] if tags else refs[0]
    return len(repos_with_digests) == 1 and single.name in repos_with_digests


def _conflict(refs: Sequence[Reference], users: Sequence[ImageUser], has_children: bool,
              soft: bool, active_reference: bool) -> _ImageConflict | None:
    if has_children:
        return _ImageConflict("image has dependent child images", hard=True, used=False)
    for user in users:
        if user.running:
            return _ImageConflict(f"image is being used by running container {user.container_id[:12]}",
                                  hard=True, used=True)
    if soft and active_reference and refs:
        return _ImageConflict("image is referenced in multiple repositories", hard=False, used=False)
    if soft:
        for user in users:
            if not user.running:
                return _ImageConflict(f"image is being used by stopped container {user.container_id[:12]}",
                                      hard=False, used=True)
    return None


def _error(image_id: str, conflict: _ImageConflict) -> Conflict:
    forced = "cannot be forced" if conflict.hard else "must be forced"
    short = image_id.split(":", 1)[-1][:12]
    return Conflict(f"conflict: unable to delete {short} ({forced}) - {conflict.message}")


def plan_removal(image_id: str, given: str, given_ref: Reference | None, refs: Sequence[Reference],
                 users: Sequence[ImageUser], has_children: bool, force: bool) -> RemovalPlan:
    """Decide what ``rmi given`` does to the image ``image_id``.

    ``given_ref`` is the normalised reference the user typed (None when
    ``given`` is an id prefix); ``refs`` are all references to the image.
    Raises :class:`~pyns.errors.Conflict` with docker's messages.
    """
    plan = RemovalPlan()
    remaining = list(refs)
    removed_repository_ref = False
    if given_ref is not None and not is_id_prefix(image_id, given):
        if not force and is_single_reference(remaining) and users:
            raise Conflict(
                f'conflict: unable to remove repository reference "{given}" (must force) - container '
                f"{users[0].container_id[:12]} is using its referenced image {image_id.split(':', 1)[-1][:12]}")
        plan.untag.append(given_ref)
        remaining = [r for r in remaining if r != given_ref]
        if given_ref.digest is None and not any(r.digest is None and r.name == given_ref.name for r in remaining):
            # the last tag of a repository takes that repository's digests with it
            for ref in list(remaining):
                if ref.digest is not None and ref.name == given_ref.name:
                    plan.untag.append(ref)
                    remaining.remove(ref)
        if remaining:
            return plan
        removed_repository_ref = True
    elif is_single_reference(remaining):
        conflict = _conflict(remaining, users, has_children, soft=not force, active_reference=False)
        if conflict is not None:
            raise _error(image_id, conflict)
        plan.untag.extend(remaining)
        remaining = []
    conflict = _conflict(remaining, users, has_children, soft=not force, active_reference=True)
    if conflict is not None:
        dangling = not remaining and not has_children
        if removed_repository_ref and (not dangling or conflict.used):
            return plan  # untagging was what the user asked for; the image stays, unnamed
        raise _error(image_id, conflict)
    plan.untag.extend(remaining)
    plan.delete = True
    return plan
