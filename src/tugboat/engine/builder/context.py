"""The build context: the client's tar unpacked into a private directory.

Unpacked once, because COPY/ADD need random access, wildcard walks and content
checksums; the unpacking refuses names and links that climb out (tarfile's "data"
filter) but keeps the file modes the client sent, as COPY preserves them.  The
daemon-side ``.dockerignore`` pass (docker's ``removeDockerfile`` plus the patterns
for clients that send everything) happens here too.

Checksums stand in for moby's tarsum/contenthash: a digest over each file's relative
name, type, permission bits, link target and content — not mtimes or owners, which
COPY does not keep (owners) or which change on every checkout (mtimes).
"""

from __future__ import annotations

import fnmatch
import hashlib
import os
import posixpath
import shutil
import stat
import tarfile
import tempfile
from pathlib import Path
from typing import BinaryIO

from tugboat.api.dockerignore import PatternMatcher, read_patterns
from tugboat.errors import InvalidArgument, NotFound
from tugboat.store.untar import decompressed

_MAX_LINKS = 40


def _keep_mode(member: tarfile.TarInfo, dest: str) -> tarfile.TarInfo:
    checked = tarfile.data_filter(member, dest)
    return checked.replace(mode=member.mode & 0o7777, uid=0, gid=0, uname="", gname="", deep=False)


def has_wildcards(path: str) -> bool:
    return any(c in path for c in "*?[")


class BuildContext:
    """A directory holding the context; ``close()`` removes it."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._hashes: dict[str, str] = {}

    @classmethod
    def from_tar(cls, stream: BinaryIO, work_dir: Path | None = None) -> BuildContext:
        root = Path(tempfile.mkdtemp(prefix="build-ctx-", dir=work_dir))
        ctx = cls(root)
        try:
            raw = decompressed(stream)
            with tarfile.open(fileobj=raw, mode="r|") as tf:
                tf.extractall(root, filter=_keep_mode)
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
            self._hashes[rel] = tree_checksum(self.scoped(rel), self.root)
        return self._hashes[rel]


def scoped_path(root: Path, rel: str, follow_last: bool = True) -> Path:
    """FollowSymlinkInScope: resolve ``rel`` under ``root``; links never leave it."""
    parts = [p for p in rel.split("/") if p not in ("", ".")]
    done: list[str] = []
    hops = 0
    while parts:
        part = parts.pop(0)
        if part == "..":
            if done:
                done.pop()
            continue
        candidate = root.joinpath(*done, part)
        if candidate.is_symlink() and (parts or follow_last):
            hops += 1
            if hops > _MAX_LINKS:
                raise InvalidArgument(f"too many links in {rel}")
            target = os.readlink(candidate)
            if target.startswith("/"):
                done = []
            parts = [p for p in target.split("/") if p not in ("", ".")] + parts
            continue
        done.append(part)
    return root.joinpath(*done)


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


def _entry_digest(h: hashlib._Hash, rel: str, path: Path) -> None:
    st = path.lstat()
    kind = "d" if stat.S_ISDIR(st.st_mode) else "l" if stat.S_ISLNK(st.st_mode) else "f"
    h.update(f"{rel}\0{kind}\0{stat.S_IMODE(st.st_mode):o}\0".encode())
    if kind == "l":
        h.update(os.readlink(path).encode() + b"\0")
    elif kind == "f":
        with open(path, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
        h.update(b"\0")


def tree_checksum(path: Path, root: Path) -> str:
    h = hashlib.sha256()
    if path.is_dir():
        for dirpath, dirnames, filenames in os.walk(path):
            dirnames.sort()
            for name in sorted(dirnames + filenames):
                full = Path(dirpath) / name
                _entry_digest(h, str(full.relative_to(path)), full)
        return "dir:" + h.hexdigest()
    _entry_digest(h, "", path)
    return "file:" + h.hexdigest()
