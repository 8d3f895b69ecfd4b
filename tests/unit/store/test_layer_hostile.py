"""Hostile layer tars: every escape attempt is refused or contained, and nothing outside the data
root is ever touched (a canary directory next to it is checked after each case)."""

from __future__ import annotations

import io
import os
import tarfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tugboat.errors import InvalidArgument
from tugboat.store.layers import LayerStore

from .helpers import dir_, make_tar, node, reg


@pytest.fixture
def canary(tmp_path: Path) -> Iterator[Path]:
    d = tmp_path / "canary"
    d.mkdir()
    f = d / "file"
    f.write_bytes(b"precious")
    os.utime(f, ns=(1_000_000_000, 1_000_000_000))
    os.utime(d, ns=(1_000_000_000, 1_000_000_000))
    before = sorted(os.listdir(d)), os.lstat(d).st_mtime_ns, os.lstat(f).st_mtime_ns, os.lstat(f).st_mode
    yield d
    after = sorted(os.listdir(d)), os.lstat(d).st_mtime_ns, os.lstat(f).st_mtime_ns, os.lstat(f).st_mode
    assert f.read_bytes() == b"precious"
    assert after == before


def _register(store: LayerStore, entries: list) -> Path:
    layer = store.register(io.BytesIO(make_tar(entries)), None)
    return store.layer_path(layer.chain_id)


def _assert_nothing_registered(store: LayerStore) -> None:
    assert store.layers() == []
    assert os.listdir(store.home / "l") == []


@pytest.mark.parametrize("name", ["../x", "a/../../x", "../../../../../../../tmp/evil"])
def test_dotdot_is_refused(store: LayerStore, canary: Path, name: str) -> None:
    with pytest.raises(InvalidArgument, match="escapes"):
        _register(store, [reg(name, b"evil")])
    _assert_nothing_registered(store)


def test_dotdot_inside_is_cleaned(store: LayerStore, canary: Path) -> None:
    root = _register(store, [reg("a/../b", b"ok")])
    assert (root / "b").read_bytes() == b"ok"


def test_absolute_path_is_contained(store: LayerStore, canary: Path) -> None:
    root = _register(store, [reg(str(canary / "file"), b"evil"), reg("/etc/x", b"y")])
    assert (root / str(canary / "file").lstrip("/")).read_bytes() == b"evil"
    assert (root / "etc/x").read_bytes() == b"y"


@pytest.mark.parametrize("how", ["root", "absolute", "relative"])
def test_write_through_symlink_is_contained(store: LayerStore, canary: Path, how: str) -> None:
    """``link -> /`` (or -> the canary, absolutely or by climbing) then ``link/...``: the write is
    resolved inside the layer, as inside a chroot, so it lands at <layer>/<canary path>/file."""
    inside = str(canary).lstrip("/")
    target, entry = {
        "root": ("/", f"link/{inside}/file"),
        "absolute": (str(canary), "link/file"),
        "relative": ("../" * 12 + inside, "link/file"),
    }[how]
    root = _register(store, [node("link", tarfile.SYMTYPE, target), reg(entry, b"evil")])
    assert os.readlink(root / "link") == target
    assert (root / inside / "file").read_bytes() == b"evil"


def test_symlink_chain_and_loops(store: LayerStore, canary: Path) -> None:
    root = _register(store, [
        node("a", tarfile.SYMTYPE, "b"), node("b", tarfile.SYMTYPE, "/" + str(canary).lstrip("/")),
        reg("a/file", b"contained"),
    ])
    assert (root / str(canary).lstrip("/") / "file").read_bytes() == b"contained"
    with pytest.raises(InvalidArgument, match="symbolic links"):
        _register(store, [node("x", tarfile.SYMTYPE, "y"), node("y", tarfile.SYMTYPE, "x"), reg("x/f", b"")])


def test_final_symlink_is_replaced_not_followed(store: LayerStore, canary: Path) -> None:
    root = _register(store, [node("f", tarfile.SYMTYPE, str(canary / "file")), reg("f", b"replaced")])
    assert not (root / "f").is_symlink() and (root / "f").read_bytes() == b"replaced"


def test_dir_replaced_by_symlink_gets_no_deferred_times(store: LayerStore, canary: Path) -> None:
    root = _register(store, [dir_("d", mtime=5), node("d", tarfile.SYMTYPE, str(canary))])
    assert (root / "d").is_symlink()


@pytest.mark.parametrize("target", ["/etc/passwd", "etc/passwd", "../../../../etc/passwd", "missing"])
def test_hardlink_outside_or_missing_is_refused(store: LayerStore, canary: Path, target: str) -> None:
    with pytest.raises(InvalidArgument):
        _register(store, [node("h", tarfile.LNKTYPE, target)])
    _assert_nothing_registered(store)


def test_hardlink_through_symlink_to_host_is_refused(store: LayerStore, canary: Path) -> None:
    with pytest.raises(InvalidArgument):
        _register(store, [node("l", tarfile.SYMTYPE, str(canary)), node("h", tarfile.LNKTYPE, "l/file")])
    assert os.lstat(canary / "file").st_nlink == 1


@pytest.mark.parametrize("kind,major,minor", [(tarfile.CHRTYPE, 1, 3), (tarfile.BLKTYPE, 8, 0),
                                              (tarfile.BLKTYPE, 0, 0)])
def test_device_nodes_are_refused(store: LayerStore, canary: Path, kind: bytes, major: int, minor: int) -> None:
    with pytest.raises(InvalidArgument, match="device"):
        _register(store, [node("dev/null", kind, devmajor=major, devminor=minor)])
    _assert_nothing_registered(store)


def test_whiteout_device_is_allowed(store: LayerStore, canary: Path) -> None:
    root = _register(store, [node("gone", tarfile.CHRTYPE, devmajor=0, devminor=0)])
    st = os.lstat(root / "gone")
    assert st.st_rdev == 0


def test_trusted_xattrs_are_ignored(store: LayerStore, canary: Path) -> None:
    d, _ = dir_("d")
    d.pax_headers = {"SCHILY.xattr.trusted.overlay.opaque": "y",
                     "SCHILY.xattr.trusted.overlay.redirect": "/etc"}
    root = _register(store, [(d, None)])
    assert not [x for x in os.listxattr(root / "d") if x.startswith("trusted.")]


def test_file_under_regular_file_is_refused(store: LayerStore, canary: Path) -> None:
    with pytest.raises(InvalidArgument, match="not a directory"):
        _register(store, [reg("f", b"x"), reg("f/g", b"y")])


def test_sparse_and_unknown_types_are_refused(store: LayerStore, canary: Path) -> None:
    with pytest.raises(InvalidArgument):
        _register(store, [node("c", tarfile.CONTTYPE)])
    f, data = reg("s", b"abc")
    f.pax_headers = {"GNU.sparse.major": "1", "GNU.sparse.minor": "0"}
    with pytest.raises(InvalidArgument, match="sparse"):
        _register(store, [(f, data)])


def test_failed_register_leaves_no_temporaries(store: LayerStore, canary: Path) -> None:
    with pytest.raises(InvalidArgument):
        _register(store, [reg("ok", b"x" * 10000), reg("../bad", b"")])
    assert os.listdir(store.home / "tmp") == []
    _assert_nothing_registered(store)


def test_deep_nesting_and_overlong_paths(store: LayerStore, canary: Path, tmp_path: Path) -> None:
    """Deeper than Python's recursion limit still works everywhere; beyond PATH_MAX is refused."""
    deep = "/".join(["a"] * 1500)
    data = make_tar([reg(deep + "/f", b"deep")])
    layer = store.register(io.BytesIO(data), None)
    assert b"".join(store.tar(layer.chain_id)) == data
    store.create_rw("deep", layer.chain_id)
    assert store.rw_changes("deep") == []
    store.remove_rw("deep")
    with pytest.raises(InvalidArgument):
        _register(store, [reg("/".join(["b"] * 2100) + "/f", b"x")])
    assert store.prune([]) == [layer.chain_id]      # pytest's own rmtree could not remove it
    assert os.listdir(store.home / "tmp") == [] and os.listdir(store.home / "l") == []


def test_huge_pax_header_is_refused(store: LayerStore, canary: Path) -> None:
    f, data = reg("f", b"x")
    f.pax_headers = {"comment": "x" * (2 << 20)}
    with pytest.raises(InvalidArgument, match="too large"):
        _register(store, [(f, data)])


def test_implicit_parents_ignore_umask(store: LayerStore, canary: Path) -> None:
    old = os.umask(0o077)
    try:
        root = _register(store, [reg("usr/bin/tool", b"x", mode=0o755)])
    finally:
        os.umask(old)
    assert (os.lstat(root).st_mode & 0o777) == 0o755
    assert (os.lstat(root / "usr").st_mode & 0o777) == 0o755
    assert (os.lstat(root / "usr/bin/tool").st_mode & 0o777) == 0o755
