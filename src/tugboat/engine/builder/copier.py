"""COPY and ADD: putting files into a mounted root filesystem (moby builder/dockerfile/copy.go).

The destination rules are Docker's: a relative destination is under WORKDIR; a source
directory copies its contents; a file lands at ``dest`` unless ``dest`` ends in ``/`` or
is an existing directory; several sources need a ``dest/``; ADD unpacks local tar
archives.  Everything written is owned by root unless ``--chown`` says otherwise (names
resolved through the image's own /etc/passwd and /etc/group), and every path inside the
root filesystem is resolved with its symlinks kept inside it.
"""

from __future__ import annotations

import os
import posixpath
import shutil
import stat
import tarfile
from dataclasses import dataclass
from pathlib import Path

from tugboat.engine.builder.context import scoped_path
from tugboat.errors import InvalidArgument
from tugboat.store.idmap import IdMap


@dataclass(frozen=True)
class Source:
    path: Path        # on the host (inside a context dir or another stage's root filesystem)
    name: str         # as matched, for basename and messages
    remote: bool = False   # ADD <url>: never unpacked, even if it is an archive


@dataclass(frozen=True)
class Ownership:
    uid: int
    gid: int


def _lookup(rootfs: Path | None, db: str, name: str) -> int | None:
    if rootfs is None:
        return None
    try:
        text = scoped_path(rootfs, f"/etc/{db}").read_text(errors="replace")
    except OSError:
        return None
    for line in text.splitlines():
        fields = line.split(":")
        if len(fields) >= 3 and fields[0] == name:
            try:
                return int(fields[2])
            except ValueError:
                return None
    return None


def parse_chown(spec: str, rootfs: Path | None) -> Ownership | None:
    """--chown=user[:group]; a group defaults to the user string (moby's parseChownFlag)."""
    if not spec:
        return None
    user, _, group = spec.partition(":")
    group = group or user

    def one(value: str, db: str, what: str) -> int:
        if value.isdigit():
            return int(value)
        found = _lookup(rootfs, db, value)
        if found is None:
            kind = "user" if what == "uid" else "group"
            raise InvalidArgument(f"unable to convert uid/gid chown string to host mapping: can't find "
                                  f"{what} for {kind} {value}: no such {kind}: {value}")
        return found

    return Ownership(one(user, "passwd", "uid"), one(group, "group", "gid"))


def parse_chmod(spec: str) -> int | None:
    if not spec:
        return None
    try:
        mode = int(spec, 8)
    except ValueError:
        raise InvalidArgument(f"invalid chmod parameter {spec}. it should be octal string and "
                              "between 0 and 07777") from None
    if mode > 0o7777:
        raise InvalidArgument(f"invalid chmod parameter {spec}. it should be octal string and between 0 and 07777")
    return mode


class Copier:
    """One COPY/ADD into ``rootfs`` (already mounted, writable)."""

    def __init__(self, rootfs: Path, owner: Ownership | None, chmod: int | None, unpack: bool,
                 idmap: IdMap | None = None) -> None:
        """``idmap`` (userns-remap): the layer's files are owned by the shifted host ids, so the
        container ids of --chown and of an ADDed archive's entries are mapped before chown."""
        self.rootfs = rootfs
        self.idmap = idmap
        owner = owner or Ownership(0, 0)
        self.owner = Ownership(*idmap.to_host(owner.uid, owner.gid)) if idmap else owner
        self.chmod = chmod
        self.unpack = unpack

    def _host(self, path: str) -> Path:
        return scoped_path(self.rootfs, path)

    def _target(self, path: str) -> Path:
        """Where an entry is written: parents resolved in the rootfs, the name itself not
        followed (an existing symlink there is replaced, not written through)."""
        return scoped_path(self.rootfs, path, follow_last=False)

    def _mkdirs(self, path: str) -> Path:
        """mkdir -p inside the rootfs; new directories 0755 with the copy's owner."""
        cur = "/"
        for comp in [c for c in path.split("/") if c]:
            cur = posixpath.join(cur, comp)
            host = self._host(cur)
            if host.is_dir():
                continue
            if os.path.lexists(host):
                raise InvalidArgument(f"failed to create directory {cur}: not a directory")
            host.mkdir(mode=0o755)
            os.chmod(host, 0o755)
            os.lchown(host, self.owner.uid, self.owner.gid)
        return self._host(path)

    def _meta(self, src_st: os.stat_result, dst: Path, is_link: bool) -> None:
        os.lchown(dst, self.owner.uid, self.owner.gid)
        if is_link:
            return
        mode = self.chmod if self.chmod is not None else stat.S_IMODE(src_st.st_mode)
        os.chmod(dst, mode)
        os.utime(dst, ns=(src_st.st_atime_ns, src_st.st_mtime_ns))

    def _copy_entry(self, src: Path, dst: Path) -> None:
        st = src.lstat()
        if os.path.lexists(dst) and not (stat.S_ISDIR(st.st_mode) and dst.is_dir() and not dst.is_symlink()):
            if dst.is_dir() and not dst.is_symlink():
                shutil.rmtree(dst)
            else:
                dst.unlink()
        if stat.S_ISLNK(st.st_mode):
            os.symlink(os.readlink(src), dst)
            self._meta(st, dst, True)
        elif stat.S_ISDIR(st.st_mode):
            if not dst.is_dir():
                dst.mkdir()
            for name in sorted(os.listdir(src)):
                self._copy_entry(src / name, dst / name)
            self._meta(st, dst, False)
        elif stat.S_ISREG(st.st_mode):
            shutil.copyfile(src, dst, follow_symlinks=False)
            self._meta(st, dst, False)
        # sockets, fifos and devices in a context are skipped, as the tar never carries them

    def copy(self, sources: list[Source], dest: str, dest_is_dir_hint: bool) -> None:
        """``dest`` is absolute; ``dest_is_dir_hint`` is "ended in /" (or several sources)."""
        for s in sources:
            st = s.path.stat() if s.path.exists() else s.path.lstat()
            if stat.S_ISDIR(st.st_mode):
                self._mkdirs(dest)
                for name in sorted(os.listdir(s.path)):
                    self._copy_entry(s.path / name, self._target(posixpath.join(dest, name)))
                continue
            if self.unpack and not s.remote and _is_archive(s.path):
                self._mkdirs(dest)
                self._untar(s.path, dest)
                continue
            existing = self._host(dest)
            if dest_is_dir_hint or (existing.is_dir() and dest != "/"):
                self._mkdirs(dest)
                target_path = posixpath.join(dest, posixpath.basename(s.name.rstrip("/")) or "file")
            else:
                self._mkdirs(posixpath.dirname(dest) or "/")
                target_path = dest
            target = self._target(target_path)
            if target.is_dir() and not target.is_symlink():
                raise InvalidArgument(f"cannot copy to non-directory: {target_path}")
            src = s.path.resolve() if s.path.is_symlink() else s.path
            self._copy_entry(src, target)

    def _untar(self, archive: Path, dest: str) -> None:
        """ADD of a local archive: unpack it into ``dest`` keeping the archive's owners."""
        base = self._host(dest)

        def keep(member: tarfile.TarInfo, path: str) -> tarfile.TarInfo:
            checked = tarfile.data_filter(member, path)
            uid, gid = self.idmap.to_host(member.uid, member.gid) if self.idmap else (member.uid, member.gid)
            return checked.replace(mode=member.mode & 0o7777, uid=uid, gid=gid, uname="", gname="", deep=False)

        try:
            with tarfile.open(archive, mode="r:*") as tf:
                tf.extractall(base, filter=keep, numeric_owner=True)
        except (tarfile.TarError, OSError) as e:
            raise InvalidArgument(f"failed to extract {archive.name}: {e}") from None


def _is_archive(path: Path) -> bool:
    if not path.is_file():
        return False
    try:
        with tarfile.open(path, mode="r:*") as tf:
            return tf.next() is not None
    except (tarfile.TarError, OSError, EOFError):
        return False
