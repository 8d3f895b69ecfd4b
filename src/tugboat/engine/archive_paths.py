"""Container paths for the archive API (``docker cp``), resolved as a chroot would.

The rootfs of a container is controlled by whoever runs in it: ``/evil -> /etc`` or
``up -> ../../..`` must lead to ``<rootfs>/etc`` and ``<rootfs>``, never to the host's
``/etc``.  So no host path is handed to the kernel until every symlink in it has been
evaluated here, inside the rootfs (moby's pkg/symlink FollowSymlinkInScope): absolute
targets restart at the rootfs, ``..`` stops at it.

Also here: the ``X-Docker-Container-Path-Stat`` header (types.ContainerPathStat with Go's
os.FileMode bits) and Go's ``filepath.Base``/``Split`` semantics that the API keeps for
trailing ``/`` and ``/.`` (archive.PreserveTrailingDotOrSeparator).
"""

from __future__ import annotations

import base64
import json
import os
import posixpath
import stat
from typing import Any

from tugboat.api.timefmt import rfc3339nano
from tugboat.errors import InvalidArgument
from tugboat.fsscope import resolve_in_scope

MAX_SYMLINKS = 255

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
    return {"name": name, "size": st.st_size, "mode": go_file_mode(st.st_mode),
            "mtime": rfc3339nano(st.st_mtime_ns), "linkTarget": link_target}


def encode_stat(ps: dict[str, Any]) -> str:
    """The header value: base64 (standard alphabet) of the JSON."""
    return base64.b64encode(json.dumps(ps, separators=(",", ":")).encode()).decode()


def decode_stat(value: str) -> dict[str, Any]:
    return dict(json.loads(base64.b64decode(value)))


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
