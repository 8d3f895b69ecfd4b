"""The archive API behind ``docker cp``: stat, tar out and extract into a container's rootfs.

Mirrors dockerd 20.10 daemon/archive.go (ContainerStatPath, ContainerArchivePath,
ContainerExtractToDir): the path is resolved in the container (the parent directory with
all symlinks followed in the rootfs' scope, the last element not followed), a tar of it is
rebased onto the requested base name (so ``/dir/.`` yields ``./...`` entries that the client
rebases), and an uploaded tar is extracted into a directory.

Safety, in two layers: every operation runs in a child process chrooted into the rootfs
(``archive_chroot``: no race with a running container can lead the kernel out of it), and in
there paths are still resolved by ``archive_paths.follow_in_scope`` and uploads unpacked by the
store's hardened unpacker (store/untar.py): names are contained, no symlink is followed,
hardlinks must stay inside the archive, device nodes are refused.  Stopped containers get their rootfs mounted for the operation (reference
counted, so two concurrent copies do not unmount under each other).
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import tarfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO

from tugboat.engine.archive_paths import (
    MODE_DIR,
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


def stat_path(root: str, ref: str, path: str) -> dict[str, Any]:
    """container.ResolvePath + StatPath: {"stat", "resolved" (host path, last element not
    followed), "abs" (the cleaned container path)}."""
    abs_path = abs_container_path(path)
    parent_path, _, base = abs_path.rpartition("/")
    parent = host_path(root, follow_in_scope(root, parent_path or "/"))
    resolved = os.path.join(parent, base) if base else parent.rstrip("/") + "/"
    try:
        st = os.lstat(resolved)
    except FileNotFoundError:
        raise NotFound(f"Could not find the file {path} in container {ref}") from None
    except NotADirectoryError:   # "file/": dockerd passes the lstat error on (a 500)
        raise TugboatError(f"lstat {abs_path}: not a directory") from None
    link = follow_in_scope(root, abs_path) if stat.S_ISLNK(st.st_mode) else ""
    return {"stat": path_stat(go_base(abs_path), st, link), "resolved": resolved, "abs": abs_path}


_ERRORS: dict[str, type[TugboatError]] = {"notfound": NotFound, "invalid": InvalidArgument}


def _helper_error(proc: subprocess.Popen[bytes], stderr: bytes) -> TugboatError:
    try:
        info = json.loads(stderr.decode(errors="replace").strip().splitlines()[-1])
        return _ERRORS.get(info.get("kind"), TugboatError)(str(info.get("message")))
    except (ValueError, IndexError, AttributeError):
        return TugboatError(f"archive helper failed (exit {proc.returncode}): {stderr[-400:]!r}")


def _spawn(root: str, op: str, args: dict[str, Any], stdin: Any = subprocess.DEVNULL) -> subprocess.Popen[bytes]:
    """root is a directory, or "<cid>@/proc/<pid>/root" for a running container's own view."""
    return subprocess.Popen([sys.executable, "-m", "tugboat.engine.archive_chroot", root, op, json.dumps(args)],
                            stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE, close_fds=True)


def chroot_stat(root: str, ref: str, path: str) -> dict[str, Any]:
    proc = _spawn(root, "stat", {"ref": ref, "path": path})
    out, err = proc.communicate(timeout=120)
    if proc.returncode != 0:
        raise _helper_error(proc, err)
    return dict(json.loads(out))


def chroot_tar(root: str, source_dir: str, source_base: str, rebase: str) -> Iterator[bytes]:
    """The tar from the chrooted helper, streamed; a failure cuts the stream (binary body)."""
    proc = _spawn(root, "tar", {"dir": source_dir, "base": source_base, "rebase": rebase})
    assert proc.stdout is not None and proc.stderr is not None
    try:
        while True:
            chunk = os.read(proc.stdout.fileno(), 1 << 16)
            if not chunk:
                break
            yield chunk
        err = proc.stderr.read()
        if proc.wait() != 0:
            raise _helper_error(proc, err)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()
        proc.stderr.close()


def chroot_untar(root: str, stream: BinaryIO, dest: str, no_overwrite: bool, user: str | None) -> None:
    proc = _spawn(root, "untar", {"dest": dest, "no_overwrite": no_overwrite, "user": user},
                  stdin=subprocess.PIPE)
    assert proc.stdin is not None and proc.stderr is not None
    try:
        while True:
            chunk = stream.read(1 << 16)
            if not chunk:
                break
            proc.stdin.write(chunk)
    except BrokenPipeError:
        pass   # the helper gave up: its error follows
    finally:
        try:
            proc.stdin.close()
        except BrokenPipeError:
            pass
    err = proc.stderr.read()
    proc.stderr.close()
    if proc.wait() != 0:
        raise _helper_error(proc, err)


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
    def _view(c: Any, root: str) -> str:
        """Where the helper chroots: a running container's root *in its own mount namespace*
        (/proc/<pid>/root: its volumes and /etc/hosts, hostname, resolv.conf included, as
        dockerd mounts them for cp), else the mounted rootfs."""
        st = c.rec.state
        if st.status in (RUNNING, PAUSED) and st.pid:
            return f"{c.rec.id}@/proc/{int(st.pid)}/root"
        return root

    def archive_stat(self, ref: str, path: str) -> dict[str, Any]:
        """HEAD /containers/{id}/archive: the ContainerPathStat of path."""
        c = self._get(ref)
        with self._rootfs(c) as root:
            return dict(chroot_stat(self._view(c, root), ref, path)["stat"])

    def archive_get(self, ref: str, path: str) -> tuple[dict[str, Any], Iterator[bytes]]:
        """GET /containers/{id}/archive: (stat, tar stream).  The stat is taken and the rootfs
        mounted before this returns; the stream releases the mount when it ends.  Entries are
        rebased onto the requested base name (``/dir/.`` gives ``./...``), as dockerd does."""
        c = self._get(ref)
        ctx = self._rootfs(c)
        root = self._view(c, ctx.__enter__())
        try:
            info = chroot_stat(root, ref, path)
        except BaseException as e:
            ctx.__exit__(type(e), e, e.__traceback__)
            raise
        source_dir, source_base = os.path.split(os.path.normpath(info["resolved"]))
        rebase = go_base(info["abs"])
        self._publish(c.rec, "archive-path")

        def stream() -> Iterator[bytes]:
            try:
                yield from chroot_tar(root, source_dir, source_base, rebase)
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
            info = chroot_stat(root, ref, path)
            st = info["stat"]
            dest = os.path.normpath(info["resolved"])   # a container path: the helper ran chrooted
            if st["linkTarget"]:
                dest = st["linkTarget"]
                st = chroot_stat(root, ref, dest)["stat"]
            if not st["mode"] & MODE_DIR:
                raise TugboatError("extraction point is not a directory")   # a 500 in dockerd too
            if rec.host_config.get("ReadonlyRootfs"):
                raise InvalidArgument("container rootfs is marked read-only")
            user = (rec.config.get("User") or "") if copy_uid_gid else None
            chroot_untar(root, stream, dest, no_overwrite_dir_non_dir, user)
        self._publish(rec, "extract-to-dir")
