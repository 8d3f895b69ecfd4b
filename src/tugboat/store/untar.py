"""Unpacking an untrusted layer tar into a layer directory, recording it for byte-exact reassembly.

Layer tars come from registries and ``docker load``: hostile input.  The rules (Docker's, made
stricter where Docker relies on a chroot):

* Names are cleaned; a leading ``/`` is stripped (``/etc/x`` lands at ``<layer>/etc/x``); a name
  that still climbs out (``../x``) is refused.
* No symlink is ever followed by the host.  Every parent component is resolved *inside* the layer
  root, the way the kernel would inside a chroot (absolute targets restart at the layer root, ``..``
  stops there), so ``link -> /`` followed by ``link/etc/x`` writes ``<layer>/etc/x``.  The final
  component is never followed: an existing entry is removed and replaced (directories merge).
* Hardlinks must point at something already unpacked in this layer (so ``/etc/passwd`` is refused).
* Device nodes are refused, except the char 0/0 that overlayfs uses as a whiteout.
* ``trusted.*`` xattrs are never taken from the tar (they would steer overlayfs); other PAX
  ``SCHILY.xattr.*`` records (``security.capability`` ...) are applied.

Whiteouts: with ``overlay_whiteouts`` ``.wh.<name>`` becomes a char 0/0 device ``<name>`` and
``.wh..wh..opq`` the xattr ``trusted.overlay.opaque=y`` on its directory (the overlay2 on-disk
format); otherwise they are unpacked literally as empty files (the vfs driver applies them when it
copies a chain).  ``.wh..wh.*`` aufs metadata is skipped, as Docker does.
"""

from __future__ import annotations

import bz2
import errno
import gzip
import hashlib
import lzma
import os
import posixpath
import stat
import tarfile
import zlib
from pathlib import Path
from typing import BinaryIO, cast

from tugboat.errors import InvalidArgument
from tugboat.fsscope import resolve_in_scope
from tugboat.store.fsutil import remove_tree
from tugboat.store.idmap import IdMap
from tugboat.store.tarsplit import SplitWriter

BLOCK = 512
CHUNK = 1 << 20
WHITEOUT_PREFIX = ".wh."
WHITEOUT_META_PREFIX = ".wh..wh."
WHITEOUT_OPAQUE = ".wh..wh..opq"
OPAQUE_XATTR = "trusted.overlay.opaque"
MAX_SPECIAL_SIZE = 1 << 20        # PAX / GNU long-name records held in memory (Go's limit too)
# Errors a malformed archive provokes (not the host's fault): reported as InvalidArgument.
_ARCHIVE_ERRNOS = {errno.ENOENT, errno.ENAMETOOLONG, errno.ELOOP, errno.ENOTDIR, errno.EISDIR, errno.EEXIST,
                   errno.EINVAL, errno.EMLINK, errno.ENOTEMPTY}
_HEADER_ONLY = {tarfile.LNKTYPE, tarfile.SYMTYPE, tarfile.CHRTYPE, tarfile.BLKTYPE,
                tarfile.DIRTYPE, tarfile.FIFOTYPE}
_REGULAR = {tarfile.REGTYPE, tarfile.AREGTYPE}


class _Peek:
    """A read-only stream with the first bytes pushed back (for magic-number sniffing)."""

    def __init__(self, raw: BinaryIO) -> None:
        self._raw = raw
        self.head = b""
        while len(self.head) < 6:
            chunk = raw.read(6 - len(self.head))
            if not chunk:
                break
            self.head += chunk
        self._pos = 0

    def read(self, n: int = -1) -> bytes:
        if self._pos < len(self.head):
            take = self.head[self._pos:] if n < 0 else self.head[self._pos:self._pos + n]
            self._pos += len(take)
            return take
        return self._raw.read(n)

    def readable(self) -> bool:
        return True


def decompressed(stream: BinaryIO) -> BinaryIO:
    """The tar inside ``stream``: plain, gzip, bzip2, xz or zstd, auto-detected as Docker does."""
    peek = _Peek(stream)
    head = peek.head
    src = cast(BinaryIO, peek)
    if head.startswith(b"\x1f\x8b"):
        return cast(BinaryIO, gzip.GzipFile(fileobj=src, mode="rb"))
    if head.startswith(b"BZh"):
        return cast(BinaryIO, bz2.BZ2File(src, "rb"))
    if head.startswith(b"\xfd7zXZ\x00"):
        return cast(BinaryIO, lzma.LZMAFile(src, "rb"))
    if head.startswith(b"\x28\xb5\x2f\xfd"):
        return cast(BinaryIO, _Zstd(src))
    return src


class _Zstd:
    """zstd layers (OCI ``tar+zstd``) through the zstandard binding, whose errors become
    OSError like those of the other decompressors. Imported only when such a layer arrives."""

    def __init__(self, src: BinaryIO) -> None:
        import zstandard

        self._error = zstandard.ZstdError
        self._r = zstandard.ZstdDecompressor().stream_reader(src, read_across_frames=True)

    def read(self, n: int = -1) -> bytes:
        try:
            return bytes(self._r.read(n))
        except self._error as e:
            raise OSError(f"zstd: {e}") from e

    def readable(self) -> bool:
        return True


class _Reader:
    """Exact reads from the (decompressed) stream, hashing everything for the diff ID."""

    def __init__(self, f: BinaryIO) -> None:
        self._f = f
        self.sha = hashlib.sha256()

    def read(self, n: int) -> bytes:
        parts = []
        while n > 0:
            try:
                chunk = self._f.read(min(n, CHUNK))
            except (OSError, EOFError, zlib.error, lzma.LZMAError) as e:
                raise InvalidArgument(f"invalid layer archive: {e}") from e
            if not chunk:
                break
            parts.append(chunk)
            n -= len(chunk)
        data = b"".join(parts)
        self.sha.update(data)
        return data


def _parse_pax(data: bytes) -> dict[str, bytes]:
    """PAX records ``"<len> <key>=<value>\\n"`` (values kept as bytes: xattrs are binary)."""
    out: dict[str, bytes] = {}
    pos = 0
    while pos < len(data) and data[pos] != 0:
        sp = data.find(b" ", pos)
        try:
            length = int(data[pos:sp])
        except ValueError:
            raise InvalidArgument("invalid PAX header in layer tar") from None
        rec = data[sp + 1:pos + length]
        if length <= 0 or sp < 0 or not rec.endswith(b"\n") or b"=" not in rec:
            raise InvalidArgument("invalid PAX header in layer tar")
        key, _, value = rec[:-1].partition(b"=")
        out[key.decode("utf-8", "surrogateescape")] = value
        pos += length
    return out


def _pax_int(pax: dict[str, bytes], key: str, default: int) -> int:
    if key not in pax:
        return default
    try:
        return int(pax[key])
    except ValueError:
        raise InvalidArgument(f"invalid PAX {key} in layer tar") from None


def _pax_time_ns(value: bytes) -> int:
    text = value.decode("ascii", "replace")
    sec, _, frac = text.partition(".")
    try:
        neg = sec.startswith("-")
        ns = abs(int(sec)) * 10**9 + int((frac + "000000000")[:9] or "0")
        return -ns if neg else ns
    except ValueError:
        raise InvalidArgument("invalid PAX time in layer tar") from None


def clean_name(name: str) -> str:
    """Docker's clean-and-contain: relative, normalized, never above the root ("" is the root)."""
    c = posixpath.normpath(name) if name else "."
    c = c.lstrip("/")
    c = posixpath.normpath(c) if c else "."
    if c == ".." or c.startswith("../"):
        raise InvalidArgument(f"invalid tar entry {name!r}: path escapes the layer")
    return "" if c == "." else c


class _Unpacker:
    def __init__(self, root: Path, split: SplitWriter, overlay_whiteouts: bool,
                 idmap: IdMap | None = None) -> None:
        self.root = os.fspath(root)
        self.idmap = idmap
        self.split = split
        self.overlay = overlay_whiteouts
        self.refs: dict[str, int] = {}          # layer path -> file index, for payload references
        self.dir_times: dict[str, tuple[int, int]] = {}
        self.size = 0

    # --- paths ---------------------------------------------------------------------------------
    def abs(self, rel: str) -> str:
        return os.path.join(self.root, rel) if rel else self.root

    def resolve_dir(self, parts: list[str], name: str) -> str:
        """The real (symlink-free) relative path of a parent directory, created if missing."""
        try:
            out = resolve_in_scope(self.root, "/".join(parts))
        except InvalidArgument:
            raise InvalidArgument(f"invalid tar entry {name!r}: too many levels of symbolic links") from None
        for i in range(len(out)):
            p = os.path.join(self.root, *out[:i + 1])
            try:
                st = os.lstat(p)
            except FileNotFoundError:
                os.mkdir(p)
                os.chmod(p, 0o755)          # implicit parents: 0755 root, whatever the umask
                if self.idmap is not None:
                    self.set_owner(p, 0, 0)
                continue
            if not stat.S_ISDIR(st.st_mode):
                raise InvalidArgument(f"invalid tar entry {name!r}: {'/'.join(out[:i + 1])} is not a directory")
        return "/".join(out)

    def locate(self, cleaned: str, name: str) -> tuple[str, str]:
        """(resolved parent dir, final component) of a cleaned entry name."""
        head, _, base = cleaned.rpartition("/")
        parent = self.resolve_dir(head.split("/") if head else [], name)
        return parent, base

    def remove(self, rel: str, st: os.stat_result) -> None:
        """Remove an existing entry, first saving any payload the tar-split still refers to."""
        path = self.abs(rel)
        if stat.S_ISDIR(st.st_mode):
            for ref in [r for r in self.refs if r.startswith(rel + "/")]:
                self.split.move_to_blob(self.refs.pop(ref), self.abs(ref))
            remove_tree(path, check_mounts=False)   # inside our private staging dir
        elif rel in self.refs:
            self.split.move_to_blob(self.refs.pop(rel), path)
        else:
            os.unlink(path)

    # --- entries -------------------------------------------------------------------------------
    def entry(self, info: tarfile.TarInfo, pax: dict[str, bytes], reader: _Reader, payload: int) -> None:
        name = info.name
        cleaned = clean_name(name)
        base = cleaned.rpartition("/")[2]
        if base.startswith(WHITEOUT_PREFIX) and self.overlay:
            self.overlay_whiteout(cleaned, info, name)
            self.skip(reader, payload)
            return
        parts = cleaned.split("/")
        if (base.startswith(WHITEOUT_META_PREFIX) and base != WHITEOUT_OPAQUE) or any(
                p.startswith(WHITEOUT_META_PREFIX) for p in parts[:-1]):
            self.skip(reader, payload)      # aufs hardlink/metadata dirs and what is in them
            return
        t = info.type
        if t in (tarfile.CHRTYPE, tarfile.BLKTYPE) and not (
                t == tarfile.CHRTYPE and info.devmajor == 0 and info.devminor == 0):
            raise InvalidArgument(f"invalid tar entry {name!r}: device nodes are not allowed in layers")
        if t not in _REGULAR | _HEADER_ONLY:
            raise InvalidArgument(f"invalid tar entry {name!r}: unsupported tar entry type {t!r}")
        if cleaned == "":
            if t != tarfile.DIRTYPE:
                raise InvalidArgument(f"invalid tar entry {name!r}: the layer root must be a directory")
            self.meta("", info, pax)
            return
        parent, base = self.locate(cleaned, name)
        rel = f"{parent}/{base}" if parent else base
        path = self.abs(rel)
        try:
            st: os.stat_result | None = os.lstat(path)
        except FileNotFoundError:
            st = None
        if st is not None and not (stat.S_ISDIR(st.st_mode) and t == tarfile.DIRTYPE):
            self.remove(rel, st)
            st = None
        if t == tarfile.DIRTYPE:
            if st is None:
                os.mkdir(path, 0o700)
        elif t in _REGULAR:
            self.write_file(rel, reader, payload)
            payload = 0
        elif t == tarfile.SYMTYPE:
            os.symlink(info.linkname, path)
        elif t == tarfile.LNKTYPE:
            self.hardlink(info, path, name)
        elif t == tarfile.FIFOTYPE:
            os.mknod(path, stat.S_IFIFO | 0o600)
        else:
            os.mknod(path, stat.S_IFCHR | 0o600, os.makedev(0, 0))
        self.skip(reader, payload)
        if t != tarfile.LNKTYPE:
            self.meta(rel, info, pax)

    def hardlink(self, info: tarfile.TarInfo, path: str, name: str) -> None:
        target = clean_name(info.linkname)
        if target == "":
            raise InvalidArgument(f"invalid tar entry {name!r}: hardlink to the layer root")
        parent, base = self.locate(target, name)
        src = self.abs(f"{parent}/{base}" if parent else base)
        try:
            st = os.lstat(src)
        except (FileNotFoundError, NotADirectoryError):
            raise InvalidArgument(
                f"invalid tar entry {name!r}: hardlink target {info.linkname!r} is not in the layer") from None
        if stat.S_ISDIR(st.st_mode):
            raise InvalidArgument(f"invalid tar entry {name!r}: hardlink to a directory")
        os.link(src, path, follow_symlinks=False)

    def write_file(self, rel: str, reader: _Reader, size: int) -> None:
        fd = os.open(self.abs(rel), os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
        crc = 0
        try:
            left = size
            while left:
                chunk = reader.read(min(CHUNK, left))
                if not chunk:
                    raise InvalidArgument("invalid layer archive: unexpected end of file")
                crc = zlib.crc32(chunk, crc)
                _write_all(fd, chunk)
                left -= len(chunk)
        finally:
            os.close(fd)
        self.size += size
        if size:
            self.refs[rel] = self.split.file(rel, size, crc)

    def skip(self, reader: _Reader, size: int) -> None:
        """A payload that is not unpacked is kept verbatim in the tar-split."""
        while size:
            chunk = reader.read(min(CHUNK, size))
            if not chunk:
                raise InvalidArgument("invalid layer archive: unexpected end of file")
            self.split.raw(chunk)
            size -= len(chunk)

    def overlay_whiteout(self, cleaned: str, info: tarfile.TarInfo, name: str) -> None:
        parent, base = self.locate(cleaned, name)
        if base == WHITEOUT_OPAQUE:
            os.setxattr(self.abs(parent), OPAQUE_XATTR, b"y", follow_symlinks=False)
            return
        if base.startswith(WHITEOUT_META_PREFIX):
            return
        target = base[len(WHITEOUT_PREFIX):]
        if not target:
            raise InvalidArgument(f"invalid tar entry {name!r}: whiteout without a name")
        rel = f"{parent}/{target}" if parent else target
        try:
            self.remove(rel, os.lstat(self.abs(rel)))
        except FileNotFoundError:
            pass
        os.mknod(self.abs(rel), stat.S_IFCHR | 0o600, os.makedev(0, 0))
        self.set_owner(self.abs(rel), info.uid, info.gid)

    def set_owner(self, path: str, uid: int, gid: int) -> None:
        """Ownership as in the tar, shifted to the host ids of a remapped daemon."""
        if self.idmap is not None:
            uid, gid = self.idmap.to_host(uid, gid)
        os.chown(path, uid, gid, follow_symlinks=False)

    def meta(self, rel: str, info: tarfile.TarInfo, pax: dict[str, bytes]) -> None:
        """Ownership, xattrs, mode (after chown, which clears setuid) and times, as Docker orders them."""
        path = self.abs(rel)
        self.set_owner(path, info.uid, info.gid)
        is_link = info.type == tarfile.SYMTYPE
        if not is_link:
            for key, value in pax.items():
                if not key.startswith("SCHILY.xattr."):
                    continue
                xname = key[len("SCHILY.xattr."):]
                if xname.startswith("trusted."):
                    continue
                try:
                    os.setxattr(path, xname, value, follow_symlinks=False)
                except OSError as e:
                    if e.errno not in (errno.EOPNOTSUPP, errno.EPERM, errno.ENODATA):  # as Docker: not fatal
                        raise
            os.chmod(path, info.mode & 0o7777)
        mtime = _pax_time_ns(pax["mtime"]) if "mtime" in pax else int(info.mtime) * 10**9
        atime = _pax_time_ns(pax["atime"]) if "atime" in pax else mtime
        if info.type == tarfile.DIRTYPE:
            self.dir_times[rel] = (atime, mtime)
        else:
            os.utime(path, ns=(atime, mtime), follow_symlinks=False)

    def finish(self) -> None:
        """Directory times last (creating children changed them); paths re-checked, never followed."""
        for rel, times in sorted(self.dir_times.items(), key=lambda kv: -kv[0].count("/")):
            if self._is_real_dir(rel):
                os.utime(self.abs(rel), ns=times, follow_symlinks=False)
        real_dirs: set[str] = set()
        for rel in self.refs:
            parent = rel.rpartition("/")[0]
            if parent not in real_dirs and self._is_real_dir(parent):
                real_dirs.add(parent)
            try:
                st = os.lstat(self.abs(rel)) if parent in real_dirs else None
            except OSError:
                st = None
            if st is None or not stat.S_ISREG(st.st_mode):
                raise InvalidArgument(f"invalid layer archive: content of {rel!r} was lost while unpacking")

    def _is_real_dir(self, rel: str) -> bool:
        parts = rel.split("/") if rel else []
        for i in range(len(parts) + 1):
            try:
                st = os.lstat(os.path.join(self.root, *parts[:i]))
            except OSError:
                return False
            if not stat.S_ISDIR(st.st_mode):
                return False
        return True


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def unpack(stream: BinaryIO, root: Path, meta_dir: Path, overlay_whiteouts: bool,
           idmap: IdMap | None = None) -> tuple[str, int]:
    """Unpack the (possibly compressed) tar in ``stream`` into the empty directory ``root`` and
    record it in ``meta_dir`` for ``tarsplit.assemble``.  Returns (diff ID, content size).
    With ``idmap`` (userns-remap) files are owned by the host ids the tar's ids map to; the
    tar-split keeps the tar's own headers, so the layer's bytes do not change."""
    reader = _Reader(decompressed(stream))
    split = SplitWriter(meta_dir)
    up = _Unpacker(root, split, overlay_whiteouts, idmap)
    try:
        _run(reader, split, up)
        up.finish()
    except OSError as e:
        if e.errno in _ARCHIVE_ERRNOS:
            raise InvalidArgument(f"invalid layer archive: {e.strerror}: {e.filename}") from e
        raise
    finally:
        split.close()
    return "sha256:" + reader.sha.hexdigest(), up.size


def _run(reader: _Reader, split: SplitWriter, up: _Unpacker) -> None:
    pax: dict[str, bytes] = {}
    long_name: bytes | None = None
    long_link: bytes | None = None
    while True:
        block = reader.read(BLOCK)
        if not block:
            return                              # EOF at a header boundary: accepted, as Go does
        if len(block) < BLOCK:
            raise InvalidArgument("invalid layer archive: unexpected end of file")
        split.raw(block)
        if block == b"\0" * BLOCK:
            while True:                         # end marker: keep everything after it verbatim
                rest = reader.read(CHUNK)
                if not rest:
                    return
                split.raw(rest)
        try:
            info = tarfile.TarInfo.frombuf(block, "utf-8", "surrogateescape")
        except tarfile.HeaderError as e:
            raise InvalidArgument(f"invalid layer archive: {e}") from None
        t = info.type
        if t in (tarfile.XHDTYPE, tarfile.XGLTYPE, tarfile.GNUTYPE_LONGNAME, tarfile.GNUTYPE_LONGLINK):
            if info.size > MAX_SPECIAL_SIZE:
                raise InvalidArgument("invalid layer archive: PAX or long-name header too large")
            data = reader.read(info.size + (-info.size % BLOCK))
            if len(data) < info.size:
                raise InvalidArgument("invalid layer archive: unexpected end of file")
            split.raw(data)
            body = data[:info.size]
            if t == tarfile.XHDTYPE:
                pax.update(_parse_pax(body))
            elif t == tarfile.GNUTYPE_LONGNAME:
                long_name = body.split(b"\0", 1)[0]
            elif t == tarfile.GNUTYPE_LONGLINK:
                long_link = body.split(b"\0", 1)[0]
            continue                            # global headers are ignored, as Docker does
        if t == tarfile.GNUTYPE_SPARSE or any(k.startswith("GNU.sparse.") for k in pax):
            raise InvalidArgument(f"invalid tar entry {info.name!r}: sparse files are not supported")
        if "path" in pax:
            info.name = pax["path"].decode("utf-8", "surrogateescape")
        if "linkpath" in pax:
            info.linkname = pax["linkpath"].decode("utf-8", "surrogateescape")
        if long_name is not None:
            info.name = long_name.decode("utf-8", "surrogateescape")
        if long_link is not None:
            info.linkname = long_link.decode("utf-8", "surrogateescape")
        if t in _REGULAR and info.name.endswith("/"):
            info.type = tarfile.DIRTYPE
        info.size = _pax_int(pax, "size", info.size)
        info.uid = _pax_int(pax, "uid", info.uid)
        info.gid = _pax_int(pax, "gid", info.gid)
        if info.size < 0 or info.uid < 0 or info.gid < 0:
            raise InvalidArgument(f"invalid tar entry {info.name!r}: negative size or id")
        payload = 0 if info.type in _HEADER_ONLY else info.size
        up.entry(info, pax, reader, payload)
        pad = -payload % BLOCK
        if pad:
            data = reader.read(pad)
            if len(data) < pad:
                raise InvalidArgument("invalid layer archive: unexpected end of file")
            split.raw(data)
        pax, long_name, long_link = {}, None, None
