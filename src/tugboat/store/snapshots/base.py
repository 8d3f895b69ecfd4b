"""The snapshot driver interface and what the drivers share.

Vocabulary (containerd's): a *layer* is an immutable directory holding one diff as unpacked by
``store.untar``; a *rw layer* belongs to one container and is the only writable part of its rootfs;
a *mount* describes how the runtime assembles the rootfs (the store never mounts a container).
``lowers`` are always given bottom -> top.

The *lower view* (``LowerTree``) is the merged content of a chain of layers with whiteouts applied,
as a tree of nodes pointing at the layer file that wins.  vfs copies it to build a rootfs, and both
drivers compare against it to list a container's changes.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from tugboat.store.idmap import IdMap
from tugboat.store.tarstream import walk

WHITEOUT_PREFIX = ".wh."
WHITEOUT_META_PREFIX = ".wh..wh."
WHITEOUT_OPAQUE = ".wh..wh..opq"
OPAQUE_XATTR = "trusted.overlay.opaque"
CAPABILITY_XATTR = "security.capability"

Change = tuple[str, str]  # ("A" | "C" | "D", "/path")


@dataclass(frozen=True)
class Mount:
    """One mount(2) to perform at the container's rootfs, as containerd's mount.Mount."""

    type: str
    source: str
    options: list[str]


class SnapshotDriver(Protocol):
    name: str
    overlay_whiteouts: bool   # unpack whiteouts as overlayfs devices/xattrs (else literal .wh. files)
    idmap: IdMap | None       # userns-remap: files are owned by host ids, diffs map them back

    def layer_dir(self, cache_id: str) -> Path: ...
    def check_depth(self, rw_dir: Path, lowers: list[Path]) -> None: ...
    def create_rw(self, rw_dir: Path, lowers: list[Path]) -> None: ...
    def mounts(self, rw_dir: Path, lowers: list[Path]) -> list[Mount]: ...
    def changes(self, rw_dir: Path, lowers: list[Path]) -> list[Change]: ...
    def diff(self, rw_dir: Path, lowers: list[Path]) -> Iterator[bytes]: ...
    def size(self, rw_dir: Path, lowers: list[Path]) -> int: ...


class Node:
    """One path of the lower view: the winning layer file and, for a directory, its children."""

    __slots__ = ("path", "st", "children")

    def __init__(self, path: str, st: os.stat_result) -> None:
        self.path = path
        self.st = st
        self.children: dict[str, Node] | None = {} if stat.S_ISDIR(st.st_mode) else None


def is_overlay_whiteout(st: os.stat_result) -> bool:
    return stat.S_ISCHR(st.st_mode) and st.st_rdev == 0


def is_opaque(path: str) -> bool:
    try:
        return os.getxattr(path, OPAQUE_XATTR, follow_symlinks=False) == b"y"
    except OSError:
        return False


def lower_tree(lowers: list[Path], overlay: bool) -> Node:
    """Merge layers bottom -> top: whiteouts and opaque dirs hide what is below them, a non-directory
    replaces a directory tree, a directory over a directory merges."""
    root = Node("", os.stat("/"))          # any directory: the root's children are what counts
    for layer in lowers:
        root.path, root.st = os.fspath(layer), os.lstat(layer)
        entries = list(walk(layer))
        for rel, path, st in entries:               # deletions first: they only hide lower layers
            head, _, base = rel.rpartition("/")
            if overlay:
                if is_overlay_whiteout(st):
                    _pop(root, rel)
                elif stat.S_ISDIR(st.st_mode) and is_opaque(path):
                    _clear(root, rel)
            elif base == WHITEOUT_OPAQUE:
                _clear(root, head)
            elif base.startswith(WHITEOUT_PREFIX) and not base.startswith(WHITEOUT_META_PREFIX):
                _pop(root, (head + "/" if head else "") + base[len(WHITEOUT_PREFIX):])
        for rel, path, st in entries:
            base = rel.rpartition("/")[2]
            if (overlay and is_overlay_whiteout(st)) or (not overlay and base.startswith(WHITEOUT_PREFIX)):
                continue
            _put(root, rel, path, st)
    return root


def _find(root: Node, rel: str) -> Node | None:
    node: Node | None = root
    for part in rel.split("/") if rel else []:
        if node is None or node.children is None:
            return None
        node = node.children.get(part)
    return node


def _pop(root: Node, rel: str) -> None:
    head, _, base = rel.rpartition("/")
    parent = _find(root, head)
    if parent is not None and parent.children is not None:
        parent.children.pop(base, None)


def _clear(root: Node, rel: str) -> None:
    node = _find(root, rel)
    if node is not None and node.children is not None:
        node.children.clear()


def _put(root: Node, rel: str, path: str, st: os.stat_result) -> None:
    head, _, base = rel.rpartition("/")
    parent = _find(root, head)
    if parent is None or parent.children is None:
        return                                      # walk() yields parents first; cannot happen
    old = parent.children.get(base)
    if old is not None and old.children is not None and stat.S_ISDIR(st.st_mode):
        old.path, old.st = path, st
    else:
        parent.children[base] = Node(path, st)


def iter_tree(node: Node) -> Iterator[tuple[str, Node]]:
    """(relative path, node) of every descendant, parents first, sorted by name (iteratively)."""
    stack = [_children("", node)]
    while stack:
        item = next(stack[-1], None)
        if item is None:
            stack.pop()
            continue
        yield item
        if item[1].children is not None:
            stack.append(_children(item[0], item[1]))


def _children(rel: str, node: Node) -> Iterator[tuple[str, Node]]:
    kids = node.children or {}
    for name in sorted(kids):
        yield (f"{rel}/{name}" if rel else name), kids[name]


def _cap(path: str) -> bytes | None:
    try:
        return os.getxattr(path, CAPABILITY_XATTR, follow_symlinks=False)
    except OSError:
        return None


def differs(lower: Node, path: str, st: os.stat_result) -> bool:
    """Docker's ChangesDirs test: mode, owner, device, size (not for dirs), mtime, capabilities."""
    a = lower.st
    if (a.st_mode, a.st_uid, a.st_gid, a.st_rdev) != (st.st_mode, st.st_uid, st.st_gid, st.st_rdev):
        return True
    if not stat.S_ISDIR(st.st_mode) and a.st_size != st.st_size:
        return True
    if a.st_mtime_ns != st.st_mtime_ns:
        return True
    if stat.S_ISLNK(st.st_mode):
        return os.readlink(lower.path) != os.readlink(path)
    return _cap(lower.path) != _cap(path)


def changes_against(tree: Node, top: Path) -> list[Change]:
    """Changes of the full tree ``top`` (a vfs rootfs) relative to the lower view (unsorted)."""
    out: list[Change] = []
    base = os.fspath(top)

    def added_below(rel: str) -> None:
        out.extend(("A", f"/{rel}/{sub}") for sub, _p, _st in walk(os.path.join(base, rel)))

    stack: list[tuple[Node, str]] = [(tree, "")]
    while stack:
        node, rel = stack.pop()
        here = os.path.join(base, rel) if rel else base
        names = set(os.listdir(here))
        lower = node.children or {}
        for name in names | set(lower):
            r = f"{rel}/{name}" if rel else name
            if name not in names:
                out.append(("D", "/" + r))
                continue
            p = os.path.join(here, name)
            st = os.lstat(p)
            ln = lower.get(name)
            if ln is None:
                out.append(("A", "/" + r))
            elif differs(ln, p, st):
                out.append(("C", "/" + r))
            if stat.S_ISDIR(st.st_mode):
                if ln is not None and ln.children is not None:
                    stack.append((ln, r))
                else:
                    added_below(r)
    return out


def regular_size(paths: Iterator[tuple[str, os.stat_result]]) -> int:
    """Bytes of regular files, each inode counted once (hardlinks are not double counted)."""
    seen: set[tuple[int, int]] = set()
    total = 0
    for _p, st in paths:
        if stat.S_ISREG(st.st_mode) and (st.st_dev, st.st_ino) not in seen:
            seen.add((st.st_dev, st.st_ino))
            total += st.st_size
    return total


def exists_in_view(lowers: list[Path], rel: str, overlay: bool) -> bool:
    """Whether ``rel`` is visible in the merged chain, without merging it all.  A symlink on the
    way counts as existing (Docker's init layer must not shadow an image's symlinked /etc)."""
    parts = [p for p in rel.split("/") if p]
    for layer in reversed(lowers):
        cur = os.fspath(layer)
        opaque_above = False
        for i, comp in enumerate(parts):
            nxt = os.path.join(cur, comp)
            if not overlay and os.path.lexists(os.path.join(cur, WHITEOUT_PREFIX + comp)):
                return False
            try:
                st = os.lstat(nxt)
            except (FileNotFoundError, NotADirectoryError):
                if opaque_above:
                    return False
                break                              # not in this layer: look below
            if overlay and is_overlay_whiteout(st):
                return False
            if i == len(parts) - 1 or stat.S_ISLNK(st.st_mode):
                return True
            if not stat.S_ISDIR(st.st_mode):
                return False
            opaque_above = opaque_above or (is_opaque(nxt) if overlay else
                                            os.path.lexists(os.path.join(nxt, WHITEOUT_OPAQUE)))
            cur = nxt
    return False


# Docker's init layer (daemon/initlayer): mount points and files every container expects, kept
# in a layer of their own between the image and the rw layer so that ``diff``/``commit`` skip them.
INIT_LAYER: list[tuple[str, str]] = [
    ("dev/pts", "dir"), ("dev/shm", "dir"), ("proc", "dir"), ("sys", "dir"), (".dockerenv", "file"),
    ("etc/resolv.conf", "file"), ("etc/hosts", "file"), ("etc/hostname", "file"),
    ("dev/console", "file"), ("etc/mtab", "/proc/mounts"),
]


def make_init_layer(target: Path, lowers: list[Path], overlay: bool, idmap: IdMap | None = None) -> None:
    """Create in ``target`` whatever of ``INIT_LAYER`` the image does not have, as Docker does
    (owned by the container's root: the remapped one with ``idmap``)."""
    target.mkdir()
    os.chmod(target, 0o755)
    try:
        _make_init_entries(target, lowers, overlay)
    finally:
        if idmap is not None:
            uid, gid = idmap.root
            for _rel, path, _st in walk(target):
                os.chown(path, uid, gid, follow_symlinks=False)
            os.chown(target, uid, gid)


def _make_init_entries(target: Path, lowers: list[Path], overlay: bool) -> None:
    for rel, kind in INIT_LAYER:
        if exists_in_view(lowers, rel, overlay):
            continue
        head, _, base = rel.rpartition("/")
        parent = target / head if head else target
        if head:
            for i in range(len(head.split("/"))):
                d = target.joinpath(*head.split("/")[:i + 1])
                if not d.exists():
                    d.mkdir()
                    os.chmod(d, 0o755)
        if kind == "dir":
            (parent / base).mkdir()
            os.chmod(parent / base, 0o755)
        elif kind == "file":
            fd = os.open(parent / base, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o755)
            os.close(fd)
            os.chmod(parent / base, 0o755)
        else:
            os.symlink(kind, parent / base)
