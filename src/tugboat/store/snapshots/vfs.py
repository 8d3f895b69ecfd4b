"""vfs: no kernel help; a container's rootfs is a full copy of its image, as Docker's vfs.

Choice: layers are *stored* like overlay2's (one directory per diff, shared by every image) but
with whiteouts kept literally as the tar has them (``.wh.<name>`` and ``.wh..wh..opq`` empty files),
so unpacking needs no special file types and no xattrs.  ``create_rw`` merges the chain bottom ->
top (``base.lower_tree``: whiteouts and opaque markers hide lower content) and copies the result
once into ``<rw>/rootfs``, keeping owners, modes, times, xattrs, symlinks and hardlinks.  Changes
are found as Docker's naive diff driver does: by comparing the rootfs with the lower view.
"""

from __future__ import annotations

import os
import shutil
import stat
import time
from collections.abc import Iterator
from pathlib import Path

from tugboat.store.idmap import IdMap
from tugboat.store.snapshots.base import (
    Change,
    Mount,
    Node,
    changes_against,
    iter_tree,
    lower_tree,
)
from tugboat.store.tarstream import TarWriter


class VfsDriver:
    name = "vfs"
    overlay_whiteouts = False

    def __init__(self, home: Path, idmap: IdMap | None = None) -> None:
        self.home = home
        self.idmap = idmap

    def layer_dir(self, cache_id: str) -> Path:
        return self.home / "l" / cache_id

    def check_depth(self, rw_dir: Path, lowers: list[Path]) -> None:
        return None

    def create_rw(self, rw_dir: Path, lowers: list[Path]) -> None:
        rootfs = rw_dir / "rootfs"
        rootfs.mkdir()
        os.chmod(rootfs, 0o755)
        tree = lower_tree(lowers, overlay=False)
        if lowers:
            _copy_meta(tree.path, os.fspath(rootfs), tree.st, set_times=False)
        elif self.idmap is not None:
            os.chown(rootfs, *self.idmap.root)
        links: dict[tuple[int, int], str] = {}
        dirs: list[tuple[str, Node]] = []
        for rel, node in iter_tree(tree):
            dst = os.path.join(rootfs, rel)
            st = node.st
            fmt = stat.S_IFMT(st.st_mode)
            key = (st.st_dev, st.st_ino)
            if fmt == stat.S_IFREG and st.st_nlink > 1 and key in links:
                os.link(links[key], dst)
                continue
            if fmt == stat.S_IFDIR:
                os.mkdir(dst, 0o700)
                dirs.append((dst, node))
                continue
            if fmt == stat.S_IFREG:
                _copy_file(node.path, dst)
                if st.st_nlink > 1:
                    links[key] = dst
            elif fmt == stat.S_IFLNK:
                os.symlink(os.readlink(node.path), dst)
            else:
                os.mknod(dst, fmt | 0o600, st.st_rdev)
            _copy_meta(node.path, dst, st)
        for dst, node in reversed(dirs):     # children first: their creation changed the times
            _copy_meta(node.path, dst, node.st)
        if lowers:
            os.utime(rootfs, ns=(tree.st.st_atime_ns, tree.st.st_mtime_ns))

    def mounts(self, rw_dir: Path, lowers: list[Path]) -> list[Mount]:
        return [Mount("bind", os.fspath(rw_dir / "rootfs"), ["rbind", "rw"])]

    def changes(self, rw_dir: Path, lowers: list[Path]) -> list[Change]:
        return changes_against(lower_tree(lowers, overlay=False), rw_dir / "rootfs")

    def diff(self, rw_dir: Path, lowers: list[Path]) -> Iterator[bytes]:
        """Docker's ExportChanges: changed paths as they are now, deletions as ``.wh.`` files."""
        w = TarWriter(self.idmap)
        rootfs = os.fspath(rw_dir / "rootfs")
        now = int(time.time())
        for kind, path in sorted(self.changes(rw_dir, lowers), key=lambda c: c[1]):
            rel = path.lstrip("/")
            if kind == "D":
                yield w.whiteout(rel, mtime=now)
                continue
            try:
                yield from w.entry(os.path.join(rootfs, rel), rel)
            except FileNotFoundError:
                continue
        yield w.end()

    def size(self, rw_dir: Path, lowers: list[Path]) -> int:
        rootfs = os.fspath(rw_dir / "rootfs")
        seen: set[tuple[int, int]] = set()
        total = 0
        for kind, path in self.changes(rw_dir, lowers):
            if kind == "D":
                continue
            try:
                st = os.lstat(os.path.join(rootfs, path.lstrip("/")))
            except FileNotFoundError:
                continue
            if stat.S_ISREG(st.st_mode) and (st.st_dev, st.st_ino) not in seen:
                seen.add((st.st_dev, st.st_ino))
                total += st.st_size
        return total


def _copy_file(src: str, dst: str) -> None:
    fd = os.open(src, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    try:
        out = os.open(dst, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
        try:
            with os.fdopen(fd, "rb", closefd=False) as fi, os.fdopen(out, "wb", closefd=False) as fo:
                shutil.copyfileobj(fi, fo, 1 << 20)
        finally:
            os.close(out)
    finally:
        os.close(fd)


def _copy_meta(src: str, dst: str, st: os.stat_result, set_times: bool = True) -> None:
    """Owner, then xattrs and mode (chown clears setuid and capabilities), then times."""
    os.chown(dst, st.st_uid, st.st_gid, follow_symlinks=False)
    if not stat.S_ISLNK(st.st_mode):
        try:
            names = os.listxattr(src, follow_symlinks=False)
        except OSError:
            names = []
        for name in names:
            if name.startswith("trusted.overlay."):
                continue
            try:
                os.setxattr(dst, name, os.getxattr(src, name, follow_symlinks=False), follow_symlinks=False)
            except OSError:
                pass
        os.chmod(dst, stat.S_IMODE(st.st_mode))
    if set_times:
        os.utime(dst, ns=(st.st_atime_ns, st.st_mtime_ns), follow_symlinks=False)
