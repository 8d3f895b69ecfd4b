"""Crash-safe state files.

Every state file tugd writes goes through ``write_atomic``: the bytes land in a temporary file in the
same directory, are fsynced, renamed over the target and the directory is fsynced.  A daemon killed
at any instant therefore leaves either the old or the new file, never a torn one; leftover
``.tmp-*`` files are ignored by readers and can be removed at any time.
"""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path
from typing import Any

TMP_PREFIX = ".tmp-"


def fsync_dir(path: Path) -> None:
    """Make a rename or unlink inside ``path`` durable."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomic(path: Path | str, data: bytes, mode: int = 0o600) -> None:
    """Replace ``path`` with ``data`` so that readers see the old or the new content, nothing else."""
    path = Path(path)
    tmp = path.parent / f"{TMP_PREFIX}{path.name}.{secrets.token_hex(4)}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, mode)
    try:
        try:
            view = memoryview(data)
            while view:
                n = os.write(fd, view)
                view = view[n:]
            os.fchmod(fd, mode)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    fsync_dir(path.parent)


def write_json(path: Path | str, obj: Any, mode: int = 0o600) -> None:
    """``write_atomic`` of compact, key-sorted JSON (stable bytes for equal objects)."""
    data = json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()
    write_atomic(path, data, mode)


def read_json(path: Path | str, default: Any = None) -> Any:
    """The decoded JSON in ``path``, or ``default`` if the file does not exist."""
    try:
        with open(path, "rb") as f:
            return json.loads(f.read())
    except FileNotFoundError:
        return default


def remove_tmp_files(directory: Path) -> None:
    """Delete temporaries a crashed ``write_atomic`` left behind in ``directory``."""
    try:
        names = os.listdir(directory)
    except FileNotFoundError:
        return
    for name in names:
        if name.startswith(TMP_PREFIX):
            try:
                os.unlink(directory / name)
            except (FileNotFoundError, IsADirectoryError):
                pass
