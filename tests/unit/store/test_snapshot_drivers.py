"""What is particular to each driver: the on-disk whiteout format, overlay's mount limits and
opaque directories, driver selection."""

from __future__ import annotations

import io
import os
import shutil
import stat
import tarfile
from pathlib import Path

import pytest

from tugboat.errors import InvalidArgument
from tugboat.store.layers import LayerStore
from tugboat.store.snapshots.overlay import overlay_supported

from .helpers import can_overlay, dir_, mounted, reg, register

needs_overlay = pytest.mark.skipif(not can_overlay(), reason="needs root and overlayfs")


@needs_overlay
def test_overlay_layers_use_overlay_whiteouts(tmp_path: Path) -> None:
    store = LayerStore(tmp_path / "data", driver="overlay2")
    layer = register(store, [dir_("d"), reg("d/.wh..wh..opq"), reg(".wh.gone"), reg("d/.wh.x")])
    root = store.layer_path(layer.chain_id)
    assert os.getxattr(root / "d", "trusted.overlay.opaque") == b"y"
    for p in (root / "gone", root / "d/x"):
        st = os.lstat(p)
        assert stat.S_ISCHR(st.st_mode) and st.st_rdev == 0
    assert not any(n.startswith(".wh.") for n in os.listdir(root) + os.listdir(root / "d"))


def test_vfs_layers_keep_tar_whiteouts(tmp_path: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root")
    store = LayerStore(tmp_path / "data", driver="vfs")
    layer = register(store, [dir_("d"), reg("d/.wh..wh..opq"), reg(".wh.gone")])
    root = store.layer_path(layer.chain_id)
    assert (root / "d/.wh..wh..opq").is_file() and (root / ".wh.gone").is_file()


@needs_overlay
def test_overlay_rw_diff_marks_recreated_dir_opaque(tmp_path: Path) -> None:
    store = LayerStore(tmp_path / "data", driver="overlay2")
    base = register(store, [dir_("d"), reg("d/a", b"a"), reg("d/b", b"b")])
    store.create_rw("c", base.chain_id)
    with mounted(store.rw_mounts("c"), tmp_path / "mnt") as rootfs:
        shutil.rmtree(rootfs / "d")
        (rootfs / "d").mkdir()
        (rootfs / "d/new").write_bytes(b"n")
    with tarfile.open(fileobj=io.BytesIO(b"".join(store.rw_diff("c")))) as tf:
        names = [m.name for m in tf.getmembers()]
    assert names == ["d", "d/.wh..wh..opq", "d/new"]
    changes = store.rw_changes("c")
    assert ("D", "/d/a") in changes and ("A", "/d/new") in changes
    top = store.register(io.BytesIO(b"".join(store.rw_diff("c"))), base.chain_id)
    store.create_rw("c2", top.chain_id)
    with mounted(store.rw_mounts("c2"), tmp_path / "mnt2") as rootfs:
        assert os.listdir(rootfs / "d") == ["new"]


@needs_overlay
def test_overlay_mount_options_limit(tmp_path: Path) -> None:
    store = LayerStore(tmp_path / "data", driver="overlay2")
    parent = None
    for i in range(120):
        parent = register(store, [reg(f"f{i}", b"x")], parent=parent).chain_id
    chain = store.chain(parent or "")
    ok = chain[30].chain_id
    store.create_rw("fits", ok)
    data = ",".join(store.rw_mounts("fits")[0].options)
    assert len(data) < 4096 and data.startswith("lowerdir=" + str(store.layer_path(ok)))
    with pytest.raises(InvalidArgument, match="too many layers"):
        store.create_rw("toolong", parent)
    assert not store.rw_exists("toolong")
    with mounted(store.rw_mounts("fits"), tmp_path / "mnt") as rootfs:
        assert len(os.listdir(rootfs)) == 31


def test_driver_selection(tmp_path: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root")
    with pytest.raises(InvalidArgument, match="unsupported storage driver"):
        LayerStore(tmp_path / "a", driver="aufs")
    auto = LayerStore(tmp_path / "b")
    expected = "overlay2" if overlay_supported(tmp_path) else "vfs"
    assert auto.driver_name == expected
    assert not [n for n in os.listdir(tmp_path / "b") if n.startswith("overlay-probe")]
    LayerStore(tmp_path / "c", driver="vfs")
    assert LayerStore(tmp_path / "c").driver_name == "vfs"      # a data root keeps its driver
