"""The image store: image configs by content, local parent links, metadata and the reference table.

An image ID is ``sha256:`` + the digest of the config's exact bytes (as Docker's image/imagedb),
so storing is idempotent and reading back can be verified.  Layout under ``root``::

    imagedb/content/sha256/<hex>        the config JSON, byte for byte
    imagedb/metadata/sha256/<hex>.json  {"parent": id | null, "meta": {"lastUpdated": ...}}
    repositories.json                   {"Repositories": {repo: {reference: id}}} (Docker's shape)

References are kept fully normalized ("docker.io/library/busybox:latest"); parsing and
normalizing them is the image service's job.  Every file is written atomically; all state is cached
in memory behind one lock, so readers never touch the disk for the tables.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import threading
from pathlib import Path
from typing import Any

from tugboat.errors import InvalidArgument, NotFound, TugboatError
from tugboat.store.atomic import read_json, remove_tmp_files, write_atomic, write_json

_HEX = re.compile(r"^[0-9a-f]{64}$")


def _hex(image_id: str) -> str:
    h = image_id[len("sha256:"):] if image_id.startswith("sha256:") else image_id
    if not _HEX.match(h):
        raise NotFound(f"No such image: {image_id}")
    return h


def repository_of(ref: str) -> str:
    """"docker.io/library/busybox:latest" -> "docker.io/library/busybox" (also for @digest)."""
    name = ref.split("@", 1)[0]
    head, sep, tail = name.rpartition(":")
    return head if sep and "/" not in tail else name


class ImageStore:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self._content = self.root / "imagedb" / "content" / "sha256"
        self._metadata = self.root / "imagedb" / "metadata" / "sha256"
        self._repos_file = self.root / "repositories.json"
        for d in (self._content, self._metadata):
            d.mkdir(parents=True, exist_ok=True, mode=0o700)
            remove_tmp_files(d)
        remove_tmp_files(self.root)
        self._lock = threading.RLock()
        self._ids = {n for n in os.listdir(self._content) if _HEX.match(n)}
        self._meta: dict[str, dict[str, Any]] = {}
        for h in self._ids:
            self._meta[h] = read_json(self._metadata / f"{h}.json", None) or {"parent": None, "meta": {}}
        repos = (read_json(self._repos_file, None) or {}).get("Repositories", {})
        self._refs: dict[str, str] = {
            ref: image_id for table in repos.values() for ref, image_id in table.items()
            if image_id.startswith("sha256:") and image_id[7:] in self._ids}

    # --- configs -------------------------------------------------------------------------------
    def put(self, config_bytes: bytes) -> str:
        """Store a config; returns its ID.  Storing the same bytes again is a no-op."""
        try:
            if not isinstance(json.loads(config_bytes), dict):
                raise ValueError("not an object")
        except ValueError as e:
            raise InvalidArgument(f"invalid image config: {e}") from None
        h = hashlib.sha256(config_bytes).hexdigest()
        with self._lock:
            if h not in self._ids:
                write_atomic(self._content / h, config_bytes, 0o600)
                self._ids.add(h)
                self._meta.setdefault(h, {"parent": None, "meta": {}})
        return "sha256:" + h

    def get(self, image_id: str) -> bytes:
        """The config bytes; verified against the ID (a corrupted file is an error, not an image)."""
        h = _hex(image_id)
        with self._lock:
            if h not in self._ids:
                raise NotFound(f"No such image: {image_id}")
        try:
            data = (self._content / h).read_bytes()
        except FileNotFoundError:
            raise NotFound(f"No such image: {image_id}") from None
        if hashlib.sha256(data).hexdigest() != h:
            raise TugboatError(f"image config of sha256:{h} is corrupted")
        return data

    def exists(self, image_id: str) -> bool:
        try:
            h = _hex(image_id)
        except NotFound:
            return False
        with self._lock:
            return h in self._ids

    def ids(self) -> list[str]:
        with self._lock:
            return sorted("sha256:" + h for h in self._ids)

    def delete(self, image_id: str) -> None:
        """Remove the config and metadata, the children's links to it and references to it."""
        h = _hex(image_id)
        full = "sha256:" + h
        with self._lock:
            if h not in self._ids:
                raise NotFound(f"No such image: {image_id}")
            for child in self.children(full):
                self._set_meta_field(_hex(child), "parent", None)
            dropped = [r for r, i in self._refs.items() if i == full]
            for r in dropped:
                del self._refs[r]
            if dropped:
                self._save_refs()
            self._ids.discard(h)
            self._meta.pop(h, None)
            for p in (self._metadata / f"{h}.json", self._content / h):
                try:
                    os.unlink(p)
                except FileNotFoundError:
                    pass

    # --- parent links and metadata -------------------------------------------------------------
    def _checked(self, image_id: str) -> str:
        h = _hex(image_id)
        if h not in self._ids:
            raise NotFound(f"No such image: {image_id}")
        return h

    def _set_meta_field(self, h: str, key: str, value: Any) -> None:
        rec = dict(self._meta.get(h) or {"parent": None, "meta": {}})
        rec[key] = value
        write_json(self._metadata / f"{h}.json", rec)
        self._meta[h] = rec

    def set_parent(self, image_id: str, parent: str | None) -> None:
        with self._lock:
            h = self._checked(image_id)
            if parent is not None:
                parent = "sha256:" + self._checked(parent)
            self._set_meta_field(h, "parent", parent)

    def get_parent(self, image_id: str) -> str | None:
        with self._lock:
            return self._meta[self._checked(image_id)].get("parent")

    def children(self, image_id: str) -> list[str]:
        """IDs whose local parent is ``image_id``."""
        full = "sha256:" + _hex(image_id)
        with self._lock:
            return sorted("sha256:" + h for h, m in self._meta.items() if m.get("parent") == full)

    def set_meta(self, image_id: str, key: str, value: Any) -> None:
        with self._lock:
            h = self._checked(image_id)
            meta = dict(self._meta[h].get("meta") or {})
            meta[key] = value
            self._set_meta_field(h, "meta", meta)

    def get_meta(self, image_id: str, key: str, default: Any = None) -> Any:
        with self._lock:
            return (self._meta[self._checked(image_id)].get("meta") or {}).get(key, default)

    # --- references ----------------------------------------------------------------------------
    def _save_refs(self) -> None:
        repos: dict[str, dict[str, str]] = {}
        for ref, image_id in self._refs.items():
            repos.setdefault(repository_of(ref), {})[ref] = image_id
        write_json(self._repos_file, {"Repositories": repos})

    def references(self) -> dict[str, str]:
        with self._lock:
            return dict(self._refs)

    def set_reference(self, ref: str, image_id: str) -> None:
        """Point ``ref`` at an image (moving it from another image, if any)."""
        with self._lock:
            full = "sha256:" + self._checked(image_id)
            if self._refs.get(ref) != full:
                self._refs[ref] = full
                self._save_refs()

    def delete_reference(self, ref: str) -> str:
        """Remove ``ref``; returns the ID it pointed at (NotFound if there was none)."""
        with self._lock:
            image_id = self._refs.pop(ref, None)
            if image_id is None:
                raise NotFound(f"No such image: {ref}")
            self._save_refs()
            return image_id

    def refs_for(self, image_id: str) -> list[str]:
        full = "sha256:" + _hex(image_id)
        with self._lock:
            return sorted(r for r, i in self._refs.items() if i == full)
