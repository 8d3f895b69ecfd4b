"""COPY/ADD source checksums as dockerd's classic builder computes them (pkg/tarsum v1 per
file, builder/remotecontext), so ``created_by`` reads ``COPY file:<same hex> in /x`` as
under dockerd and the cache key covers exactly what dockerd's does.

A file's sum is sha256 over selected tar header fields (name, mode, uid, gid, size,
typeflag, linkname, empty uname/gname, devmajor/minor, xattrs; not mtime) followed by
its content.  For context files the header is the one the client sent (dockerd sums the
upload stream); for sources in an image (COPY --from) it is built from the file as
moby's lazySource does (mode with file type bits).  A directory is "dir:" + sha256 of
the sorted, comma-joined sums of itself and everything below it.
"""

from __future__ import annotations

import functools
import grp
import hashlib
import os
import pwd
import stat
from dataclasses import dataclass, field
from pathlib import Path

_TYPE_BITS = {stat.S_IFDIR: 0o040000, stat.S_IFREG: 0o100000, stat.S_IFLNK: 0o120000}


@dataclass(frozen=True)
class Header:
    name: str
    mode: int
    uid: int
    gid: int
    size: int
    typeflag: str
    linkname: str = ""
    devmajor: int = 0
    devminor: int = 0
    xattrs: tuple[tuple[str, str], ...] = field(default_factory=tuple)
    uname: str = ""     # blank for uploads (tarsum blanks them); looked up for image files
    gname: str = ""

    def encode(self) -> bytes:
        fields = [("name", self.name), ("mode", str(self.mode)), ("uid", str(self.uid)),
                  ("gid", str(self.gid)), ("size", str(self.size)), ("typeflag", self.typeflag),
                  ("linkname", self.linkname), ("uname", self.uname), ("gname", self.gname),
                  ("devmajor", str(self.devmajor)), ("devminor", str(self.devminor)), *sorted(self.xattrs)]
        return "".join(k + v for k, v in fields).encode("utf-8", "surrogateescape")


@functools.lru_cache(maxsize=256)
def _uname(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return ""


@functools.lru_cache(maxsize=256)
def _gname(gid: int) -> str:
    try:
        return grp.getgrgid(gid).gr_name
    except KeyError:
        return ""


def header_from_stat(path: Path, rel: str) -> Header:
    """moby's NewFileHash header: Go's tar.FileInfoHeader, which names owners through the
    daemon host's user database (not the image's), plus the file type bits in the mode."""
    st = path.lstat()
    kind = stat.S_IFMT(st.st_mode)
    typeflag = {stat.S_IFDIR: "5", stat.S_IFLNK: "2", stat.S_IFREG: "0"}.get(kind, "0")
    name = rel.rstrip("/") + ("/" if kind == stat.S_IFDIR else "")
    return Header(name, stat.S_IMODE(st.st_mode) | _TYPE_BITS.get(kind, 0), st.st_uid, st.st_gid,
                  st.st_size if kind == stat.S_IFREG else 0, typeflag,
                  os.readlink(path) if kind == stat.S_IFLNK else "",
                  uname=_uname(st.st_uid), gname=_gname(st.st_gid))


def file_sum(header: Header, path: Path) -> str:
    h = hashlib.sha256(header.encode())
    if header.typeflag in ("0", "7") and path.is_file() and not path.is_symlink():
        with open(path, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
    return h.hexdigest()


def source_hash(root: Path, rel: str, headers: dict[str, Header] | None = None) -> str:
    """"file:<hex>" or "dir:<hex>" for ``rel`` (already resolved) under ``root``."""
    headers = headers or {}

    def one(r: str) -> str:
        path = root / r if r else root
        hdr = headers.get(r.rstrip("/")) or header_from_stat(path, r)
        return file_sum(hdr, path)

    top = root / rel if rel else root
    if top.is_dir() and not top.is_symlink():
        sums = [one(rel)] if rel else []
        for dirpath, dirnames, filenames in os.walk(top):
            for name in dirnames + filenames:
                full = Path(dirpath) / name
                sums.append(one(str(full.relative_to(root))))
        return "dir:" + hashlib.sha256(",".join(sorted(sums)).encode()).hexdigest()
    return "file:" + one(rel)
