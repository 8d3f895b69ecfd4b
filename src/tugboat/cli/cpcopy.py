"""The client half of ``docker cp``: moby's pkg/archive/copy.go rules, in Python.

The daemon only stats, tars and untars *a path*; what ``cp`` means (``dir`` into an existing
directory lands inside it, ``dir/.`` copies the contents, a missing destination takes the
source's content under the destination's name, ``file`` to ``missing/`` is an error) is decided
here by renaming the archive's top entry (RebaseArchiveEntries) and choosing the directory to
extract into (PrepareArchiveCopy).  Kept free of I/O where possible so the rule table is unit
tested; the local tar and untar helpers refuse entries that would land outside the destination
(docker's breakout check) and never write through a symlink.
"""

from __future__ import annotations

import os
import posixpath
import stat
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any

ERR_NOT_DIRECTORY = "not a directory"
ERR_DIR_NOT_EXISTS = "no such directory"
ERR_CANNOT_COPY_DIR = "cannot copy directory"


class CopyError(Exception):
    pass


@dataclass
class CopyInfo:
    path: str
    exists: bool = False
    is_dir: bool = False
    rebase_name: str = ""


def specifies_current_dir(path: str) -> bool:
    return go_base(path) == "."


def has_trailing_sep(path: str) -> bool:
    return path.endswith("/")


def asserts_directory(path: str) -> bool:
    return has_trailing_sep(path) or specifies_current_dir(path)


def go_base(p: str) -> str:
    if p == "":
        return "."
    p = p.rstrip("/")
    return "/" if p == "" else p.rsplit("/", 1)[-1]


def go_clean(p: str) -> str:
    return posixpath.normpath(p) if p else "."


def split_path_dir_entry(path: str) -> tuple[str, str]:
    """SplitPathDirEntry: clean, but keep a trailing "." that names the current directory."""
    cleaned = go_clean(path)
    if specifies_current_dir(path):
        cleaned = cleaned.rstrip("/") + "/." if cleaned != "/" else "/."
    return posixpath.dirname(cleaned) or ".", go_base(cleaned)


def rebase_name(path: str, resolved: str) -> tuple[str, str]:
    """GetRebaseName: (resolved path keeping the trailing "/." or "/", rebase name or "")."""
    if specifies_current_dir(path) and not specifies_current_dir(resolved):
        resolved += "/."
    if has_trailing_sep(path) and not has_trailing_sep(resolved):
        resolved += "/"
    return resolved, (go_base(path) if go_base(path) != go_base(resolved) else "")


def prepare_archive_copy(src: CopyInfo, dst: CopyInfo) -> tuple[str, str | None, str | None]:
    """PrepareArchiveCopy: (directory to extract into, old base, new base); no rename when the
    bases are None."""
    dst_dir, dst_base = split_path_dir_entry(dst.path)
    _, src_base = split_path_dir_entry(src.path)
    if src.rebase_name:
        src_base = src.rebase_name
    if dst.exists and dst.is_dir:
        return dst.path, None, None
    if dst.exists and src.is_dir:
        raise CopyError(ERR_CANNOT_COPY_DIR)
    if dst.exists or src.is_dir:
        return dst_dir, src_base, dst_base
    if asserts_directory(dst.path):
        raise CopyError(ERR_DIR_NOT_EXISTS)
    return dst_dir, src_base, dst_base


def rebase_entry(name: str, old: str | None, new: str | None) -> str:
    """strings.Replace(name, old, new, 1), as RebaseArchiveEntries does."""
    if old is None or new is None or old == "":
        return name
    if old == "/":   # the container's root: "/", "/bin" ... become new, new/bin ...
        rest = name.lstrip("/")
        return f"{new}/{rest}" if rest else new
    return name.replace(old, new, 1)


# ---- local side -------------------------------------------------------------------------------


def copy_info_source(path: str, follow_link: bool) -> CopyInfo:
    """CopyInfoSourcePath: the parent's symlinks are resolved; the last element only with -L."""
    if follow_link:
        resolved = os.path.realpath(path)
        resolved, rebase = rebase_name(path, resolved)
    else:
        cut = path.rfind("/") + 1                     # filepath.Split: the dir keeps its slash
        head, base = path[:cut], path[cut:]
        resolved = os.path.realpath(head or ".").rstrip("/") + "/" + base
        rebase = go_base(path) if has_trailing_sep(path) and go_base(path) != go_base(resolved) else ""
    st = os.lstat(resolved)
    return CopyInfo(resolved, True, stat.S_ISDIR(st.st_mode), rebase)


def copy_info_destination(path: str) -> CopyInfo:
    """CopyInfoDestinationPath: symlinks at the destination are followed (up to 10 times)."""
    original = path
    n = 0
    while True:
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            break
        if not stat.S_ISLNK(st.st_mode):
            return CopyInfo(path, True, stat.S_ISDIR(st.st_mode))
        n += 1
        if n > 10:
            raise CopyError(f"too many symlinks in {original}")
        target = os.readlink(path)
        if not target.startswith("/"):
            target = os.path.join(split_path_dir_entry(path)[0], target)
        path = target
    parent = split_path_dir_entry(path)[0]
    try:
        pst = os.stat(parent)
    except FileNotFoundError:
        raise CopyError(f"stat {parent}: no such file or directory") from None
    if not stat.S_ISDIR(pst.st_mode):
        raise CopyError(ERR_NOT_DIRECTORY)
    return CopyInfo(path)


def tar_source(src: CopyInfo, out: IO[bytes], old: str | None = None, new: str | None = None) -> None:
    """TarResource(+RebaseArchiveEntries): the source under its base name (or the rebase name)."""
    src_dir, src_base = split_path_dir_entry(src.path)
    top = src.rebase_name or src_base
    with tarfile.open(fileobj=out, mode="w|", format=tarfile.PAX_FORMAT) as tf:
        root = os.path.join(src_dir, src_base)
        for rel, full in _walk(root):
            name = top + ("/" + rel if rel else "")
            ti = tf.gettarinfo(full, arcname=rebase_entry(name, old, new))
            if ti is None:
                continue
            if ti.isreg():
                with open(full, "rb") as f:
                    tf.addfile(ti, f)
            else:
                tf.addfile(ti)


def _walk(root: str) -> Iterator[tuple[str, str]]:
    yield "", root
    if not os.path.isdir(root) or os.path.islink(root):
        return
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        rel_dir = os.path.relpath(dirpath, root)
        for n in sorted(dirnames + filenames):
            rel = n if rel_dir == "." else f"{rel_dir}/{n}"
            yield rel, os.path.join(dirpath, n)


class _NoChownTar(tarfile.TarFile):
    """NoLchown: extracted files belong to whoever runs the CLI, as with docker cp."""

    def chown(self, *args: Any, **kwargs: Any) -> None:
        return None


def _inside(dest_real: str, path: str) -> bool:
    return path == dest_real or path.startswith(dest_real.rstrip("/") + "/")


def untar(stream: IO[bytes], dest: str, old: str | None = None, new: str | None = None) -> None:
    """Untar with NoOverwriteDirNonDir and docker's breakout checks: every entry (and hardlink
    target) must resolve inside dest; an existing non-directory is replaced, never written through."""
    dest_real = os.path.realpath(dest)
    with _NoChownTar.open(fileobj=stream, mode="r|*") as tf:
        for m in tf:
            m.name = rebase_entry(m.name, old, new)
            if m.islnk():
                m.linkname = rebase_entry(m.linkname, old, new)
            name = go_clean(m.name.lstrip("/"))
            if name == "." and m.isdir():
                continue
            if name == ".." or name.startswith("../"):
                raise CopyError(f"invalid tar entry {m.name!r}: path escapes the destination")
            target = os.path.join(dest_real, name)
            if not _inside(dest_real, os.path.realpath(os.path.dirname(target))):
                raise CopyError(f"invalid tar entry {m.name!r}: breakout of the destination")
            if m.islnk() and not _inside(dest_real, os.path.realpath(os.path.join(dest_real, m.linkname))):
                raise CopyError(f"invalid hardlink {m.linkname!r}: breakout of the destination")
            if m.ischr() or m.isblk():
                continue   # device nodes are not created on the client
            try:
                st = os.lstat(target)
            except FileNotFoundError:
                st = None
            if st is not None:
                if stat.S_ISDIR(st.st_mode) and not m.isdir():
                    raise CopyError(f'cannot overwrite directory "{target}" with non-directory "{name}"')
                if not stat.S_ISDIR(st.st_mode) and m.isdir():
                    raise CopyError(f'cannot overwrite non-directory "{target}" with directory "{name}"')
                if not m.isdir():
                    os.unlink(target)
            m.name = name
            tf.extract(m, dest_real, set_attrs=True, filter="fully_trusted")
