"""Image removal: dockerd 20.10's daemon/images/image_delete.go rules, step for step.

Removing by reference only untags while other references remain; removing by ID
(or ID prefix) untags everything only when the image has at most one tag (else
"must be forced"); containers using the image are soft conflicts when stopped
and hard ones when running; an image with child images cannot be deleted; and
after a delete the parents that became dangling are pruned too, quietly
stopping at the first one still in use.  The messages are dockerd's, word for
word, because clients and scripts match on them.  The caller holds the service lock.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tugboat.engine.reference import Reference, parse_normalized_named, short_id
from tugboat.errors import Conflict, NotFound

if TYPE_CHECKING:
    from tugboat.engine.images import ImageService

Items = list[dict[str, Any]]


class DeleteConflict(Conflict):
    """imageDeleteConflict: carries whether a container uses the image."""

    def __init__(self, image_id: str, hard: bool, message: str, used: bool = False) -> None:
        force = "cannot be forced" if hard else "must be forced"
        super().__init__(f"conflict: unable to delete {short_id(image_id)} ({force}) - {message}")
        self.used = used


def remove(svc: ImageService, ref_given: str, force: bool, prune: bool) -> Items:
    """ImageDelete: the Untagged/Deleted records, in dockerd's order."""
    image_id = svc._get_image(ref_given)
    records: Items = []
    repo_refs = svc._refs(image_id)
    removed_repo_ref = False
    if not _is_id_prefix(image_id, ref_given):
        if not force and _is_single_reference(repo_refs):
            users = svc._in_use(image_id)
            if users:
                raise Conflict(
                    f'conflict: unable to remove repository reference "{ref_given}" (must force) - '
                    f"container {short_id(users[0])} is using its referenced image {short_id(image_id)}")
        parsed = parse_normalized_named(ref_given)
        parsed = _remove_ref(svc, parsed)
        records.append({"Untagged": parsed.familiar()})
        repo_refs = svc._refs(image_id)
        if not parsed.is_canonical:
            if not any(not r.is_canonical and r.name == parsed.name for r in repo_refs):
                remaining = []
                for r in repo_refs:
                    if r.is_canonical and r.name == parsed.name:
                        _remove_ref(svc, r)
                        records.append({"Untagged": r.familiar()})
                    else:
                        remaining.append(r)
                repo_refs = remaining
        if repo_refs:
            return records
        removed_repo_ref = True
    elif _is_single_reference(repo_refs):
        mask = {"child", "running"} if force else {"child", "running", "stopped"}
        _check_conflict(svc, image_id, mask)
        for r in repo_refs:
            records.append({"Untagged": _remove_ref(svc, r).familiar()})
    _delete_helper(svc, image_id, records, force, prune, removed_repo_ref)
    return records


def _remove_ref(svc: ImageService, ref: Reference) -> Reference:
    ref = ref.tag_name_only()
    try:
        svc.store.delete_reference(str(ref))
    except NotFound:
        pass  # idempotent, as dockerd's removeImageRef
    return ref


def _check_conflict(svc: ImageService, image_id: str, mask: set[str]) -> None:
    if "child" in mask and svc._children(image_id):
        raise DeleteConflict(image_id, True, "image has dependent child images")
    running = svc._running(image_id) if "running" in mask else []
    if running:
        raise DeleteConflict(image_id, True,
                             f"image is being used by running container {short_id(running[0])}", used=True)
    if "reference" in mask and svc.store.refs_for(image_id):
        raise DeleteConflict(image_id, False, "image is referenced in multiple repositories")
    if "stopped" in mask:
        run = set(svc._running(image_id))
        stopped = [c for c in svc._in_use(image_id) if c not in run]
        if stopped:
            raise DeleteConflict(image_id, False,
                                 f"image is being used by stopped container {short_id(stopped[0])}", used=True)


def _delete_helper(svc: ImageService, image_id: str, records: Items, force: bool, prune: bool, quiet: bool) -> None:
    mask = {"child", "running"} if force else {"child", "running", "reference", "stopped"}
    try:
        _check_conflict(svc, image_id, mask)
    except DeleteConflict as conflict:
        dangling = not svc.store.refs_for(image_id) and not svc._children(image_id)
        if quiet and (not dangling or conflict.used):
            return
        raise
    parent = svc.store.get_parent(image_id) or ""
    for r in svc._refs(image_id):
        records.append({"Untagged": _remove_ref(svc, r).familiar()})
    svc.store.delete(image_id)
    records.append({"Deleted": image_id})
    for chain in svc._prune_layers():
        records.append({"Deleted": chain})
    if prune and parent and svc.store.exists(parent):
        _delete_helper(svc, parent, records, False, True, True)


def _is_id_prefix(image_id: str, possible: str) -> bool:
    return image_id.startswith(possible) or image_id.split(":", 1)[-1].startswith(possible)


def _is_single_reference(refs: list[Reference]) -> bool:
    """All references in one repository, with at most one tag."""
    if len(refs) <= 1:
        return len(refs) == 1
    single: Reference | None = None
    canonical: set[str] = set()
    for r in refs:
        if r.is_canonical:
            canonical.add(r.name)
        elif single is None:
            single = r
        else:
            return False
    if single is None:
        single = refs[0]
    return len(canonical) == 1 and single.name in canonical
