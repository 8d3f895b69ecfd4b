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
    """A directory holding the context; ``close()`` removes it."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._hashes: dict[str, str] = {}
        self.headers: dict[str, Header] = {}    # cleaned name -> header as uploaded

    @classmethod
    def from_tar(cls, stream: BinaryIO, work_dir: Path | None = None) -> BuildContext:
        root = Path(tempfile.mkdtemp(prefix="build-ctx-", dir=work_dir))
        ctx = cls(root)
        try:
            raw = io.BufferedReader(_Padded(decompressed(stream)))
            def keep(member: tarfile.TarInfo, dest: str) -> tarfile.TarInfo:
                out = _keep_mode(member, dest)
                ctx.headers[posixpath.normpath(out.name).lstrip("/")] = _header_of(member)
                return out

            with tarfile.open(fileobj=raw, mode="r|") as tf:
                tf.extractall(root, filter=keep)
        except tarfile.ReadError as e:
            if str(e) not in ("empty file",):
                ctx.close()
                raise InvalidArgument(f"failed to read build context: {e}") from None
        except (tarfile.FilterError, OSError, EOFError) as e:
            ctx.close()
            raise InvalidArgument(f"failed to unpack build context: {e}") from None
        except BaseException:
            ctx.close()
            raise
        return ctx

    def close(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)

    # --- paths --------------------------------------------------------------------------
    def scoped(self, rel: str, follow_last: bool = True) -> Path:
        """A path inside the context, symlinks resolved as if the context were "/"."""
        return scoped_path(self.root, rel, follow_last)

    def read_dockerfile(self, name: str) -> bytes:
        name = name or "Dockerfile"
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

    def apply_dockerignore(self, dockerfile: str) -> None:
        """Drop what .dockerignore excludes (the Dockerfile and .dockerignore included only
        when the patterns name them, as dockerd's removeDockerfile)."""
        ignore = self.root / ".dockerignore"
        if not ignore.is_file() or ignore.is_symlink():
            return
        try:
            pm = PatternMatcher(read_patterns(ignore.read_bytes()))
        except ValueError as e:
            raise InvalidArgument(str(e)) from None
        keep = {posixpath.normpath(dockerfile or "Dockerfile")}
        for dirpath, dirnames, filenames in os.walk(self.root):
            rel_dir = os.path.relpath(dirpath, self.root)
            for name in list(dirnames) + filenames:
                rel = name if rel_dir == "." else f"{rel_dir}/{name}"
                if rel in keep or rel == ".dockerignore":
                    continue
                if pm.matches(rel):
                    full = Path(dirpath) / name
                    if name in dirnames and not full.is_symlink():
                        if pm.exclusions:
                            continue   # an exception may bring back something below it
                        shutil.rmtree(full, ignore_errors=True)
                        dirnames.remove(name)
                    else:
                        full.unlink(missing_ok=True)
        for extra in (".dockerignore", posixpath.normpath(dockerfile or "Dockerfile")):
            if pm.matches(extra):
                (self.root / extra).unlink(missing_ok=True)

    # --- sources for COPY/ADD ------------------------------------------------------------
    def resolve_sources(self, src: str) -> list[str]:
        """Relative paths matching one COPY/ADD source (wildcards per path component)."""
        return resolve_in(self.root, src)

    def checksum(self, rel: str) -> str:
        """"file:<hex>" or "dir:<hex>" of a source, as the classic builder names them."""
        if rel not in self._hashes:
            resolved = str(self.scoped(rel).relative_to(self.root))
            self._hashes[rel] = source_hash(self.root, "" if resolved == "." else resolved, self.headers)
        return self._hashes[rel]


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
