"""userns-remap in the store: IdMap arithmetic, layers unpacked with shifted owners (the layer's tar
unchanged), a container's diff archived with the ids mapped back; and the parsing of the
daemon.json value (runtime/userns_remap.py) against fake /etc/subuid and /etc/subgid files."""

from __future__ import annotations

import hashlib
import io
import os
import tarfile
from pathlib import Path

import pytest

from tugboat.errors import InvalidArgument
from tugboat.runtime import userns_remap
from tugboat.store.idmap import IdMap, IdRange
from tugboat.store.layers import LayerStore

from .helpers import can_overlay, dir_, make_tar, mounted, node, reg

BASE = 300000
IDMAP = IdMap.from_subordinate([(BASE, 65536)], [(BASE + 7, 65536)])


def test_idmap_maps_both_ways_and_refuses_outside() -> None:
    two = IdMap.from_subordinate([(100000, 10), (200000, 65536)], [(500000, 70000)])
    assert two.uids == (IdRange(0, 100000, 10), IdRange(10, 200000, 65536))
    assert two.to_host(0, 0) == (100000, 500000)
    assert two.to_host(12, 65535) == (200002, 565535)
    assert two.to_container(200002, 565535) == (12, 65535)
    assert two.root == (100000, 500000)
    with pytest.raises(InvalidArgument, match="Container ID 65546 cannot be mapped to a host ID"):
        two.to_host(65546, 0)
    with pytest.raises(InvalidArgument, match="Host ID 0 cannot be mapped to a container ID"):
        two.to_container(0, 500000)
    assert two.oci()[1] == [{"containerID": 0, "hostID": 500000, "size": 70000}]
    assert IdMap.from_oci(*two.oci()) == two
    assert two.seen_inside(0, 500001) == (65534, 1)   # unmapped: the kernel's overflow id


@pytest.fixture(params=["overlay2", "vfs"])
def remapped_store(request: pytest.FixtureRequest, tmp_path: Path) -> LayerStore:
    if request.param == "overlay2" and not can_overlay():
        pytest.skip("overlayfs not available (needs root)")
    if os.geteuid() != 0:
        pytest.skip("layer unpacking preserves ownership: needs root")
    return LayerStore(tmp_path / "data", driver=request.param, idmap=IDMAP)


def _owner(p: Path) -> tuple[int, int]:
    st = os.lstat(p)
    return st.st_uid, st.st_gid


def test_unpack_shifts_owners_and_keeps_the_tar(remapped_store: LayerStore) -> None:
    tar = make_tar([dir_("etc"), reg("etc/passwd", b"root:x:0:0\n"), reg("home/u/f", b"x", uid=1000, gid=100),
                    node("bin", tarfile.SYMTYPE, "usr/bin", uid=2, gid=3)])
    layer = remapped_store.register(io.BytesIO(tar), None)
    root = remapped_store.layer_path(layer.chain_id)
    assert _owner(root) == (BASE, BASE + 7)
    assert _owner(root / "etc/passwd") == (BASE, BASE + 7)
    assert _owner(root / "home") == (BASE, BASE + 7)     # implicit parent: the container's root
    assert _owner(root / "home/u/f") == (BASE + 1000, BASE + 107)
    assert _owner(root / "bin") == (BASE + 2, BASE + 10)
    assert layer.diff_id == "sha256:" + hashlib.sha256(tar).hexdigest()
    assert b"".join(remapped_store.tar(layer.chain_id)) == tar   # save/push: the tar as it came


def test_ids_outside_the_map_are_refused(remapped_store: LayerStore) -> None:
    with pytest.raises(InvalidArgument, match="cannot be mapped to a host ID"):
        remapped_store.register(io.BytesIO(make_tar([reg("f", b"x", uid=70000)])), None)


def test_rw_layer_and_diff_map_back(remapped_store: LayerStore, tmp_path: Path) -> None:
    base = remapped_store.register(io.BytesIO(make_tar([dir_("etc"), reg("etc/motd", b"hi")])), None)
    remapped_store.create_rw("c1", base.chain_id, init_layer=True)
    empty = "c2"
    remapped_store.create_rw(empty, None)
    try:
        with mounted(remapped_store.rw_mounts("c1"), tmp_path / "mnt") as rootfs:
            assert _owner(rootfs) == (BASE, BASE + 7)
            assert _owner(rootfs / "etc/hosts") == (BASE, BASE + 7)   # the init layer's mount points
            (rootfs / "etc/motd").unlink()
            (rootfs / "new").write_bytes(b"n")
            os.chown(rootfs / "new", BASE + 5, BASE + 13)
        with mounted(remapped_store.rw_mounts(empty), tmp_path / "mnt2") as rootfs:
            assert _owner(rootfs) == (BASE, BASE + 7)
        with tarfile.open(fileobj=io.BytesIO(b"".join(remapped_store.rw_diff("c1")))) as tf:
            owners = {m.name.rstrip("/"): (m.uid, m.gid) for m in tf.getmembers()}
        assert owners == {"etc": (0, 0), "etc/.wh.motd": (0, 0), "new": (5, 6)}
    finally:
        remapped_store.remove_rw("c1")
        remapped_store.remove_rw(empty)


def _subid_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, subuid: str, subgid: str) -> None:
    (tmp_path / "subuid").write_text(subuid)
    (tmp_path / "subgid").write_text(subgid)
    monkeypatch.setattr(userns_remap, "SUBUID", tmp_path / "subuid")
    monkeypatch.setattr(userns_remap, "SUBGID", tmp_path / "subgid")


def test_remap_reads_the_ranges_of_user_and_group(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _subid_files(tmp_path, monkeypatch, "root:1:2\nnobody:300000:65536\nnobody:400000:10\n",
                 "nogroup:500000:65536\n")
    for spec in ("nobody:nogroup", "65534", "65534:nogroup", "nobody:65534"):
        m = userns_remap.remap(spec)
        assert m.root == (300000, 500000), spec
        assert m.uids[1] == IdRange(65536, 400000, 10)
    _subid_files(tmp_path, monkeypatch, "nobody:300000:65536\n", "nogroup:1:1\n")
    with pytest.raises(InvalidArgument, match='No subgid ranges found for group "root"'):
        userns_remap.remap("nobody:root")
    with pytest.raises(InvalidArgument, match='No subuid ranges found for user "root"'):
        userns_remap.remap("root:nogroup")


@pytest.mark.parametrize(("spec", "message"), [
    ("a:b:c", 'Invalid user/group specification in --userns-remap: "a:b:c"'),
    ("no-such-user-xyz", 'Error during uid lookup for "no-such-user-xyz"'),
    ("nobody:no-such-group-xyz", 'Error during groupname lookup for "no-such-group-xyz"'),
    ("nobody", 'Error during gid lookup for "nobody"'),
    ("4000000", "Uid 4000000 has no entry in /etc/passwd"),
])
def test_remap_errors(spec: str, message: str, monkeypatch: pytest.MonkeyPatch) -> None:
    real_getgrnam = userns_remap.grp.getgrnam

    def no_group_nobody(name: str) -> object:
        if name == "nobody":
            raise KeyError(name)
        return real_getgrnam(name)

    monkeypatch.setattr(userns_remap.grp, "getgrnam", no_group_nobody)
    with pytest.raises(InvalidArgument, match=message.replace("(", r"\(")):
        userns_remap.remap(spec)


def test_default_creates_dockremap_only_when_missing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _subid_files(tmp_path, monkeypatch, "other:100000:65536\n", "other:100000:65536\n")
    calls: list[list[str]] = []

    def fake_run(argv: list[str], **_kw: object) -> None:
        calls.append(argv)
        if argv[0] == "usermod":   # what usermod -v/-w appends
            path = tmp_path / ("subuid" if argv[1] == "--add-subuids" else "subgid")
            start, end = (int(x) for x in argv[2].split("-"))
            path.write_text(path.read_text() + f"{argv[3]}:{start}:{end - start + 1}\n")

    def no_user(name: str) -> object:
        raise KeyError(name)

    monkeypatch.setattr(userns_remap.subprocess, "run", fake_run)
    monkeypatch.setattr(userns_remap.pwd, "getpwnam", no_user)
    assert userns_remap.parse_remapped_root("default") == ("dockremap", "dockremap")
    assert calls == [["useradd", "-r", "-s", "/bin/false", "dockremap"],
                     ["usermod", "--add-subuids", "165536-231071", "dockremap"],
                     ["usermod", "--add-subgids", "165536-231071", "dockremap"]]
    assert userns_remap.identity_mapping("dockremap", "dockremap").root == (165536, 165536)
    assert userns_remap.next_free_start([]) == 100000
    assert userns_remap.next_free_start([(100000, 65536), (300000, 5)]) == 165536
