"""Volume service: named and anonymous volumes of the local driver (``docker volume ...``).

A volume is a directory under ``<data-root>/volumes`` (see ``volume_store``).  Who uses a volume
is asked of the container service (``in_use``: the containers whose mounts name it), so a
volume in use cannot be removed or pruned, with dockerd's messages.  A volume with driver
options (``-o type=tmpfs -o device=tmpfs -o o=size=1m``) is mounted on its ``_data`` when the
first running container needs it and unmounted when the last one stops, as the local driver's
reference count does; the mount itself is done by ``runtime.mounts``.
Events: create, mount, unmount, destroy and prune, with dockerd's attributes.
"""

from __future__ import annotations

import builtins
import logging
import os
import secrets
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tugboat.engine.events import NullEvents
from tugboat.engine.volume_store import (
    DRIVER,
    META,
    Volume,
    check_name,
    check_options,
    dir_size,
    local_mount,
    new_volume,
)
from tugboat.errors import Conflict, InvalidArgument, NotFound, TugboatError
from tugboat.runtime import mounts as kernel_mounts
from tugboat.store.fsutil import remove_tree

log = logging.getLogger(__name__)

_LIST_FILTERS = ("dangling", "name", "driver", "label")
_PRUNE_FILTERS = ("label", "label!")


def _labels_match(specs: list[str], labels: dict[str, str]) -> bool:
    for spec in specs:
        k, eq, v = spec.partition("=")
        if k not in labels or (eq and labels[k] != v):
            return False
    return True


def _bool_filter(key: str, values: list[str]) -> bool:
    val = values[-1].lower()
    if val in ("true", "1"):
        return True
    if val in ("false", "0"):
        return False
    raise InvalidArgument(f"Invalid filter '{key}=[{values[-1]}]'")


class VolumeService:
    idmap: Any = None   # store.idmap.IdMap with userns-remap (set by wiring.py): _data owned by its root

    def __init__(self, root: Path, events: Any = None,
                 in_use: Callable[[str], list[str]] | None = None) -> None:
        self._root = Path(root)
        self._root.mkdir(parents=True, exist_ok=True, mode=0o701)
        self._events = events or NullEvents()
        self._in_use = in_use or (lambda name: [])
        self._lock = threading.RLock()
        self._volumes: dict[str, Volume] = {}
        self._active: dict[str, set[str]] = {}   # name -> mount references (container ids)
        self._load()

    def _load(self) -> None:
        for d in sorted(self._root.iterdir()):
            if not (d / META).is_file():
                continue
            try:
                v = Volume.load(d)
            except (OSError, ValueError, KeyError) as e:
                log.error("skipping unreadable volume %s: %s", d, e)
                continue
            self._volumes[v.name] = v

    # --- the API ------------------------------------------------------------------------------
    def create(self, name: str | None = None, driver: str | None = None,
               driver_opts: dict[str, str] | None = None, labels: dict[str, str] | None = None) -> dict:
        """POST /volumes/create; an existing volume of that name is returned as it is."""
        return self.ensure(name, driver, driver_opts, labels).to_api()

    def ensure(self, name: str | None, driver: str | None = None, driver_opts: dict[str, str] | None = None,
               labels: dict[str, str] | None = None) -> Volume:
        """Create (or get) a volume; no name makes an anonymous one with a random 64-hex name."""
        anonymous = not name
        name = name or secrets.token_hex(32)
        driver = driver or DRIVER
        with self._lock:
            existing = self._volumes.get(name)
            if existing is not None:
                if driver != DRIVER:
                    raise Conflict(f"create {name}: A volume named {name} already exists with the "
                                   f"{DRIVER} driver. Choose a different volume name")
                self._publish(name, "create", {"driver": DRIVER})
                return existing
            if driver != DRIVER:
                raise NotFound(f'create {name}: error looking up volume plugin {driver}: '
                               f'plugin "{driver}" not found')
            check_name(name)
            opts = {str(k): str(v) for k, v in (driver_opts or {}).items()}
            check_options(name, opts)
            try:
                v = new_volume(self._root / name, name, labels, opts, anonymous)
                if self.idmap is not None:
                    os.chown(self._root / name / "_data", *self.idmap.root)
            except OSError as e:
                raise TugboatError(f"create {name}: {e.strerror or e}") from e
            self._volumes[name] = v
        self._publish(name, "create", {"driver": DRIVER})
        return v

    def get(self, name: str) -> Volume:
        with self._lock:
            v = self._volumes.get(name)
        if v is None:
            raise NotFound(f"get {name}: no such volume")
        return v

    def inspect(self, name: str) -> dict:
        return self.get(name).to_api()

    def list(self, filters: dict[str, list[str]] | None = None) -> dict:
        f = {k: list(v) for k, v in (filters or {}).items()}
        for key in f:
            if key not in _LIST_FILTERS:
                raise InvalidArgument(f"Invalid filter '{key}'")
        dangling = _bool_filter("dangling", f["dangling"]) if f.get("dangling") else None
        with self._lock:
            vols = sorted(self._volumes.values(), key=lambda v: v.name)
        out = []
        for v in vols:
            if f.get("name") and not any(n in v.name for n in f["name"]):
                continue
            if f.get("driver") and DRIVER not in f["driver"]:
                continue
            if not _labels_match(f.get("label", []), v.labels or {}):
                continue
            if dangling is not None and bool(self._in_use(v.name)) == dangling:
                continue
            out.append(v.to_api())
        return {"Volumes": out, "Warnings": None}

    def usage(self) -> builtins.list[dict]:
        """The volumes with UsageData, as GET /system/df shows them: like dockerd's LocalVolumesSize,
        volumes with driver options (mounts, not local data) are left out."""
        with self._lock:
            vols = sorted((v for v in self._volumes.values() if not v.has_mount), key=lambda v: v.name)
        return [{**v.to_api(), "UsageData": {"RefCount": len(self._in_use(v.name)), "Size": dir_size(v.data)}}
                for v in vols]

    def remove(self, name: str, force: bool = False) -> None:
        """DELETE /volumes/{name}; force only hides a missing volume, never an in-use one."""
        with self._lock:
            v = self._volumes.get(name)
            if v is None:
                if force:
                    return
                raise NotFound(f"get {name}: no such volume")
            users = self._in_use(name)
            if users:
                raise Conflict(f"remove {name}: volume is in use - [{', '.join(users)}]")
            self._destroy(v)

    def _destroy(self, v: Volume) -> None:
        if v.has_mount:
            kernel_mounts.unmount(v.data)
        self._active.pop(v.name, None)
        try:
            remove_tree(v.root)
        except OSError as e:
            raise TugboatError(f"remove {v.name}: {e.strerror or e}") from e
        del self._volumes[v.name]
        self._publish(v.name, "destroy", {"driver": DRIVER})

    def prune(self, filters: dict[str, builtins.list[str]] | None = None) -> dict:
        """POST /volumes/prune (API 1.41): every unused local volume without driver options."""
        f = {k: list(v) for k, v in (filters or {}).items()}
        for key in f:
            if key not in _PRUNE_FILTERS:
                raise InvalidArgument(f"Invalid filter '{key}'")
        deleted: builtins.list[str] = []
        reclaimed = 0
        with self._lock:
            for v in sorted(self._volumes.values(), key=lambda v: v.name):
                labels = v.labels or {}
                if v.has_mount or self._in_use(v.name) or not _labels_match(f.get("label", []), labels):
                    continue
                if any(_labels_match([spec], labels) for spec in f.get("label!", [])):
                    continue
                size = dir_size(v.data)
                try:
                    self._destroy(v)
                except TugboatError as e:
                    log.warning("pruning volume %s: %s", v.name, e)
                    continue
                deleted.append(v.name)
                reclaimed += size
        self._events.publish("volume", "prune", "", {"reclaimed": str(reclaimed)})
        return {"VolumesDeleted": deleted, "SpaceReclaimed": reclaimed}

    # --- containers' use ----------------------------------------------------------------------
    def mount(self, name: str, ref: str) -> str:
        """The host path a container binds for volume ``name``; a volume with driver options is
        mounted by its first user.  ``ref`` (a container ID) must be given back to unmount."""
        with self._lock:
            v = self.get(name)
            users = self._active.get(name)
            if v.has_mount and not users and not kernel_mounts.is_mounted(v.data):
                fstype, device, options = local_mount(v)
                kernel_mounts.mount_filesystem(fstype, device, options, v.data)
            self._active.setdefault(name, set()).add(ref)
            return str(v.data)

    def adopt(self, name: str, ref: str) -> None:
        """tugd restarted while a container using the volume kept running: count it again."""
        with self._lock:
            if name in self._volumes:
                self._active.setdefault(name, set()).add(ref)

    def unmount(self, name: str, ref: str) -> bool:
        """Drop ``ref``'s use (False if it had none); the last user's unmount takes a
        driver-option mount away."""
        with self._lock:
            users = self._active.get(name)
            if users is None or ref not in users:
                return False
            users.discard(ref)
            v = self._volumes.get(name)
            if users:
                return True
            del self._active[name]
            if v is not None and v.has_mount:
                try:
                    kernel_mounts.unmount(v.data)
                except TugboatError as e:
                    log.warning("unmounting volume %s: %s", name, e)
            return True

    def sweep(self) -> None:
        """After the containers are restored: unmount option volumes no running container uses."""
        with self._lock:
            for v in self._volumes.values():
                if v.has_mount and not self._active.get(v.name) and kernel_mounts.is_mounted(v.data):
                    try:
                        kernel_mounts.unmount(v.data)
                    except TugboatError as e:
                        log.warning("unmounting volume %s: %s", v.name, e)

    def remove_anonymous(self, name: str) -> None:
        """`rm -v` / --rm: an anonymous volume goes with its container unless another uses it."""
        with self._lock:
            v = self._volumes.get(name)
            if v is None or self._in_use(name):
                return
            try:
                self._destroy(v)
            except TugboatError as e:
                log.warning("removing volume %s: %s", name, e)

    def publish(self, name: str, action: str, attributes: dict[str, str]) -> None:
        """mount/unmount events, published by the container side with dockerd's attributes."""
        self._publish(name, action, attributes)

    def _publish(self, name: str, action: str, attributes: dict[str, str]) -> None:
        self._events.publish("volume", action, name, attributes)
