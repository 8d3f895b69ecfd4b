"""docker cp's rules on a container's root filesystem: path resolution, stat, tar out, extract in.

dockerd 20.10 daemon/archive.go (ContainerStatPath, ContainerArchivePath, ContainerExtractToDir)
reduced to what acts on a directory tree and tar streams.  They live here, below the engine and
the runtime, because both need them: runtime/chroot_archive.py runs them inside a chroot of the
rootfs (so that a running container cannot race a symlink swap past them), and the engine reads
the results (Go's FileMode bits, Docker's trailing "/" and "/." rules).

Every path is still resolved here as a chroot would (moby's pkg/symlink FollowSymlinkInScope:
absolute targets restart at the root, ``..`` stops at it), so the rules hold on a plain
directory too: ``/evil -> /etc`` leads to ``<root>/etc``, never to the host's ``/etc``.  Uploads
go through the layer unpacker (untar.py): names are contained, no symlink is followed,
hardlinks must stay inside the archive, device nodes are refused.
"""

from __future__ import annotations

import os
import posixpath
import stat
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

from tugboat.api.timefmt import rfc3339nano
from tugboat.errors import InvalidArgument, NotFound, TugboatError
from tugboat.fsscope import resolve_in_scope
from tugboat.store import untar
from tugboat.store.idmap import IdMap
from tugboat.store.tarstream import TarWriter, walk

# Go's os.FileMode type bits
MODE_DIR = 1 << 31
MODE_SYMLINK = 1 << 27
MODE_DEVICE = 1 << 26
MODE_NAMED_PIPE = 1 << 25
MODE_SOCKET = 1 << 24
MODE_SETUID = 1 << 23
MODE_SETGID = 1 << 22
MODE_CHAR_DEVICE = 1 << 21
MODE_STICKY = 1 << 20


def go_file_mode(st_mode: int) -> int:
    """os.FileMode of an lstat result (fs.FileMode fillFileStatFromSys)."""
    mode = st_mode & 0o777
    fmt = stat.S_IFMT(st_mode)
    mode |= {stat.S_IFDIR: MODE_DIR, stat.S_IFLNK: MODE_SYMLINK, stat.S_IFBLK: MODE_DEVICE,
             stat.S_IFCHR: MODE_DEVICE | MODE_CHAR_DEVICE, stat.S_IFIFO: MODE_NAMED_PIPE,
             stat.S_IFSOCK: MODE_SOCKET}.get(fmt, 0)
    if st_mode & stat.S_ISUID:
        mode |= MODE_SETUID
    if st_mode & stat.S_ISGID:
        mode |= MODE_SETGID
    if st_mode & stat.S_ISVTX:
        mode |= MODE_STICKY
    return mode


def path_stat(name: str, st: os.stat_result, link_target: str = "") -> dict[str, Any]:
    """types.ContainerPathStat."""
    return {"name": name, "size": st.st_size, "mode": go_file_mode(st.st_mode),
            "mtime": rfc3339nano(st.st_mtime_ns), "linkTarget": link_target}


def go_base(p: str) -> str:
    """filepath.Base: trailing slashes dropped, "" -> ".", all slashes -> "/"."""
    if p == "":
        return "."
    p = p.rstrip("/")
    if p == "":
        return "/"
    return p.rsplit("/", 1)[-1]


def preserve_trailing(cleaned: str, original: str) -> str:
    """archive.PreserveTrailingDotOrSeparator."""
    if original.endswith("/.") or original == ".":
        if not cleaned.endswith("/."):
            cleaned = cleaned.rstrip("/") + "/." if cleaned != "/" else "/."
        return cleaned
    if original.endswith("/") and not cleaned.endswith("/"):
        return cleaned + "/"
    return cleaned


def abs_container_path(path: str) -> str:
    """The request's path as an absolute, cleaned container path, keeping a trailing / or /."""
    if not path:
        raise InvalidArgument("Path cannot be empty")
    return preserve_trailing("/" + posixpath.normpath("/" + path).lstrip("/"), path)   # no POSIX "//"


def follow_in_scope(root: str, path: str, follow_last: bool = True) -> str:
    """The container-absolute path (e.g. "/etc/x") of ``path`` with its symlinks followed inside
    ``root``; missing components are kept as they are.  ``follow_last=False`` leaves the final
    component alone (lstat semantics)."""
    return "/" + "/".join(resolve_in_scope(root, path, follow_last))


def host_path(root: str, container_abs: str) -> str:
    """Join a symlink-free container path onto root (a trailing "/." or "/" is dropped)."""
    rel = container_abs.strip("/")
    return os.path.join(root, rel) if rel and rel != "." else root


def stat_path(root: str, ref: str, path: str) -> dict[str, Any]:
    """container.ResolvePath + StatPath: {"stat", "resolved" (path under root, last element not
    followed), "abs" (the cleaned container path)}.  ``ref`` names the container in errors."""
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


def tar_rebased(source_dir: str, source_base: str, rebase: str, idmap: IdMap | None = None) -> Iterator[bytes]:
    """TarWithOptions(source_dir, IncludeFiles=[source_base], RebaseNames={source_base: rebase}),
    with ``idmap`` (userns-remap) the ids as the container knows them."""
    w = TarWriter(idmap)
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

    def __init__(self, root: str, no_overwrite_dir_non_dir: bool, chown: tuple[int, int] | None,
                 idmap: IdMap | None = None) -> None:
        super().__init__(Path(root), _NoSplit(), overlay_whiteouts=False, idmap=idmap)  # type: ignore[arg-type]
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
            chown: tuple[int, int] | None = None, idmap: IdMap | None = None) -> None:
    """Unpack a (possibly compressed) tar into the existing, symlink-free directory ``dest``
    (owners shifted by ``idmap`` with userns-remap)."""
    reader = untar._Reader(untar.decompressed(stream))
    up = _Extractor(dest, no_overwrite_dir_non_dir, chown, idmap)
    try:
        untar._run(reader, up.split, up)
        up.finish()
    except OSError as e:
        if e.errno in untar._ARCHIVE_ERRNOS:
            raise InvalidArgument(f"invalid archive: {e.strerror}: {e.filename}") from e
        raise
