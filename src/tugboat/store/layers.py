"""The layer store: content-addressed, deduplicated layer diffs and containers' read-write layers.

A layer is named by its *diff ID* (sha256 of the uncompressed tar) and stacked by *chain ID*
(the bottom layer's chain ID is its diff ID, above it ``sha256("<parent chain ID> <diff ID>")``, as
the OCI image spec and Docker define it), so the same diff on the same base is unpacked once and
shared by every image that has it.

On disk, with ``<home> = <data_root>/<driver>`` ("overlay2" or "vfs")::

    <home>/l/<cache id>/                 unpacked diff (12 hex digits: short overlay lowerdir lists)
    <home>/layerdb/sha256/<hex>/         one per chain ID: layer.json (chain_id, diff_id, parent,
                                         size, cache_id), tar-split.jsonl.gz, blobs/ (see tarsplit)
    <home>/c/<container id>/             rw layer: rw.json (parent, init) + upper/ work/ (overlay2)
                                         or rootfs/ (vfs), and init/ (Docker's init layer) if asked
    <home>/tmp/                          work in progress; emptied at startup

Crash safety: everything is built inside ``tmp/`` and appears by ``rename``: a layer's directory
first, then its metadata directory (the commit point).  At startup unfinished work in ``tmp/`` and
layer directories that no metadata names are removed, so a killed tugd never shows half a layer.
Removal goes the other way (metadata first).  Only the commit and removal steps hold the lock;
unpacking and vfs copies run concurrently.
"""

from __future__ import annotations

import hashlib
import lzma
import os
import re
import secrets
import tempfile
import threading
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from tugboat.errors import Conflict, InvalidArgument, NotFound
from tugboat.store.atomic import fsync_dir, read_json, write_json
from tugboat.store.fsutil import mounts_below, remove_tree
from tugboat.store.idmap import IdMap
from tugboat.store.snapshots.base import Change, Mount, SnapshotDriver, make_init_layer
from tugboat.store.snapshots.overlay import OverlayDriver, overlay_supported
from tugboat.store.snapshots.vfs import VfsDriver
from tugboat.store.tarsplit import assemble
from tugboat.store.untar import decompressed, unpack

__all__ = ["Layer", "LayerStore", "Mount", "chain_id_of"]

DRIVERS = ("overlay2", "vfs")
_CONTAINER_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")


@dataclass(frozen=True)
class Layer:
    chain_id: str
    diff_id: str
    parent: str | None
    size: int


def _quietly_remove(path: Path) -> None:
    """Best effort: anything left behind in tmp/ is removed at the next start."""
    try:
        remove_tree(path)
    except OSError:
        pass


def new_cache_id() -> str:
    """A layer directory name: 12 hex digits keep 80+ absolute lowerdirs within one page."""
    return secrets.token_hex(6)


def chain_id_of(parent: str | None, diff_id: str) -> str:
    if parent is None:
        return diff_id
    return "sha256:" + hashlib.sha256(f"{parent} {diff_id}".encode()).hexdigest()


class LayerStore:
    def __init__(self, data_root: Path, driver: str = "", idmap: IdMap | None = None) -> None:
        """``idmap`` (userns-remap): layer files are owned by the shifted ids, diffs map them back."""
        self.data_root = Path(data_root)
        self.idmap = idmap
        self.data_root.mkdir(parents=True, exist_ok=True, mode=0o710)
        name = driver or self._detect()
        if name not in DRIVERS:
            raise InvalidArgument(f"unsupported storage driver: {name} (supported: overlay2, vfs)")
        if driver == "overlay2" and not overlay_supported(self.data_root):
            raise InvalidArgument(f"overlay2 is not supported on the filesystem of {self.data_root}")
        self.home = self.data_root / name
        self._driver: SnapshotDriver = (OverlayDriver(self.home, idmap) if name == "overlay2"
                                        else VfsDriver(self.home, idmap))
        self._db = self.home / "layerdb" / "sha256"
        self._rw_root = self.home / "c"
        self._tmp = self.home / "tmp"
        self._lock = threading.RLock()
        self._layers: dict[str, tuple[Layer, str]] = {}   # chain id -> (layer, cache id)
        self._rw: dict[str, str | None] = {}               # container id -> parent chain id
        self._pending_rw: dict[str, str | None] = {}
        self._load()

    @property
    def driver_name(self) -> str:
        return self._driver.name

    def _detect(self) -> str:
        """A data root keeps the driver it was used with; otherwise overlay2 where it really works."""
        used = [d for d in DRIVERS if (self.data_root / d / "layerdb").is_dir()]
        if len(used) == 1:
            return used[0]
        return "overlay2" if overlay_supported(self.data_root) else "vfs"

    def _load(self) -> None:
        remove_tree(self._tmp)
        for d in (self._tmp, self._db, self._rw_root, self.home / "l"):
            d.mkdir(parents=True, exist_ok=True, mode=0o700)
        for hexid in os.listdir(self._db):
            try:
                meta = read_json(self._db / hexid / "layer.json")
                layer = Layer(meta["chain_id"], meta["diff_id"], meta.get("parent"), int(meta.get("size", 0)))
                cache_id = str(meta["cache_id"])
            except (ValueError, TypeError, KeyError):
                meta = None
            if not meta or layer.chain_id != "sha256:" + hexid or not re.fullmatch(r"[0-9a-f]{12}", cache_id):
                self._discard(self._db / hexid)
                continue
            self._layers[layer.chain_id] = (layer, cache_id)
        orphans = True
        while orphans:      # prune removes top-most first, but never trust a chain with a gap
            orphans = False
            for chain_id, (layer, _c) in list(self._layers.items()):
                if layer.parent is not None and layer.parent not in self._layers:
                    del self._layers[chain_id]
                    self._discard(self._db / chain_id.split(":", 1)[1])
                    orphans = True
        used = {cache for _l, cache in self._layers.values()}
        for cache in os.listdir(self.home / "l"):
            if cache not in used:
                self._discard(self.home / "l" / cache)
        for cid in os.listdir(self._rw_root):
            meta = read_json(self._rw_root / cid / "rw.json")
            if meta is None:
                self._discard(self._rw_root / cid)
            else:
                self._rw[cid] = meta.get("parent")

    def _discard(self, path: Path) -> None:
        """Make ``path`` disappear at once (rename into tmp), then delete it."""
        trash = self._tmp / f"trash-{os.urandom(6).hex()}"
        try:
            os.rename(path, trash)
        except FileNotFoundError:
            return
        _quietly_remove(trash)

    # --- layers --------------------------------------------------------------------------------
    def register(self, tar: BinaryIO, parent: str | None, expected_diff_id: str | None = None) -> Layer:
        """Unpack a layer tar (plain, gzip, bzip2 or xz) on top of ``parent``; an already known
        chain ID is reused and the new copy discarded.  Hostile entries raise InvalidArgument."""
        if parent is not None:
            self.get(parent)
        if expected_diff_id is not None and self.exists(chain_id_of(parent, expected_diff_id)):
            return self._verify_known(tar, parent, expected_diff_id)
        staging = Path(tempfile.mkdtemp(prefix="layer-", dir=self._tmp))
        try:
            layer_dir, meta_dir = staging / "layer", staging / "meta"
            layer_dir.mkdir()
            os.chmod(layer_dir, 0o755)
            if self.idmap is not None:
                os.chown(layer_dir, *self.idmap.root)
            meta_dir.mkdir(mode=0o700)
            diff_id, size = unpack(tar, layer_dir, meta_dir, self._driver.overlay_whiteouts, self.idmap)
            if expected_diff_id is not None and expected_diff_id != diff_id:
                raise InvalidArgument(f"layer diff ID mismatch: expected {expected_diff_id}, got {diff_id}")
            chain_id = chain_id_of(parent, diff_id)
            with self._lock:
                if chain_id in self._layers:
                    return self._layers[chain_id][0]
                if parent is not None and parent not in self._layers:
                    raise NotFound(f"layer {parent} does not exist")
                cache_id = new_cache_id()
                while os.path.lexists(self._driver.layer_dir(cache_id)):
                    cache_id = new_cache_id()
                layer = Layer(chain_id, diff_id, parent, size)
                write_json(meta_dir / "layer.json", {"chain_id": chain_id, "diff_id": diff_id, "parent": parent,
                                                     "size": size, "cache_id": cache_id})
                os.rename(layer_dir, self._driver.layer_dir(cache_id))
                fsync_dir(self.home / "l")
                os.rename(meta_dir, self._db / chain_id.split(":", 1)[1])
                fsync_dir(self._db)
                self._layers[chain_id] = (layer, cache_id)
                return layer
        finally:
            _quietly_remove(staging)

    def _verify_known(self, tar: BinaryIO, parent: str | None, diff_id: str) -> Layer:
        """The layer is already here (``docker load`` of a known image): only check the digest."""
        sha = hashlib.sha256()
        src = decompressed(tar)
        try:
            while chunk := src.read(1 << 20):
                sha.update(chunk)
        except (OSError, EOFError, zlib.error, lzma.LZMAError) as e:
            raise InvalidArgument(f"invalid layer archive: {e}") from e
        if "sha256:" + sha.hexdigest() != diff_id:
            raise InvalidArgument(f"layer diff ID mismatch: expected {diff_id}, got sha256:{sha.hexdigest()}")
        return self.get(chain_id_of(parent, diff_id))

    def get(self, chain_id: str) -> Layer:
        with self._lock:
            rec = self._layers.get(chain_id)
        if rec is None:
            raise NotFound(f"layer {chain_id} does not exist")
        return rec[0]

    def exists(self, chain_id: str) -> bool:
        with self._lock:
            return chain_id in self._layers

    def chain(self, chain_id: str) -> list[Layer]:
        """The layers from the bottom up to ``chain_id``."""
        out: list[Layer] = []
        cur: str | None = chain_id
        with self._lock:
            while cur is not None:
                out.append(self.get(cur))
                cur = out[-1].parent
        return out[::-1]

    def layers(self) -> list[Layer]:
        with self._lock:
            return [layer for layer, _c in self._layers.values()]

    def layer_path(self, chain_id: str) -> Path:
        """The unpacked diff of one layer (read-only!)."""
        with self._lock:
            if chain_id not in self._layers:
                raise NotFound(f"layer {chain_id} does not exist")
            return self._driver.layer_dir(self._layers[chain_id][1])

    def tar(self, chain_id: str) -> Iterator[bytes]:
        """The layer's tar exactly as registered (reassembled from the unpacked files)."""
        layer_dir = self.layer_path(chain_id)
        return assemble(layer_dir, self._db / chain_id.split(":", 1)[1])

    def prune(self, keep_tops: Iterable[str]) -> list[str]:
        """Delete every layer that is neither below a kept top nor below a container's rw layer;
        returns the removed chain IDs (top-most first)."""
        with self._lock:
            keep: set[str] = set()
            tops = [*keep_tops, *(p for p in self._rw.values() if p), *(p for p in self._pending_rw.values() if p)]
            for top in tops:
                cur: str | None = top
                while cur is not None and cur not in keep and cur in self._layers:
                    keep.add(cur)
                    cur = self._layers[cur][0].parent
            doomed = [c for c in self._layers if c not in keep]
            depth = {c: len(self.chain(c)) for c in doomed}
            doomed.sort(key=lambda c: -depth[c])
            for chain_id in doomed:
                _layer, cache_id = self._layers.pop(chain_id)
                self._discard(self._db / chain_id.split(":", 1)[1])
                self._discard(self._driver.layer_dir(cache_id))
            return doomed

    # --- read-write layers ---------------------------------------------------------------------
    def _lowers(self, parent: str | None) -> list[Path]:
        return [self.layer_path(layer.chain_id) for layer in self.chain(parent)] if parent else []

    def create_rw(self, container_id: str, parent_chain_id: str | None, init_layer: bool = False) -> None:
        """The container's writable layer on top of the image's top layer (None: empty image).

        ``init_layer`` adds Docker's init layer between the image and the rw layer (/proc, /sys,
        /dev/pts, /dev/shm, /dev/console, /etc/hosts, /etc/hostname, /etc/resolv.conf,
        /.dockerenv, /etc/mtab, where the image lacks them): mount points exist, yet ``docker
        diff`` and ``commit`` do not show them."""
        if not _CONTAINER_ID.match(container_id):
            raise InvalidArgument(f"invalid container id for a rw layer: {container_id!r}")
        with self._lock:
            if container_id in self._rw or container_id in self._pending_rw:
                raise Conflict(f"rw layer for container {container_id} already exists")
            lowers = self._lowers(parent_chain_id)
            init = [self._rw_root / container_id / "init"] if init_layer else []
            self._driver.check_depth(self._rw_root / container_id, lowers + init)
            self._pending_rw[container_id] = parent_chain_id
        staging = Path(tempfile.mkdtemp(prefix="rw-", dir=self._tmp))
        try:
            if init_layer:
                make_init_layer(staging / "init", lowers, self._driver.overlay_whiteouts, self.idmap)
                lowers = lowers + [staging / "init"]
            self._driver.create_rw(staging, lowers)
            write_json(staging / "rw.json", {"parent": parent_chain_id, "init": init_layer})
            with self._lock:
                os.rename(staging, self._rw_root / container_id)
                fsync_dir(self._rw_root)
                self._rw[container_id] = parent_chain_id
        finally:
            with self._lock:
                self._pending_rw.pop(container_id, None)
            _quietly_remove(staging)

    def rw_exists(self, container_id: str) -> bool:
        with self._lock:
            return container_id in self._rw

    def _rw_args(self, container_id: str) -> tuple[Path, list[Path]]:
        with self._lock:
            if container_id not in self._rw:
                raise NotFound(f"no rw layer for container {container_id}")
            rw_dir = self._rw_root / container_id
            init = rw_dir / "init"
            return rw_dir, self._lowers(self._rw[container_id]) + ([init] if init.is_dir() else [])

    def rw_parent(self, container_id: str) -> str | None:
        with self._lock:
            if container_id not in self._rw:
                raise NotFound(f"no rw layer for container {container_id}")
            return self._rw[container_id]

    def rw_mounts(self, container_id: str) -> list[Mount]:
        return self._driver.mounts(*self._rw_args(container_id))

    def rw_diff(self, container_id: str) -> Iterator[bytes]:
        """A tar of the container's changes in Docker's format (``.wh.`` whiteouts), for commit."""
        return self._driver.diff(*self._rw_args(container_id))

    def rw_changes(self, container_id: str) -> list[Change]:
        """[(kind, "/path")] with kind "A" (added), "C" (changed) or "D" (deleted), by path."""
        return sorted(self._driver.changes(*self._rw_args(container_id)), key=lambda c: c[1])

    def rw_size(self, container_id: str) -> int:
        return self._driver.size(*self._rw_args(container_id))

    def remove_rw(self, container_id: str) -> None:
        """Delete the rw layer; no error if there is none.  Refused (Conflict) while anything is
        still mounted inside it: the runtime must unmount first, or a bind-mounted volume's
        content would be deleted with it."""
        with self._lock:
            path = self._rw_root / container_id
            if container_id not in self._rw and not path.exists():
                return
            busy = mounts_below(path)
            if busy:
                raise Conflict(f"rw layer of container {container_id} is still mounted at {busy[0]}")
            self._rw.pop(container_id, None)
            trash = self._tmp / f"trash-{os.urandom(6).hex()}"
            try:
                os.rename(path, trash)
            except FileNotFoundError:
                return
        _quietly_remove(trash)
