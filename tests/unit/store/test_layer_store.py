"""Conformance suite for the layer store, run against every snapshot driver (overlay2 and vfs)."""

from __future__ import annotations

import io
import os
import stat
import tarfile
from pathlib import Path

import pytest

from tugboat.errors import Conflict, InvalidArgument, NotFound
from tugboat.store.layers import LayerStore, Mount, chain_id_of
from tugboat.store.tarstream import iter_reader

from .helpers import dir_, make_tar, mounted, node, reg, register

CAP = b"\x01\x00\x00\x02\x00\x20\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"


def _base(store: LayerStore):
    ping = reg("bin/ping", b"ping", mode=0o4755, uid=0, gid=0)
    ping[0].pax_headers = {"SCHILY.xattr.security.capability": CAP.decode("utf-8", "surrogateescape")}
    return register(store, [
        dir_("bin"), reg("bin/sh", b"sh", mode=0o755), ping,
        node("bin/bash", tarfile.SYMTYPE, "sh"), node("bin/sh.hard", tarfile.LNKTYPE, "bin/sh"),
        dir_("etc"), reg("etc/passwd", b"root:x:0:0\n", mode=0o644, mtime=1_234_567_890),
        reg("etc/shadow", b"secret", mode=0o640, uid=0, gid=42),
        dir_("var"), dir_("var/lib"), reg("var/lib/a", b"a"), reg("var/lib/b", b"b"),
        dir_("empty", mode=0o711), node("run.fifo", tarfile.FIFOTYPE, mode=0o600),
        dir_("home", uid=1000, gid=1000), reg("home/note", b"mine", uid=1000, gid=1000),
    ])


def _stack(store: LayerStore):
    base = _base(store)
    mid = register(store, [
        dir_("etc"), reg("etc/.wh.shadow"), dir_("var"), dir_("var/lib"), reg("var/lib/.wh..wh..opq"),
        reg("var/lib/c", b"c"), reg("etc/motd", b"hello"),
    ], parent=base.chain_id)
    top = register(store, [reg("etc/motd", b"hello again"), reg(".wh.home")], parent=mid.chain_id)
    return base, mid, top


def test_register_get_chain(store: LayerStore) -> None:
    base, mid, top = _stack(store)
    assert base.chain_id == base.diff_id and base.parent is None
    assert mid.chain_id == chain_id_of(base.chain_id, mid.diff_id) != mid.diff_id
    assert store.get(top.chain_id) == top and store.exists(mid.chain_id)
    assert [x.chain_id for x in store.chain(top.chain_id)] == [base.chain_id, mid.chain_id, top.chain_id]
    assert base.size == len(b"sh" + b"ping" + b"root:x:0:0\n" + b"secret" + b"ab" + b"mine")
    with pytest.raises(NotFound):
        store.get("sha256:" + "0" * 64)
    with pytest.raises(NotFound):
        register(store, [reg("x")], parent="sha256:" + "1" * 64)


def test_unpacked_metadata_is_preserved(store: LayerStore) -> None:
    root = store.layer_path(_base(store).chain_id)
    ping = os.lstat(root / "bin/ping")
    assert stat.S_IMODE(ping.st_mode) == 0o4755
    assert os.getxattr(root / "bin/ping", "security.capability") == CAP
    assert os.readlink(root / "bin/bash") == "sh"
    assert os.lstat(root / "bin/sh.hard").st_ino == os.lstat(root / "bin/sh").st_ino
    assert os.lstat(root / "etc/passwd").st_mtime_ns == 1_234_567_890 * 10**9
    shadow = os.lstat(root / "etc/shadow")
    assert (shadow.st_gid, stat.S_IMODE(shadow.st_mode)) == (42, 0o640)
    assert stat.S_IMODE(os.lstat(root / "empty").st_mode) == 0o711
    assert os.lstat(root / "empty").st_mtime_ns == 1_600_000_000 * 10**9
    assert stat.S_ISFIFO(os.lstat(root / "run.fifo").st_mode)
    assert os.lstat(root / "home/note").st_uid == 1000


def test_expected_diff_id_mismatch(store: LayerStore) -> None:
    with pytest.raises(InvalidArgument, match="mismatch"):
        store.register(io.BytesIO(make_tar([reg("f", b"x")])), None, expected_diff_id="sha256:" + "2" * 64)
    assert store.layers() == []


def test_known_layer_with_expected_diff_id_is_only_verified(store: LayerStore) -> None:
    data = make_tar([reg("f", b"x")])
    first = store.register(io.BytesIO(data), None)
    again = store.register(io.BytesIO(data), None, expected_diff_id=first.diff_id)
    assert again == first
    with pytest.raises(InvalidArgument, match="mismatch"):
        store.register(io.BytesIO(data + b"\0" * 512), None, expected_diff_id=first.diff_id)
    assert store.layers() == [first]


def test_identical_layers_are_unpacked_once(store: LayerStore) -> None:
    a = _base(store)
    b = _base(store)
    assert a == b
    assert len(os.listdir(store.home / "l")) == 1
    assert os.listdir(store.home / "tmp") == []
    other = register(store, [reg("f", b"x")], parent=a.chain_id)
    again = register(store, [reg("f", b"x")])          # same diff, other parent: another chain
    assert other.diff_id == again.diff_id and other.chain_id != again.chain_id


def _view(root: Path) -> dict[str, bytes | str]:
    out: dict[str, bytes | str] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for n in dirnames + filenames:
            p = Path(dirpath, n)
            rel = str(p.relative_to(root))
            if p.is_symlink():
                out[rel] = "-> " + os.readlink(p)
            elif p.is_dir():
                out[rel] = "dir"
            elif p.is_file():
                out[rel] = p.read_bytes()
            else:
                out[rel] = "special"
    return out


def test_mounted_rootfs_applies_whiteouts_and_opaque_dirs(store: LayerStore, tmp_path: Path) -> None:
    _base_l, _mid, top = _stack(store)
    store.create_rw("c1", top.chain_id)
    assert store.rw_exists("c1")
    with mounted(store.rw_mounts("c1"), tmp_path / "mnt") as rootfs:
        view = _view(rootfs)
        assert view["etc/motd"] == b"hello again"
        assert view["etc/passwd"] == b"root:x:0:0\n"
        assert "etc/shadow" not in view and "home" not in view
        assert sorted(k for k in view if k.startswith("var/lib/")) == ["var/lib/c"]
        assert view["bin/bash"] == "-> sh"
        assert not any(".wh." in k for k in view)
        assert stat.S_IMODE(os.lstat(rootfs / "bin/ping").st_mode) == 0o4755
        assert os.getxattr(rootfs / "bin/ping", "security.capability") == CAP
    store.remove_rw("c1")
    assert not store.rw_exists("c1")


def test_rw_diff_changes_and_commit(store: LayerStore, tmp_path: Path) -> None:
    _base_l, _mid, top = _stack(store)
    store.create_rw("c2", top.chain_id)
    with mounted(store.rw_mounts("c2"), tmp_path / "mnt") as rootfs:
        (rootfs / "etc/passwd").write_bytes(b"root:x:0:0\nuser:x:1000:1000\n")
        (rootfs / "etc/motd").unlink()
        (rootfs / "newdir/sub").mkdir(parents=True)
        (rootfs / "newdir/sub/file").write_bytes(b"new")
        os.link(rootfs / "newdir/sub/file", rootfs / "newdir/hard")
        os.symlink("/etc/passwd", rootfs / "newdir/link")
        for n in os.listdir(rootfs / "var/lib"):
            (rootfs / "var/lib" / n).unlink()
        (rootfs / "var/lib/fresh").write_bytes(b"fresh")
        expected = _view(rootfs)
    changes = dict((p, k) for k, p in store.rw_changes("c2"))
    assert changes["/etc/passwd"] == "C" and changes["/etc"] == "C"
    assert changes["/etc/motd"] == "D" and changes["/var/lib/c"] == "D"
    assert changes["/newdir"] == "A" and changes["/newdir/sub/file"] == "A"
    assert changes["/var/lib/fresh"] == "A"
    assert "/bin/sh" not in changes
    assert store.rw_size("c2") >= len(b"root:x:0:0\nuser:x:1000:1000\n") + 3 + 5

    data = b"".join(store.rw_diff("c2"))
    with tarfile.open(fileobj=io.BytesIO(data)) as tf:
        members = {m.name.rstrip("/"): m for m in tf.getmembers()}
    assert "etc/.wh.motd" in members and members["etc/.wh.motd"].isreg()
    assert "var/lib/.wh.c" in members
    assert members["newdir/link"].issym() and members["newdir/link"].linkname == "/etc/passwd"
    assert {members["newdir/hard"].type, members["newdir/sub/file"].type} == {tarfile.LNKTYPE, tarfile.REGTYPE}
    assert "bin/sh" not in members

    committed = store.register(iter_reader(store.rw_diff("c2")), top.chain_id)
    store.create_rw("c3", committed.chain_id)
    with mounted(store.rw_mounts("c3"), tmp_path / "mnt3") as rootfs:
        assert _view(rootfs) == expected
    assert store.rw_changes("c3") == []
    store.remove_rw("c3")
    store.remove_rw("c2")


def test_rw_without_image_layers(store: LayerStore, tmp_path: Path) -> None:
    store.create_rw("scratch", None)
    mounts = store.rw_mounts("scratch")
    assert len(mounts) == 1 and isinstance(mounts[0], Mount)
    with mounted(mounts, tmp_path / "mnt") as rootfs:
        assert os.listdir(rootfs) == []
        (rootfs / "hello").write_bytes(b"hi")
    assert store.rw_changes("scratch") == [("A", "/hello")]
    assert store.rw_size("scratch") == 2


def test_rw_errors(store: LayerStore) -> None:
    store.create_rw("c", None)
    with pytest.raises(Conflict):
        store.create_rw("c", None)
    with pytest.raises(NotFound):
        store.create_rw("d", "sha256:" + "3" * 64)
    with pytest.raises(InvalidArgument):
        store.create_rw("../evil", None)
    with pytest.raises(NotFound):
        store.rw_mounts("nope")
    store.remove_rw("nope")      # idempotent
    store.remove_rw("c")
    store.remove_rw("c")


def test_prune_keeps_reachable_layers(store: LayerStore) -> None:
    base, mid, top = _stack(store)
    other = register(store, [reg("o", b"o")], parent=base.chain_id)
    lone = register(store, [reg("lone", b"l")])
    store.create_rw("c", other.chain_id)
    removed = store.prune([mid.chain_id])
    assert removed == [top.chain_id, lone.chain_id] or sorted(removed) == sorted([top.chain_id, lone.chain_id])
    assert {x.chain_id for x in store.layers()} == {base.chain_id, mid.chain_id, other.chain_id}
    assert len(os.listdir(store.home / "l")) == 3
    store.remove_rw("c")
    assert store.prune([]) != [] and store.layers() == []
    assert os.listdir(store.home / "l") == [] and os.listdir(store.home / "layerdb/sha256") == []


def test_restart_recovers_and_cleans(store: LayerStore) -> None:
    base, mid, top = _stack(store)
    store.create_rw("c", top.chain_id)
    (store.home / "tmp" / "layer-crashed").mkdir()
    (store.home / "l" / "orphan12char").mkdir()
    (store.home / "c" / "half").mkdir()
    again = LayerStore(store.data_root, driver="")
    assert again.driver_name == store.driver_name
    assert {x.chain_id for x in again.layers()} == {base.chain_id, mid.chain_id, top.chain_id}
    assert again.rw_exists("c") and not again.rw_exists("half")
    assert os.listdir(again.home / "tmp") == []
    assert "orphan12char" not in os.listdir(again.home / "l")
    assert b"".join(again.tar(mid.chain_id)) == b"".join(store.tar(mid.chain_id))


def test_restart_drops_corrupt_metadata_and_broken_chains(store: LayerStore) -> None:
    base, mid, top = _stack(store)
    db = store.home / "layerdb" / "sha256"
    (db / ("e" * 64)).mkdir()
    (db / ("e" * 64) / "layer.json").write_text("{not json")
    os.rename(db / mid.chain_id[7:], store.home / "tmp" / "lost")    # a gap in the chain
    again = LayerStore(store.data_root, driver=store.driver_name)
    assert [x.chain_id for x in again.layers()] == [base.chain_id]
    assert sorted(os.listdir(db)) == [base.chain_id[7:]]
    assert len(os.listdir(again.home / "l")) == 1


def test_remove_rw_refuses_while_mounted(store: LayerStore, tmp_path: Path) -> None:
    store.create_rw("m", None)
    inside = store.home / "c" / "m" / ("rootfs" if store.driver_name == "vfs" else "upper")
    vol = tmp_path / "volume"
    vol.mkdir()
    (vol / "data").write_bytes(b"keep me")
    with mounted([Mount("bind", str(vol), ["rbind"])], inside / "vol"):
        with pytest.raises(Conflict, match="still mounted"):
            store.remove_rw("m")
    store.remove_rw("m")
    assert (vol / "data").read_bytes() == b"keep me" and not store.rw_exists("m")


def test_init_layer(store: LayerStore, tmp_path: Path) -> None:
    image = register(store, [
        dir_("etc"), reg("etc/hosts", b"127.0.0.1 image\n"), node("etc/mtab", tarfile.SYMTYPE, "../proc/self/mounts"),
        dir_("gone"), reg("gone/.wh..wh..opq"), reg(".wh.sys"), dir_("proc", mode=0o555),
    ])
    store.create_rw("init", image.chain_id, init_layer=True)
    with mounted(store.rw_mounts("init"), tmp_path / "mnt") as rootfs:
        view = _view(rootfs)
        assert view["etc/hosts"] == b"127.0.0.1 image\n"
        assert view["etc/mtab"] == "-> ../proc/self/mounts"
        assert view["etc/hostname"] == b"" and view["etc/resolv.conf"] == b"" and view[".dockerenv"] == b""
        assert view["sys"] == "dir" and view["dev/pts"] == "dir" and view["dev/console"] == b""
        assert stat.S_IMODE(os.lstat(rootfs / "proc").st_mode) == 0o555       # the image's own
        (rootfs / "added").write_bytes(b"x")
    assert store.rw_changes("init") == [("A", "/added")]
    with tarfile.open(fileobj=io.BytesIO(b"".join(store.rw_diff("init")))) as tf:
        assert tf.getnames() == ["added"]
    store.remove_rw("init")
    assert store.prune([]) == [image.chain_id]


def test_exists_in_view(store: LayerStore) -> None:
    from tugboat.store.snapshots.base import exists_in_view

    base = register(store, [dir_("a"), reg("a/f"), dir_("b"), reg("b/f"), reg("c"), dir_("d"), reg("d/f"),
                            node("s", tarfile.SYMTYPE, "/x")])
    top = register(store, [reg(".wh.c"), dir_("b"), reg("b/.wh..wh..opq"), reg("b/new"), reg("d/.wh.f")],
                   parent=base.chain_id)
    lowers = [store.layer_path(x.chain_id) for x in store.chain(top.chain_id)]
    ov = store.driver_name == "overlay2"
    assert exists_in_view(lowers, "a/f", ov) and exists_in_view(lowers, "b/new", ov)
    assert not exists_in_view(lowers, "c", ov) and not exists_in_view(lowers, "b/f", ov)
    assert not exists_in_view(lowers, "d/f", ov) and exists_in_view(lowers, "d", ov)
    assert exists_in_view(lowers, "s/anything", ov) and not exists_in_view(lowers, "zzz", ov)
