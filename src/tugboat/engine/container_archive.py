"""The archive API behind ``docker cp``: stat, tar out and extract into a container's rootfs.

Mirrors dockerd 20.10 daemon/archive.go (ContainerStatPath, ContainerArchivePath,
ContainerExtractToDir): the path is resolved in the container (the parent directory with
all symlinks followed in the rootfs' scope, the last element not followed), a tar of it is
rebased onto the requested base name (so ``/dir/.`` yields ``./...`` entries that the client
rebases), and an uploaded tar is extracted into a directory.

Safety: paths are resolved by ``archive_paths.follow_in_scope`` (a chroot's rules) and the
upload is unpacked by the store's hardened unpacker (store/untar.py): names are contained,
no symlink is followed by the host, hardlinks must stay inside the archive, device nodes
are refused.  Stopped containers get their rootfs mounted for the operation (reference
counted, so two concurrent copies do not unmount under each other).
"""

from __future__ import annotations

import os
import stat
import tarfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO

from tugboat.engine.archive_paths import (
    abs_container_path,
    follow_in_scope,
    go_base,
    host_path,
    path_stat,
)
from tugboat.engine.container_state import PAUSED, RUNNING
from tugboat.errors import InvalidArgument, NotFound, TugboatError
from tugboat.store import untar
from tugboat.store.tarstream import TarWriter, walk


class _NoSplit:
    """The unpacker's tar-split recorder, unused here: nothing has to be reassembled."""

    files = 0

    def raw(self, data: bytes) -> None:
        return None

    def file(self, path: str, size: int, crc: int) -> int:
        self.files += 1
        return self.files - 1

    def move_to_blob(self, index: int, src: str) -> None:
        os.unlink(src)   # a later entry of the same archive replaces this file

    def close(self) -> None:
        return None


class _Extractor(untar._Unpacker):
    """The layer unpacker with dockerd's copy options: NoOverwriteDirNonDir and ChownOpts."""

    def __init__(self, root: str, no_overwrite_dir_non_dir: bool, chown: tuple[int, int] | None) -> None:
        super().__init__(Path(root), _NoSplit(), overlay_whiteouts=False)  # type: ignore[arg-type]
        self.no_overwrite = no_overwrite_dir_non_dir
        self.chown = chown
        self._new_type = ""

    def entry(self, info: tarfile.TarInfo, pax: dict[str, bytes], reader: Any, payload: int) -> None:
        self._new_type = info.type.decode() if isinstance(info.type, bytes) else str(info.type)
        super().entry(info, pax, reader, payload)

    def remove(self, rel: str, st: os.stat_result) -> None:
        if self.no_overwrite:
            new_is_dir = self._new_type == tarfile.DIRTYPE.decode()
            if stat.S_ISDIR(st.st_mode) and not new_is_dir:
                raise InvalidArgument(f'cannot overwrite directory "/{rel}" with non-directory')
            if not stat.S_ISDIR(st.st_mode) and new_is_dir:
                raise InvalidArgument(f'cannot overwrite non-directory "/{rel}" with directory')
        super().remove(rel, st)

    def meta(self, rel: str, info: tarfile.TarInfo, pax: dict[str, bytes]) -> None:
        if self.chown is not None:
            info.uid, info.gid = self.chown
        super().meta(rel, info, pax)


def extract(stream: BinaryIO, dest: str, no_overwrite_dir_non_dir: bool = False,
            chown: tuple[int, int] | None = None) -> None:
    """Unpack a (possibly compressed) tar into the existing, symlink-free directory ``dest``."""
    reader = untar._Reader(untar.decompressed(stream))
    up = _Extractor(dest, no_overwrite_dir_non_dir, chown)
    try:
        untar._run(reader, up.split, up)
        up.finish()
    except OSError as e:
        if e.errno in untar._ARCHIVE_ERRNOS:
            raise InvalidArgument(f"invalid archive: {e.strerror}: {e.filename}") from e
        raise


def tar_rebased(source_dir: str, source_base: str, rebase: str) -> Iterator[bytes]:
    """TarWithOptions(source_dir, IncludeFiles=[source_base], RebaseNames={source_base: rebase})."""
    w = TarWriter()
    top = os.path.join(source_dir, source_base)
    prefix = "" if rebase == "/" else rebase   # the root: "/", "/bin/", ... as dockerd names them

    def name(rel: str) -> str:
        return prefix + ("/" + rel if rel else "")

    try:
        yield from w.entry(top, name(""))
    except FileNotFoundError:
        pass
    if stat.S_ISDIR(os.lstat(top).st_mode):
        for rel, path, _st in walk(top):
            try:
                yield from w.entry(path, name(rel))
            except FileNotFoundError:
                continue
    yield w.end()


class ContainerArchive:
    """Mixed into ContainerService; uses its lookup, layers, runtime and events."""

    _layers: Any
    _runtime: Any

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
    def _resolve(root: str, path: str) -> tuple[str, str]:
        """container.ResolvePath: (host path with the last element unresolved, absolute path)."""
        abs_path = abs_container_path(path)
        head, _, base = abs_path.rpartition("/")
        parent = host_path(root, follow_in_scope(root, head or "/"))
        return os.path.join(parent, base) if base else parent + "/", abs_path

    def _stat(self, root: str, ref: str, path: str) -> tuple[dict[str, Any], str, str]:
        resolved, abs_path = self._resolve(root, path)
        try:
            st = os.lstat(resolved)
        except FileNotFoundError:
            raise NotFound(f"Could not find the file {path} in container {ref}") from None
        except NotADirectoryError:   # "file/": dockerd passes the lstat error on (a 500)
            raise TugboatError(f"lstat {abs_path}: not a directory") from None
        link = follow_in_scope(root, abs_path) if stat.S_ISLNK(st.st_mode) else ""
        return path_stat(go_base(abs_path), st, link), resolved, abs_path

    def archive_stat(self, ref: str, path: str) -> dict[str, Any]:
        """HEAD /containers/{id}/archive: the ContainerPathStat of path."""
        c = self._get(ref)
        with self._rootfs(c) as root:
            return self._stat(root, ref, path)[0]

    def archive_get(self, ref: str, path: str) -> tuple[dict[str, Any], Iterator[bytes]]:
        """GET /containers/{id}/archive: (stat, tar stream).  The stat is taken and the rootfs
        mounted before this returns; the stream releases the mount when it ends."""
        c = self._get(ref)
        ctx = self._rootfs(c)
        root = ctx.__enter__()
        try:
            ps, resolved, abs_path = self._stat(root, ref, path)
        except BaseException as e:
            ctx.__exit__(type(e), e, e.__traceback__)
            raise
        resolved = os.path.normpath(resolved)
        source_dir, source_base = os.path.split(resolved)
        rebase = go_base(abs_path)
        self._publish(c.rec, "archive-path")

        def stream() -> Iterator[bytes]:
            try:
                yield from tar_rebased(source_dir, source_base, rebase)
            finally:
                ctx.__exit__(None, None, None)
        return ps, stream()

    def archive_put(self, ref: str, path: str, stream: BinaryIO, no_overwrite_dir_non_dir: bool = False,
                    copy_uid_gid: bool = False) -> None:
        """PUT /containers/{id}/archive: extract a tar into the directory path (a symlink to a
        directory is followed, in the container's scope)."""
        c = self._get(ref)
        rec = c.rec
        with self._rootfs(c) as root:
            target = follow_in_scope(root, abs_container_path(path))
            dest = host_path(root, target)
            try:
                st = os.lstat(dest)
            except (FileNotFoundError, NotADirectoryError):
                raise NotFound(f"Could not find the file {path} in container {ref}") from None
            if not stat.S_ISDIR(st.st_mode):
                raise TugboatError("extraction point is not a directory")   # a 500 in dockerd too
            if rec.host_config.get("ReadonlyRootfs"):
                raise InvalidArgument("container rootfs is marked read-only")
            chown = None
            if copy_uid_gid:
                from tugboat.runtime.users import resolve_user

                u = resolve_user(Path(root), rec.config.get("User") or "")
                chown = (u.uid, u.gid)
            extract(stream, dest, no_overwrite_dir_non_dir, chown)
        self._publish(rec, "extract-to-dir")
