"""overlay2: every layer is a lower directory of an overlayfs mount, shared by all containers.

Layers are unpacked in overlayfs's own whiteout format (char 0/0 devices, ``trusted.overlay.opaque``)
so they can be stacked directly; ``diff`` converts the container's upper directory back to the
Docker/OCI tar format.  The runtime mounts with absolute paths, so Docker's ``l/`` relative-symlink
trick does not apply: layer directories are instead named by 12 hex digits right under
``<home>/l/`` to keep the ``lowerdir=`` list short, and a chain whose mount data would exceed one
page (the kernel's limit for mount options) is refused with a clear error.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import secrets
import shutil
import stat
from collections.abc import Iterator
from functools import cached_property
from pathlib import Path

from tugboat.errors import InvalidArgument
from tugboat.store.idmap import IdMap
from tugboat.store.snapshots.base import (
    Change,
    Mount,
    Node,
    is_opaque,
    is_overlay_whiteout,
    lower_tree,
    regular_size,
)
from tugboat.store.tarstream import TarWriter, walk

PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")
_FORBIDDEN_IN_PATH = (",", ":", "\\")


class OverlayDriver:
    name = "overlay2"
    overlay_whiteouts = True

    def __init__(self, home: Path, idmap: IdMap | None = None) -> None:
        self.idmap = idmap
        if any(c in os.fspath(home) for c in _FORBIDDEN_IN_PATH):
            raise InvalidArgument(f"overlay2: data root {home} must not contain ',', ':' or '\\'")
        self.home = home
        self.empty = home / "empty"
        self.empty.mkdir(parents=True, exist_ok=True)
        os.chmod(self.empty, 0o755)

    def layer_dir(self, cache_id: str) -> Path:
        return self.home / "l" / cache_id

    def _options(self, rw_dir: Path, lowers: list[Path]) -> list[str]:
        lower = ":".join(os.fspath(p) for p in reversed(lowers)) if lowers else os.fspath(self.empty)
        opts = [f"lowerdir={lower}", f"upperdir={rw_dir / 'upper'}", f"workdir={rw_dir / 'work'}"]
        return opts + self.extra_options

    @cached_property
    def extra_options(self) -> list[str]:
        """Features that would make the upper dir an incomplete diff (a renamed directory kept as a
        redirect xattr, metadata-only copy-ups) are switched off where the kernel enables them."""
        out = []
        for feature in ("redirect_dir", "metacopy", "index"):
            try:
                if Path(f"/sys/module/overlay/parameters/{feature}").read_text().strip() == "Y":
                    out.append(f"{feature}=off")
            except OSError:
                pass
        return out

    def check_depth(self, rw_dir: Path, lowers: list[Path]) -> None:
        data = ",".join(self._options(rw_dir, lowers))
        if len(data) + 1 > PAGE_SIZE:
            raise InvalidArgument(
                f"overlay2: image has too many layers ({len(lowers)}): the mount options would be "
                f"{len(data)} bytes, over the kernel's limit of {PAGE_SIZE - 1}")

    def create_rw(self, rw_dir: Path, lowers: list[Path]) -> None:
        self.check_depth(rw_dir, lowers)
        (rw_dir / "upper").mkdir()
        (rw_dir / "work").mkdir(mode=0o700)
        os.chmod(rw_dir / "upper", 0o755)
        if lowers:   # the merged root's attributes come from the upper dir: start from the image's
            st = os.lstat(lowers[-1])
            os.chown(rw_dir / "upper", st.st_uid, st.st_gid)
            os.chmod(rw_dir / "upper", stat.S_IMODE(st.st_mode))
        elif self.idmap is not None:
            os.chown(rw_dir / "upper", *self.idmap.root)

    def mounts(self, rw_dir: Path, lowers: list[Path]) -> list[Mount]:
        self.check_depth(rw_dir, lowers)
        return [Mount("overlay", "overlay", self._options(rw_dir, lowers))]

    def changes(self, rw_dir: Path, lowers: list[Path]) -> list[Change]:
        """Walk the upper dir: whiteout devices are deletions, an entry the lower view has is a
        change, anything else an addition; an opaque directory deletes the lower children it
        does not have again."""
        out: list[Change] = []
        upper = os.fspath(rw_dir / "upper")
        stack: list[tuple[str, Node | None]] = [("", lower_tree(lowers, overlay=True))]
        while stack:
            rel, node = stack.pop()
            here = os.path.join(upper, rel) if rel else upper
            for name in os.listdir(here):
                r = f"{rel}/{name}" if rel else name
                p = os.path.join(here, name)
                st = os.lstat(p)
                lower = node.children.get(name) if node is not None and node.children is not None else None
                if is_overlay_whiteout(st):
                    out.append(("D", "/" + r))
                    continue
                out.append(("C" if lower is not None else "A", "/" + r))
                if stat.S_ISDIR(st.st_mode):
                    if is_opaque(p) and lower is not None and lower.children is not None:
                        present = set(os.listdir(p))
                        out.extend(("D", f"/{r}/{n}") for n in lower.children if n not in present)
                        lower = None
                    stack.append((r, lower))
        return sorted(out, key=lambda c: c[1])

    def diff(self, rw_dir: Path, lowers: list[Path]) -> Iterator[bytes]:
        """The upper dir as a Docker tar: whiteout devices become ``.wh.`` files, an opaque
        directory is followed by its ``.wh..wh..opq`` marker (moby's overlay ConvertWrite)."""
        w = TarWriter(self.idmap)
        for rel, path, st in walk(rw_dir / "upper"):
            if is_overlay_whiteout(st):
                yield w.whiteout(rel, st.st_uid, st.st_gid, int(st.st_mtime), 0o600)
                continue
            try:
                yield from w.entry(path, rel)
            except FileNotFoundError:
                continue
            if stat.S_ISDIR(st.st_mode) and is_opaque(path):
                yield w.whiteout(rel + "/" + ".wh..opq", st.st_uid, st.st_gid, int(st.st_mtime),
                                 stat.S_IMODE(st.st_mode))
        yield w.end()

    def size(self, rw_dir: Path, lowers: list[Path]) -> int:
        return regular_size((p, st) for _r, p, st in walk(rw_dir / "upper"))


_MS_NOSUID, _MS_NODEV = 2, 4


def overlay_supported(data_root: Path) -> bool:
    """Whether an overlay mount (with a trusted.* xattr for opaque dirs) works on ``data_root``'s
    filesystem: tried for real in a throw-away directory, then unmounted and removed."""
    if any(c in os.fspath(data_root) for c in _FORBIDDEN_IN_PATH):
        return False
    libc_name = ctypes.util.find_library("c")
    if not libc_name:
        return False
    libc = ctypes.CDLL(libc_name, use_errno=True)
    for stale in data_root.glob("overlay-probe-*"):      # a probe a killed tugd left mounted
        libc.umount2(os.fsencode(stale / "m"), 2)
        shutil.rmtree(stale, ignore_errors=True)
    probe = data_root / f"overlay-probe-{secrets.token_hex(4)}"
    try:
        for sub in ("l1", "l2", "u", "w", "m"):
            (probe / sub).mkdir(parents=True)
        os.setxattr(probe / "l2", "trusted.overlay.opaque", b"y")
        data = f"lowerdir={probe / 'l2'}:{probe / 'l1'},upperdir={probe / 'u'},workdir={probe / 'w'}"
        target = os.fsencode(probe / "m")
        if libc.mount(b"overlay", target, b"overlay", _MS_NOSUID | _MS_NODEV, data.encode()) != 0:
            return False
        try:
            (probe / "m" / "x").write_bytes(b"")
            ok = (probe / "u" / "x").exists()
        finally:
            libc.umount2(target, 2)  # MNT_DETACH
        return ok
    except OSError:
        return False
    finally:
        shutil.rmtree(probe, ignore_errors=True)
