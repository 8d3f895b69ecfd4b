"""The archive API behind ``docker cp``: stat, tar out and extract into a container's rootfs.

Mirrors dockerd 20.10 daemon/archive.go (ContainerStatPath, ContainerArchivePath,
ContainerExtractToDir) for what is the daemon's to decide: which root a container's paths are
resolved in (a running container's own mount namespace, else its rootfs, mounted for the
operation and reference counted so two concurrent copies do not unmount under each other),
whether the destination may be written, and the events.  The file work itself (path rules in
store/rootfs_archive.py) runs in a child chrooted into that root (runtime/chroot_archive.py), so
no race with a running container can lead the kernel out of it.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, BinaryIO

from tugboat.engine.container_state import PAUSED, RUNNING
from tugboat.errors import InvalidArgument, TugboatError
from tugboat.runtime import chroot_archive
from tugboat.store.rootfs_archive import MODE_DIR, go_base


class ContainerArchive:
    """Mixed into ContainerService; uses its lookup, layers, runtime and events."""

    _layers: Any
    _runtime: Any
    idmap: Any   # userns-remap: ids in the tars are the container's, files on disk the host's

    def _get(self, ref: str) -> Any: ...

    def _publish(self, rec: Any, action: str, extra: dict[str, str] | None = None) -> None: ...

    def _archive_init(self) -> None:
        self._archive_lock = threading.Lock()
        self._archive_mounts: dict[str, int] = {}

    @contextmanager
    def _rootfs(self, c: Any) -> Iterator[str]:
        """The container's root filesystem on the host: the live mount of a running container,
        else a temporary mount shared by concurrent archive calls."""
        rec = c.rec
        if rec.state.status in (RUNNING, PAUSED):
            yield os.fspath(self._runtime.rootfs(rec.id))
            return
        with self._archive_lock:
            if self._archive_mounts.get(rec.id, 0) == 0:
                path = self._runtime.mount_rootfs(rec.id, list(self._layers.rw_mounts(rec.id)))
            else:
                path = self._runtime.rootfs(rec.id)
            self._archive_mounts[rec.id] = self._archive_mounts.get(rec.id, 0) + 1
        try:
            yield os.fspath(path)
        finally:
            with self._archive_lock:
                self._archive_mounts[rec.id] -= 1
                if self._archive_mounts[rec.id] == 0:
                    del self._archive_mounts[rec.id]
                    if not rec.state.running:
                        self._runtime.unmount_rootfs(rec.id)

    @staticmethod
    def _view(c: Any, root: str) -> str:
        """Where the operation runs: a running container's root in its own mount namespace (what
        its processes see, volumes included), else the mounted rootfs."""
        st = c.rec.state
        if st.status in (RUNNING, PAUSED) and st.pid:
            return chroot_archive.running_root(c.rec.id, st.pid)
        return root

    def archive_stat(self, ref: str, path: str) -> dict[str, Any]:
        """HEAD /containers/{id}/archive: the ContainerPathStat of path."""
        c = self._get(ref)
        with self._rootfs(c) as root:
            return dict(chroot_archive.stat(self._view(c, root), ref, path)["stat"])

    def archive_get(self, ref: str, path: str) -> tuple[dict[str, Any], Iterator[bytes]]:
        """GET /containers/{id}/archive: (stat, tar stream).  The stat is taken and the rootfs
        mounted before this returns; the stream releases the mount when it ends.  Entries are
        rebased onto the requested base name (``/dir/.`` gives ``./...``), as dockerd does."""
        c = self._get(ref)
        ctx = self._rootfs(c)
        root = self._view(c, ctx.__enter__())
        try:
            info = chroot_archive.stat(root, ref, path)
        except BaseException as e:
            ctx.__exit__(type(e), e, e.__traceback__)
            raise
        source_dir, source_base = os.path.split(os.path.normpath(info["resolved"]))
        rebase = go_base(info["abs"])
        self._publish(c.rec, "archive-path")

        def stream() -> Iterator[bytes]:
            try:
                yield from chroot_archive.tar(root, source_dir, source_base, rebase, self.idmap)
            finally:
                ctx.__exit__(None, None, None)
        return dict(info["stat"]), stream()

    def archive_put(self, ref: str, path: str, stream: BinaryIO, no_overwrite_dir_non_dir: bool = False,
                    copy_uid_gid: bool = False) -> None:
        """PUT /containers/{id}/archive: extract a tar into the directory path (a symlink to a
        directory is followed, in the container's scope)."""
        c = self._get(ref)
        rec = c.rec
        with self._rootfs(c) as mounted:
            root = self._view(c, mounted)
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
            chroot_archive.untar(root, stream, dest, no_overwrite_dir_non_dir, user, self.idmap)
        self._publish(rec, "extract-to-dir")
