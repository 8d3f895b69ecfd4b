"""``docker commit``: a container's writable layer becomes a new image on top of its image.

Mirrors dockerd 20.10 (daemon/commit.go CreateImageFromContainer and
daemon/images/image_commit.go CommitImage + image.NewChildImage):

* the new config is the container's Config (or the caller's ``config``) with the
  Dockerfile ``changes`` applied, then merged with the container's Config (``merge``);
* the layer is the RW diff; an empty diff (the empty tar's digest) adds no layer and a
  history entry with ``empty_layer`` instead, exactly like NewChildImage;
* history ``created_by`` is the container's Cmd joined with spaces (no shell prefix);
* ``container`` and ``container_config`` record where the image came from, Parent links
  to the container's image;
* a running container is paused for the duration unless ``pause=False``.

CommitService is a collaborator of the container service, not part of it: it only reads a
container's record and its RW layer, so it is given exactly that (``lookup``, the layer store)
plus the image service that stores the result, the event bus, and the container service's own
``pause``/``unpause`` (which take the container's lock and publish the events).  wiring.py builds
it; the route reaches it as ``engine.commits``.  The builder shares ``child_config``, so a
``docker commit`` and a build step write identical image configs.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from tugboat.api.timefmt import now_ns, rfc3339nano
from tugboat.api.version import ENGINE_VERSION
from tugboat.engine.container_record import ContainerRecord, merge_config
from tugboat.engine.container_state import PAUSED, REMOVING
from tugboat.engine.events import NullEvents, container_attributes
from tugboat.engine.image_changes import apply_changes
from tugboat.engine.reference import parse_normalized_named
from tugboat.errors import Conflict
from tugboat.store.tarstream import iter_reader

if TYPE_CHECKING:
    from tugboat.engine.images import ImageService
    from tugboat.store.layers import LayerStore

log = logging.getLogger(__name__)


def child_config(parent: dict[str, Any], config: dict[str, Any], container_config: dict[str, Any],
                 container_id: str, author: str, comment: str, empty_layer: bool,
                 created_ns: int) -> dict[str, Any]:
    """image.NewChildImage without the new diff ID (create_image appends it)."""
    created = rfc3339nano(created_ns)
    entry: dict[str, Any] = {"created": created, "author": author,
                             "created_by": " ".join(container_config.get("Cmd") or []),
                             "comment": comment, "empty_layer": empty_layer}
    rootfs = parent.get("rootfs") or {"type": "layers", "diff_ids": []}
    cfg: dict[str, Any] = {
        "architecture": parent.get("architecture") or "", "author": author, "config": config,
        "container": container_id, "container_config": container_config, "created": created,
        "docker_version": ENGINE_VERSION, "history": [*(parent.get("history") or []), entry],
        "os": parent.get("os") or "linux",
        "rootfs": {"type": rootfs.get("type", "layers"), "diff_ids": list(rootfs.get("diff_ids") or [])},
    }
    for key in ("variant", "os.version", "os.features"):
        if parent.get(key):
            cfg[key] = parent[key]
    return {k: v for k, v in cfg.items() if v != "" or k in ("architecture", "os")}


class CommitService:
    """POST /commit.  ``lookup`` turns a container reference into its record (NotFound as the
    container service raises it); ``pause``/``unpause`` are the container service's."""

    def __init__(self, lookup: Callable[[str], ContainerRecord], images: ImageService, layers: LayerStore,
                 pause: Callable[[str], None], unpause: Callable[[str], None], events: Any = None) -> None:
        self._lookup = lookup
        self._images = images
        self._layers = layers
        self._pause = pause
        self._unpause = unpause
        self._events = events or NullEvents()

    def commit(self, ref: str, repo: str | None = None, tag: str | None = None, comment: str = "",
               author: str = "", changes: list[str] | None = None, pause: bool = True,
               config: dict[str, Any] | None = None) -> str:
        """POST /commit: returns the new image ID ("sha256:...")."""
        rec = self._lookup(ref)
        if rec.state.status == "dead":
            raise Conflict(f"You cannot commit container {rec.id} which is Dead")
        if rec.state.status == REMOVING:
            raise Conflict(f"You cannot commit container {rec.id} which is being removed")
        new_ref = None
        if repo:
            new_ref = parse_normalized_named(repo)
            if tag:
                new_ref = new_ref.trimmed().with_tag(tag)
        base = config if config else rec.config
        new_config = merge_config(apply_changes(base, changes or []), rec.config)
        paused_here = False
        if pause and rec.state.running and rec.state.status != PAUSED:
            self._pause(rec.id)
            paused_here = True
        try:
            image_id = self._commit_layer(rec, new_config, author, comment, str(new_ref) if new_ref else None)
        finally:
            if paused_here:
                try:
                    self._unpause(rec.id)
                except Exception as e:  # noqa: BLE001 - the image exists; report, don't fail
                    log.warning("unpause of %s after commit: %s", rec.id, e)
        if new_ref is not None:   # TagImageWithReference logs "tag" before "commit"
            self._events.publish("image", "tag", image_id, {
                **(new_config.get("Labels") or {}), "name": new_ref.familiar()})
        self._events.publish("container", "commit", rec.id, container_attributes(
            rec.name, rec.config, {"comment": comment, "imageID": image_id,
                                   "imageRef": new_ref.familiar() if new_ref else ""}))
        return image_id

    def _commit_layer(self, rec: ContainerRecord, new_config: dict[str, Any], author: str, comment: str,
                      ref: str | None) -> str:
        parent_id = rec.image_id or None
        parent_cfg: dict[str, Any] = self._images.resolve(parent_id).config if parent_id else {}
        empty = not self._layers.rw_changes(rec.id)
        cfg = child_config(parent_cfg, new_config, rec.config, rec.id, author, comment, empty, now_ns())
        tar = None if empty else iter_reader(self._layers.rw_diff(rec.id))
        return str(self._images.create_image(cfg, layer_tar=tar, parent=parent_id, ref=ref))
