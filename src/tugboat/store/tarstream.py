"""Streaming tar writer for directory trees (``docker export``, ``rw_diff``).

Output is produced block by block so a multi-gigabyte rootfs never sits in memory.  Headers are built
by ``tarfile.TarInfo.tobuf`` in PAX format, which only adds an extended header when a field does not
fit ustar (long names, big ids, non-ASCII) - like Go's archive/tar does for Docker.  Symlinks are
never followed; a second name of an already written inode becomes a hardlink entry; sockets are
skipped (Docker does the same); ``security.capability`` is kept as a ``SCHILY.xattr`` record.
"""

from __future__ import annotations

import functools
import grp
import io
import os
import pwd
import stat
import tarfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import BinaryIO, cast

from tugboat.errors import TugboatError
from tugboat.store.idmap import IdMap

BLOCK = 512
CHUNK = 1 << 20
WHITEOUT_PREFIX = ".wh."
WHITEOUT_OPAQUE = ".wh..wh..opq"
CAPABILITY_XATTR = "security.capability"


def _pad(size: int) -> bytes:
    rem = size % BLOCK
    return b"\0" * (BLOCK - rem) if rem else b""


def encode_header(info: tarfile.TarInfo) -> bytes:
    """One entry's header bytes (with a PAX record in front when needed)."""
    return info.tobuf(tarfile.PAX_FORMAT, "utf-8", "surrogateescape")


def _read_capability(path: str) -> bytes | None:
    try:
        return os.getxattr(path, CAPABILITY_XATTR, follow_symlinks=False)
    except OSError:
        return None


@functools.lru_cache(maxsize=256)
def _user_name(uid: int) -> str:
    """Host name of an id, as Go's tar.FileInfoHeader fills Uname (what ``docker export`` shows)."""
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return ""


@functools.lru_cache(maxsize=256)
def _group_name(gid: int) -> str:
    try:
        return grp.getgrgid(gid).gr_name
    except KeyError:
        return ""


def _info_from_stat(name: str, path: str, st: os.stat_result) -> tarfile.TarInfo | None:
    info = tarfile.TarInfo(name)
    info.mode = stat.S_IMODE(st.st_mode)
    info.uid, info.gid = st.st_uid, st.st_gid
    info.uname, info.gname = _user_name(st.st_uid), _group_name(st.st_gid)
    info.mtime = int(st.st_mtime)
    fmt = stat.S_IFMT(st.st_mode)
    if fmt == stat.S_IFREG:
        info.type, info.size = tarfile.REGTYPE, st.st_size
    elif fmt == stat.S_IFDIR:
        info.type = tarfile.DIRTYPE
        info.name = name.rstrip("/") + "/"
    elif fmt == stat.S_IFLNK:
        info.type, info.linkname = tarfile.SYMTYPE, os.readlink(path)
    elif fmt in (stat.S_IFCHR, stat.S_IFBLK):
        info.type = tarfile.CHRTYPE if fmt == stat.S_IFCHR else tarfile.BLKTYPE
        info.devmajor, info.devminor = os.major(st.st_rdev), os.minor(st.st_rdev)
    elif fmt == stat.S_IFIFO:
        info.type = tarfile.FIFOTYPE
    else:
        return None  # sockets and the like are not archived
    if fmt != stat.S_IFLNK:
        cap = _read_capability(path)
        if cap is not None:
            info.pax_headers = {"SCHILY.xattr." + CAPABILITY_XATTR: cap.decode("utf-8", "surrogateescape")}
    return info


class TarWriter:
    """Builds a tar stream entry by entry; every method returns the bytes to send next.
    With ``idmap`` (userns-remap) the files' host ids are written as the container's ids."""

    def __init__(self, idmap: IdMap | None = None) -> None:
        self._inodes: dict[tuple[int, int], str] = {}
        self._idmap = idmap

    def entry(self, path: str, name: str) -> Iterator[bytes]:
        """Archive the file at ``path`` (not followed) under ``name``; yields header then payload."""
        st = os.lstat(path)
        info = _info_from_stat(name, path, st)
        if info is None:
            return
        if self._idmap is not None:   # as the container sees it (e.g. a host-owned bind mount)
            info.uid, info.gid = self._idmap.seen_inside(info.uid, info.gid)
        if info.type == tarfile.REGTYPE and st.st_nlink > 1:
            key = (st.st_dev, st.st_ino)
            first = self._inodes.get(key)
            if first is not None:
                info.type, info.linkname, info.size = tarfile.LNKTYPE, first, 0
            else:
                self._inodes[key] = name
        yield encode_header(info)
        if info.type == tarfile.REGTYPE and info.size:
            yield from _payload(path, info.size)

    def whiteout(self, name: str, uid: int = 0, gid: int = 0, mtime: int = 0, mode: int = 0) -> bytes:
        """A Docker/OCI whiteout entry: an empty regular file ``.wh.<base>`` next to the removed name."""
        head, _, base = name.rstrip("/").rpartition("/")
        info = tarfile.TarInfo((head + "/" if head else "") + WHITEOUT_PREFIX + base)
        if self._idmap is not None and (uid, gid) != (0, 0):   # overlayfs whiteouts: the mounter's (0)
            uid, gid = self._idmap.seen_inside(uid, gid)
        info.mode, info.uid, info.gid, info.mtime = mode, uid, gid, mtime
        info.uname = info.gname = ""
        return encode_header(info)

    @staticmethod
    def end() -> bytes:
        """Two zero blocks close the archive (no record padding, as Go writes it)."""
        return b"\0" * (2 * BLOCK)


def _payload(path: str, size: int) -> Iterator[bytes]:
    """Exactly ``size`` bytes of the file, then padding. A file that shrank since it was stat'ed
    fails the archive, as Go's archive/tar does for dockerd ("missed writing N bytes"): zero
    bytes would be content the file never had."""
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    try:
        left = size
        while left:
            chunk = os.read(fd, min(CHUNK, left))
            if not chunk:
                raise TugboatError(f"archive/tar: missed writing {left} bytes")
            yield chunk
            left -= len(chunk)
    finally:
        os.close(fd)
    pad = _pad(size)
    if pad:
        yield pad


def walk(root: Path | str) -> Iterator[tuple[str, str, os.stat_result]]:
    """(relative name, absolute path, lstat) of every entry below ``root``, parents first, sorted by
    name within a directory, never descending through symlinks.  Iterative (a stack of directory
    listings): a hostile layer may nest directories deeper than Python's recursion limit."""
    stack = [_listing("", os.fspath(root))]
    while stack:
        item = next(stack[-1], None)
        if item is None:
            stack.pop()
            continue
        yield item
        rel, path, st = item
        if stat.S_ISDIR(st.st_mode):
            stack.append(_listing(rel, path))


def _listing(rel: str, base: str) -> Iterator[tuple[str, str, os.stat_result]]:
    try:
        names = sorted(os.listdir(base))
    except (FileNotFoundError, NotADirectoryError):
        return
    for n in names:
        p = os.path.join(base, n)
        try:
            st = os.lstat(p)
        except FileNotFoundError:
            continue
        yield (f"{rel}/{n}" if rel else n), p, st


def tar_paths(root: Path | str, names: Iterable[str]) -> Iterator[bytes]:
    """A tar of the given relative names under ``root`` (in the given order), closed."""
    w = TarWriter()
    for n in names:
        try:
            yield from w.entry(os.path.join(os.fspath(root), n), n)
        except FileNotFoundError:
            continue
    yield w.end()


def tar_directory(root: Path, idmap: IdMap | None = None) -> Iterator[bytes]:
    """A tar of everything below ``root`` (the root itself is not an entry), as ``docker export``;
    with ``idmap`` (userns-remap) the ids are the container's."""
    w = TarWriter(idmap)
    for rel, path, _st in walk(root):
        try:
            yield from w.entry(path, rel)
        except FileNotFoundError:
            continue
    yield w.end()


class IteratorReader(io.RawIOBase):
    """A read-only binary file over an iterator of byte chunks: feeds ``rw_diff`` or ``tar``
    output to anything that wants a stream (``LayerStore.register`` for ``docker commit``)."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._it = iter(chunks)
        self._buf = b""

    def readable(self) -> bool:
        return True

    def readinto(self, b: bytearray | memoryview) -> int:  # type: ignore[override]
        while not self._buf:
            nxt = next(self._it, None)
            if nxt is None:
                return 0
            self._buf = nxt
        n = min(len(b), len(self._buf))
        b[:n] = self._buf[:n]
        self._buf = self._buf[n:]
        return n


def iter_reader(chunks: Iterable[bytes]) -> BinaryIO:
    """``IteratorReader`` buffered and typed as the binary stream ``register`` takes."""
    return cast(BinaryIO, io.BufferedReader(IteratorReader(chunks), 1 << 16))
