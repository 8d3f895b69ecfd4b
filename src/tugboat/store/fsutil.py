"""File-tree helpers that stay safe on trees a container or a hostile layer shaped.

``shutil.rmtree`` recurses (a tree nested deeper than Python's recursion limit cannot be removed)
and builds absolute paths (a container can nest directories beyond PATH_MAX as seen from the host).
``remove_tree`` walks with one directory fd at a time relative to its parent, never follows a
symlink, and refuses to descend into anything mounted below the tree.
"""

from __future__ import annotations

import errno
import os
import stat
import subprocess
from pathlib import Path

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


def mounts_below(path: Path | str) -> list[str]:
    """Mount points at or below ``path`` (from /proc/self/mountinfo)."""
    prefix = os.path.realpath(path)
    out = []
    try:
        with open("/proc/self/mountinfo", encoding="utf-8", errors="surrogateescape") as f:
            for line in f:
                fields = line.split(" ")
                if len(fields) > 4:
                    mp = _unescape(fields[4])
                    if mp == prefix or mp.startswith(prefix.rstrip("/") + "/"):
                        out.append(mp)
    except OSError:
        pass
    return out


def _unescape(s: str) -> str:
    """mountinfo escapes space, tab, newline and backslash as \\ooo."""
    if "\\" not in s:
        return s
    out, i = [], 0
    while i < len(s):
        if s[i] == "\\" and i + 3 < len(s) + 0 and s[i + 1:i + 4].isdigit():
            out.append(chr(int(s[i + 1:i + 4], 8)))
            i += 4
        else:
            out.append(s[i])
            i += 1
    return "".join(out)


def remove_tree(path: Path | str, check_mounts: bool = True) -> None:
    """Delete ``path`` and everything below it; a missing path is fine.  Raises OSError(EBUSY)
    rather than descend into another filesystem mounted inside the tree (``check_mounts`` also
    looks for bind mounts of the same filesystem; skip it only for private staging trees)."""
    path = os.fspath(path)
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return
    if not stat.S_ISDIR(st.st_mode):
        os.unlink(path)
        return
    busy = mounts_below(path) if check_mounts else []
    if busy:
        raise OSError(errno.EBUSY, f"refusing to remove a tree with mounts inside: {busy[0]}", path)
    fd = os.open(path, _DIR_FLAGS)
    names: list[str] = []
    try:
        while True:
            sub = None
            removed = False
            with os.scandir(fd) as it:
                for entry in it:
                    if entry.is_dir(follow_symlinks=False):
                        sub = entry.name
                        break
                    try:
                        os.unlink(entry.name, dir_fd=fd)
                    except FileNotFoundError:
                        pass
                    removed = True
            if sub is not None:
                child = os.open(sub, _DIR_FLAGS, dir_fd=fd)
                if os.fstat(child).st_dev != st.st_dev:
                    os.close(child)
                    raise OSError(errno.EBUSY, "refusing to cross into another filesystem", sub)
                os.close(fd)
                fd = child
                names.append(sub)
                continue
            if removed:
                continue                       # scan again: readdir may skip while entries go
            if not names:
                break
            parent = os.open("..", _DIR_FLAGS, dir_fd=fd)
            os.close(fd)
            fd = parent
            os.rmdir(names.pop(), dir_fd=fd)
    finally:
        os.close(fd)
    os.rmdir(path)


def copy_contents(src: str, dst: Path | str) -> None:
    """Copy the contents of directory ``src`` into ``dst`` keeping owners, modes, times, xattrs,
    hard links and symlinks (``cp -a``: what a volume's copy-up must preserve, with no Python
    re-implementation of each file type). OSError with cp's message when it fails."""
    proc = subprocess.run(["cp", "-a", "--", src.rstrip("/") + "/.", str(dst)], capture_output=True, check=False)
    if proc.returncode != 0:
        raise OSError(proc.stderr.decode(errors="replace").strip() or f"cp exited {proc.returncode}")
