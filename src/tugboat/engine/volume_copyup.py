"""Copy-up: a new, empty volume is first filled with what the image has at the mount point.

dockerd does this when a container is created (populateVolumes -> copyExistingContents): the
image's directory is copied into the volume only if the volume is empty, with owners, modes,
timestamps, extended attributes, symlinks and hard links, and the volume's top directory takes
the owner and mode of the image's.  The path is resolved inside the container's root (its
symlinks cannot point the copy at the host); nothing runs in the container yet, so nothing can
race the copy.  ``cp -a`` never follows a symlink below the top.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from tugboat.errors import TugboatError
from tugboat.store.fsutil import copy_contents
from tugboat.store.rootfs_archive import follow_in_scope, host_path


def image_dir(rootfs: str, destination: str) -> str | None:
    """The host path of the container's ``destination`` directory, or None if it is not one."""
    src = host_path(rootfs, follow_in_scope(rootfs, destination))
    try:
        st = os.lstat(src)
    except OSError:
        return None
    return src if stat.S_ISDIR(st.st_mode) else None


def copy_up(rootfs: str, destination: str, volume_dir: Path) -> None:
    """Fill an empty ``volume_dir`` from the image content at ``destination`` (no-op otherwise)."""
    src = image_dir(rootfs, destination)
    if src is None:
        return
    with os.scandir(volume_dir) as it:
        if any(True for _ in it):
            return
    try:
        copy_contents(src, volume_dir)
    except OSError as e:
        raise TugboatError(f"failed to copy image content at {destination} into the volume: {e}") from None
    st = os.lstat(src)
    os.chown(volume_dir, st.st_uid, st.st_gid)
    os.chmod(volume_dir, stat.S_IMODE(st.st_mode))
