"""The archive API behind ``docker cp``: stat, tar out and extract into a container's rootfs.

Mirrors dockerd 20.10 daemon/archive.go (ContainerStatPath, ContainerArchivePath,
ContainerExtractToDir) for what is the daemon's to decide: which root a container's paths are
resolved in (a running container's own mount namespace, else its rootfs, mounted for the
operation and reference counted so two concurrent copies do not unmount under each other),
whether the destination may be written, and the events.  The file work itself (path rules in
store/rootfs_archive.py) runs in a child chrooted into that root (runtime/chroot_archive.py), so
no race with a running container can lead the kernel out of it.

Two classes, neither part of the container service:

* ``RootfsMounts`` is those reference-counted mounts.  The container service owns the one
  instance (``docker export`` reads a stopped container through it too) and wiring.py hands it on.
* ``ArchiveService`` is the API, a collaborator given what it needs explicitly: ``lookup`` (a
  container reference -> its record, NotFound as the container service raises it), the mounts,
  the event bus and the userns-remap id mapping.  It takes no container lock (the mounts are
  counted under their own); the routes reach it as ``engine.archives``.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, BinaryIO

from tugboat.engine.container_record import ContainerRecord
from tugboat.engine.container_state import PAUSED, RUNNING
from tugboat.engine.events import NullEvents, container_attributes
from tugboat.errors import InvalidArgument, TugboatError
from tugboat.runtime import chroot_archive
from tugboat.store.idmap import IdMap
from tugboat.store.rootfs_archive import MODE_DIR, go_base

if TYPE_CHECKING:
    from tugboat.runtime import ContainerRuntime
    from tugboat.store.layers import LayerStore


class RootfsMounts:
    """Containers' root filesystems on the host, for operations from outside the container."""

    def __init__(self, runtime: ContainerRuntime, layers: LayerStore) -> None:
        self._runtime = runtime
        self._layers = layers
        self._lock = threading.Lock()
        self._counts: dict[str, int] = {}   # container ID -> operations holding its temporary mount

    @contextmanager
    def hold(self, rec: ContainerRecord) -> Iterator[str]:
        """The container's root filesystem on the host: the live mount of a running container,
        else a temporary mount shared by concurrent operations."""
        if rec.state.status in (RUNNING, PAUSED):
            yield os.fspath(self._runtime.rootfs(rec.id))
            return
        with self._lock:
            if self._counts.get(rec.id, 0) == 0:
                path = self._runtime.mount_rootfs(rec.id, list(self._layers.rw_mounts(rec.id)))
            else:
                path = self._runtime.rootfs(rec.id)
            self._counts[rec.id] = self._counts.get(rec.id, 0) + 1
        try:
            yield os.fspath(path)
        finally:
            with self._lock:
                self._counts[rec.id] -= 1
                if self._counts[rec.id] == 0:
                    del self._counts[rec.id]
                    if not rec.state.running:
                        self._runtime.unmount_rootfs(rec.id)


def _view(rec: ContainerRecord, root: str) -> str:
    """Where the operation runs: a running container's root in its own mount namespace (what
    its processes see, volumes included), else the mounted rootfs."""
    st = rec.state
    if st.status in (RUNNING, PAUSED) and st.pid:
        return chroot_archive.running_root(rec.id, st.pid)
    return root


class ArchiveService:
    """HEAD, GET and PUT /containers/{id}/archive."""

    def __init__(self, lookup: Callable[[str], ContainerRecord], mounts: RootfsMounts, events: Any = None,
                 idmap: IdMap | None = None) -> None:
        self._lookup = lookup
        self._mounts = mounts
        self._events = events or NullEvents()
        self._idmap = idmap   # userns-remap: ids in the tars are the container's, files on disk the host's

    def _publish(self, rec: ContainerRecord, action: str) -> None:
        self._events.publish("container", action, rec.id, container_attributes(rec.name, rec.config))

    def stat(self, ref: str, path: str) -> dict[str, Any]:
        """HEAD /containers/{id}/archive: the ContainerPathStat of path."""
        rec = self._lookup(ref)
        with self._mounts.hold(rec) as root:
            return dict(chroot_archive.stat(_view(rec, root), ref, path)["stat"])

    def get(self, ref: str, path: str) -> tuple[dict[str, Any], Iterator[bytes]]:
        """GET /containers/{id}/archive: (stat, tar stream).  The stat is taken and the rootfs
        mounted before this returns; the stream releases the mount when it ends.  Entries are
        rebased onto the requested base name (``/dir/.`` gives ``./...``), as dockerd does."""
        rec = self._lookup(ref)
        ctx = self._mounts.hold(rec)
        root = _view(rec, ctx.__enter__())
        try:
            info = chroot_archive.stat(root, ref, path)
        except BaseException as e:
            ctx.__exit__(type(e), e, e.__traceback__)
            raise
        source_dir, source_base = os.path.split(os.path.normpath(info["resolved"]))
        rebase = go_base(info["abs"])
        self._publish(rec, "archive-path")

        def stream() -> Iterator[bytes]:
            try:
                yield from chroot_archive.tar(root, source_dir, source_base, rebase, self._idmap)
            finally:
                ctx.__exit__(None, None, None)
        return dict(info["stat"]), stream()

    def put(self, ref: str, path: str, stream: BinaryIO, no_overwrite_dir_non_dir: bool = False,
            copy_uid_gid: bool = False) -> None:
        """PUT /containers/{id}/archive: extract a tar into the directory path (a symlink to a
        directory is followed, in the container's scope)."""
        rec = self._lookup(ref)
        with self._mounts.hold(rec) as mounted:
            root = _view(rec, mounted)
            info = chroot_archive.stat(root, ref, path)
            st = info["stat"]
            dest = os.path.normpath(info["resolved"])   # a container path: stat ran chrooted
            if st["linkTarget"]:
                dest = st["linkTarget"]
                st = chroot_archive.stat(root, ref, dest)["stat"]
            if not st["mode"] & MODE_DIR:
                raise TugboatError("extraction point is not a directory")   # a 500 in dockerd too
            if rec.host_config.get("ReadonlyRootfs"):
                raise InvalidArgument("container rootfs is marked read-only")
            user = (rec.config.get("User") or "") if copy_uid_gid else None
            chroot_archive.untar(root, stream, dest, no_overwrite_dir_non_dir, user, self._idmap)
        self._publish(rec, "extract-to-dir")
