"""The build context: the client's tar unpacked into a private directory.

Unpacked once, because COPY/ADD need random access, wildcard walks and content
checksums; the unpacking refuses names and links that climb out (tarfile's "data"
filter) but keeps the file modes the client sent, as COPY preserves them.  The
daemon-side ``.dockerignore`` pass (docker's ``removeDockerfile`` plus the patterns
for clients that send everything) happens here too.

Source checksums are dockerd's (``tarsum.py``): computed from the headers of the
upload, which are recorded while unpacking.
"""

from __future__ import annotations

import fnmatch
import hashlib
import io
import os
import posixpath
import shutil
import tarfile
import tempfile
from pathlib import Path
from typing import Any, BinaryIO

from tugboat.api.dockerignore import PatternMatcher, read_patterns
from tugboat.engine.builder.tarsum import Header, source_hash
from tugboat.errors import InvalidArgument, NotFound
from tugboat.fsscope import resolve_in_scope
from tugboat.store.untar import decompressed

_MAX_LINKS = 40


def _keep_mode(member: tarfile.TarInfo, dest: str) -> tarfile.TarInfo:
    checked = tarfile.data_filter(member, dest)
    return checked.replace(mode=member.mode & 0o7777, uid=0, gid=0, uname="", gname="", deep=False)


def _header_of(m: tarfile.TarInfo) -> Header:
    """The upload's header as Go's tar reader (and so dockerd's tarsum) sees it."""
    typeflag = m.type.decode("latin-1") if m.type not in (tarfile.AREGTYPE,) else "0"
    name = m.name + ("/" if m.isdir() and not m.name.endswith("/") else "")
    xattrs = tuple((k[len("SCHILY.xattr."):], v) for k, v in m.pax_headers.items()
                   if k.startswith("SCHILY.xattr."))
    return Header(name, m.mode, m.uid, m.gid, m.size if m.isreg() else 0, typeflag, m.linkname,
                  m.devmajor, m.devminor, xattrs)


class _Padded(io.RawIOBase):
    """The docker CLI's rewritten context tars (``-f`` outside the context, ``-f -``) end
    right after the last file's data, without padding or the end-of-archive blocks; Go's
    reader takes that as the end, Python's stream reader as truncation.  At EOF this
    supplies the missing zero padding and trailer."""

    def __init__(self, raw: BinaryIO) -> None:
        self._raw = raw
        self._pos = 0
        self._tail: bytes | None = None

    def readable(self) -> bool:
        return True

    def readinto(self, b: Any) -> int:
        view = memoryview(b).cast("B")
        if self._tail is None:
            data = self._raw.read(len(view))
            if data:
                view[:len(data)] = data
                self._pos += len(data)
                return len(data)
            self._tail = b"\0" * ((-self._pos) % 512 + 1024)
        n = min(len(view), len(self._tail))
        view[:n] = self._tail[:n]
        self._tail = self._tail[n:]
        return n


def has_wildcards(path: str) -> bool:
    return any(c in path for c in "*?[")


class BuildContext:
    """A build context kept as the uploaded tar (spooled to one file) plus an index of its
    members; ``close()`` removes both.

    A rebuild with nothing changed needs only the Dockerfile, the .dockerignore and the
    checksums of the COPY/ADD sources, and all three come from the index and the spool, so
    such a build creates no files at all.  The tree is unpacked (``materialize()``) the
    first time a step really copies from it, or when the index cannot answer as the
    unpacked tree would (symlinks to follow, directories the tar only implies)."""

    def __init__(self, base: Path) -> None:
        self.base = base                        # private directory: spool, tree, temp dirs
        self.root = base / "tree"
        self.root.mkdir(mode=0o700)
        self.spool = base / "context.tar"
        self.members: dict[str, tarfile.TarInfo] = {}   # cleaned name -> member in the spool
        self.headers: dict[str, Header] = {}    # cleaned name -> header as uploaded
        self._hashes: dict[str, str] = {}
        self._sums: dict[str, str] = {}
        self._removed: set[str] = set()         # excluded by .dockerignore
        self._simple = True                     # no symlinks and no implied directories
        self._extracted = False

    @classmethod
    def from_tar(cls, stream: BinaryIO, work_dir: Path | None = None) -> BuildContext:
        ctx = cls(Path(tempfile.mkdtemp(prefix="build-ctx-", dir=work_dir)))
        try:
            with open(ctx.spool, "wb") as out:
                shutil.copyfileobj(io.BufferedReader(_Padded(decompressed(stream))), out, 1 << 20)
            ctx._index()
        except BaseException:
            ctx.close()
            raise
        return ctx

    def _index(self) -> None:
        try:
            with tarfile.open(self.spool, mode="r:") as tf:
                members = tf.getmembers()
        except tarfile.ReadError as e:
            if str(e) == "empty file":
                return
            raise InvalidArgument(f"failed to read build context: {e}") from None
        except (OSError, EOFError) as e:
            raise InvalidArgument(f"failed to read build context: {e}") from None
        dirs: set[str] = set()
        for m in members:
            name = posixpath.normpath(m.name).lstrip("/")
            if name == ".." or name.startswith("../"):
                raise InvalidArgument(f"failed to unpack build context: {m.name!r} is outside the context")
            if name in ("", "."):
                continue
            self.members[name] = m
            self.headers[name] = _header_of(m)
            if m.issym():
                self._simple = False
            if m.isdir():
                dirs.add(name)
        for name in self.members:
            parent = posixpath.dirname(name)
            if parent and parent not in dirs:
                self._simple = False   # a directory the tar only implies: its stat comes from disk
                break

    def close(self) -> None:
        shutil.rmtree(self.base, ignore_errors=True)

    def materialize(self) -> None:
        """Unpack the tree (once), without what .dockerignore excluded."""
        if self._extracted:
            return
        self._extracted = True
        if not self.members:
            return
        if self._simple and all(m.isdir() or m.isreg() for m in self.members.values()):
            try:
                self._extract_plain()
            except OSError as e:   # e.g. a name that is a directory and, later, a file
                raise InvalidArgument(f"failed to unpack build context: {e}") from None
            return

        def keep(member: tarfile.TarInfo, dest: str) -> tarfile.TarInfo | None:
            if self._excluded(posixpath.normpath(member.name).lstrip("/")):
                return None
            return _keep_mode(member, dest)

        try:
            with tarfile.open(self.spool, mode="r:") as tf:
                tf.extractall(self.root, filter=keep)
        except (tarfile.FilterError, tarfile.TarError, OSError, EOFError) as e:
            raise InvalidArgument(f"failed to unpack build context: {e}") from None

    def _extract_plain(self) -> None:
        """Only directories and regular files under checked names: nothing can point out of
        the tree, so they are written straight from the spool (tarfile's filtered extraction
        resolves every path; a big context pays that per file)."""
        dirs: list[tuple[Path, tarfile.TarInfo]] = []
        with open(self.spool, "rb") as spool:
            src = spool.fileno()
            for name, m in self.members.items():
                if self._excluded(name):
                    continue
                path = self.root / name
                if m.isdir():
                    path.mkdir(mode=0o700, parents=True, exist_ok=True)
                    dirs.append((path, m))
                    continue
                if not path.parent.is_dir():   # a tar that lists a file before its directory
                    path.parent.mkdir(mode=0o700, parents=True)
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
                try:
                    offset, left = m.offset_data, m.size
                    while left > 0:
                        chunk = os.pread(src, min(left, 1 << 20), offset)
                        if not chunk:
                            raise InvalidArgument(f"failed to unpack build context: {name} is truncated")
                        os.write(fd, chunk)
                        offset += len(chunk)
                        left -= len(chunk)
                    os.fchmod(fd, m.mode & 0o7777)
                    os.utime(fd, (m.mtime, m.mtime))
                finally:
                    os.close(fd)
        for path, m in reversed(dirs):   # after their contents, as tarfile does
            os.chmod(path, m.mode & 0o7777)
            os.utime(path, (m.mtime, m.mtime))

    def _excluded(self, name: str) -> bool:
        if not self._removed:
            return False
        while name:
            if name in self._removed:
                return True
            name = posixpath.dirname(name)
        return False

    def _live(self, name: str) -> tarfile.TarInfo | None:
        m = self.members.get(name)
        return None if m is None or self._excluded(name) else m

    def _read(self, m: tarfile.TarInfo) -> bytes:
        with open(self.spool, "rb") as f:
            f.seek(m.offset_data)
            return f.read(m.size)

    # --- paths --------------------------------------------------------------------------
    def scoped(self, rel: str, follow_last: bool = True) -> Path:
        """A path inside the unpacked context, symlinks resolved as if the context were "/"."""
        self.materialize()
        return scoped_path(self.root, rel, follow_last)

    def read_dockerfile(self, name: str) -> bytes:
        name = name or "Dockerfile"
        data = self._dockerfile_from_index(name) if self._simple and not self._extracted else None
        if data is None:
            path = self.scoped(name)
            if not path.is_file() and name == "Dockerfile":
                alt = self.scoped("dockerfile")
                if alt.is_file():
                    path = alt
            try:
                data = path.read_bytes()
            except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
                raise NotFound(f"Cannot locate specified Dockerfile: {name}") from None
        if not data.strip():
            raise InvalidArgument(f"the Dockerfile ({name}) cannot be empty")
        return data

    def _dockerfile_from_index(self, name: str) -> bytes | None:
        for candidate in [name] + (["dockerfile"] if name == "Dockerfile" else []):
            m = self.members.get(posixpath.normpath("/" + candidate).lstrip("/"))
            if m is not None and m.isfile():
                return self._read(m)
        raise NotFound(f"Cannot locate specified Dockerfile: {name}")

    def apply_dockerignore(self, dockerfile: str) -> None:
        """Drop what .dockerignore excludes (the Dockerfile and .dockerignore included only
        when the patterns name them, as dockerd's removeDockerfile)."""
        ignore = self.members.get(".dockerignore")
        if ignore is None or not ignore.isfile():
            return
        try:
            pm = PatternMatcher(read_patterns(self._read(ignore)))
        except ValueError as e:
            raise InvalidArgument(str(e)) from None
        keep = {posixpath.normpath(dockerfile or "Dockerfile")}
        for name, m in self.members.items():
            if name in keep or name == ".dockerignore" or self._excluded(name):
                continue
            if pm.matches(name) and not (m.isdir() and pm.exclusions):
                # a matched directory goes with everything below it, unless an exception
                # may bring back something below it
                self._removed.add(name)
        for extra in (".dockerignore", posixpath.normpath(dockerfile or "Dockerfile")):
            if pm.matches(extra):
                self._removed.add(extra)

    # --- sources for COPY/ADD ------------------------------------------------------------
    def resolve_sources(self, src: str) -> list[str]:
        """Relative paths matching one COPY/ADD source (wildcards per path component)."""
        if not self._simple or self._extracted:
            self.materialize()
            return resolve_in(self.root, src)
        clean = posixpath.normpath("/" + src).lstrip("/")
        if not clean:
            return [""]
        if not has_wildcards(clean):
            return [clean] if self._live(clean) is not None else []
        found = [""]
        for comp in clean.split("/"):
            nxt = []
            for base in found:
                if base and not (self._live(base) is not None and self.members[base].isdir()):
                    continue
                if not has_wildcards(comp):
                    cand = f"{base}/{comp}".lstrip("/")
                    if self._live(cand) is not None:
                        nxt.append(cand)
                    continue
                names = sorted({n[len(base) + 1 if base else 0:].split("/", 1)[0] for n in self.members
                                if (n.startswith(base + "/") if base else True) and self._live(n) is not None})
                nxt += [f"{base}/{n}".lstrip("/") for n in names if fnmatch.fnmatchcase(n, comp)]
            found = nxt
        return found

    def checksum(self, rel: str) -> str:
        """"file:<hex>" or "dir:<hex>" of a source, as the classic builder names them."""
        if rel not in self._hashes:
            if self._simple and not self._extracted:
                self._hashes[rel] = self._index_hash(rel)
            else:
                resolved = str(self.scoped(rel).relative_to(self.root))
                self._hashes[rel] = source_hash(self.root, "" if resolved == "." else resolved, self.headers)
        return self._hashes[rel]

    def _entry_sum(self, name: str) -> str:
        if name not in self._sums:
            m = self.members[name]
            h = hashlib.sha256(self.headers[name].encode())
            if m.isreg():
                h.update(self._read(m))
            self._sums[name] = h.hexdigest()
        return self._sums[name]

    def _index_hash(self, rel: str) -> str:
        """tarsum.source_hash of the unpacked tree, computed from the spool."""
        m = self.members.get(rel) if rel else None
        if m is not None and not m.isdir():
            return "file:" + self._entry_sum(rel)
        sums = [self._entry_sum(rel)] if rel else []
        prefix = rel + "/" if rel else ""
        sums += [self._entry_sum(n) for n in self.members if n.startswith(prefix) and not self._excluded(n)]
        return "dir:" + hashlib.sha256(",".join(sorted(sums)).encode()).hexdigest()

    def paths(self, names: list[str]) -> list[Path]:
        """The unpacked paths of resolved sources (unpacking the tree first)."""
        self.materialize()
        return [scoped_path(self.root, n) for n in names]


def scoped_path(root: Path, rel: str, follow_last: bool = True) -> Path:
    """FollowSymlinkInScope: resolve ``rel`` under ``root``; links never leave it."""
    return root.joinpath(*resolve_in_scope(root, rel, follow_last))


def resolve_in(root: Path, src: str) -> list[str]:
    """Match ``src`` (relative to ``root``) component by component; [] if nothing matches."""
    clean = posixpath.normpath("/" + src).lstrip("/")
    if not clean:
        return [""]
    if not has_wildcards(clean):
        return [clean] if os.path.lexists(scoped_path(root, clean)) else []
    found = [""]
    for comp in clean.split("/"):
        nxt = []
        for base in found:
            d = scoped_path(root, base)
            if not has_wildcards(comp):
                if os.path.lexists(d / comp):
                    nxt.append(f"{base}/{comp}".lstrip("/"))
                continue
            try:
                names = sorted(os.listdir(d))
            except OSError:
                continue
            nxt += [f"{base}/{n}".lstrip("/") for n in names if fnmatch.fnmatchcase(n, comp)]
        found = nxt
    return found
