"""Atomic state files, the streaming directory tar and safe tree removal."""

from __future__ import annotations

import io
import os
import subprocess
import tarfile
from pathlib import Path

import pytest

from tugboat.store.atomic import read_json, remove_tmp_files, write_atomic, write_json
from tugboat.store.fsutil import mounts_below, remove_tree
from tugboat.store.tarstream import tar_directory


def test_write_atomic_replaces_and_leaves_no_temporaries(tmp_path: Path) -> None:
    p = tmp_path / "state.json"
    assert read_json(p, {"default": 1}) == {"default": 1}
    write_json(p, {"b": 1, "a": [1, 2]})
    write_json(p, {"b": 2})
    assert read_json(p) == {"b": 2}
    assert p.read_bytes() == b'{"b":2}'
    assert os.listdir(tmp_path) == ["state.json"]
    assert (os.stat(p).st_mode & 0o777) == 0o600
    write_atomic(tmp_path / "raw", b"x" * 100_000, mode=0o644)
    assert (os.stat(tmp_path / "raw").st_mode & 0o777) == 0o644


def test_failed_write_keeps_old_content(tmp_path: Path) -> None:
    p = tmp_path / "s.json"
    write_json(p, {"v": 1})
    with pytest.raises(TypeError):
        write_json(p, {"v": object()})
    assert read_json(p) == {"v": 1}
    (tmp_path / ".tmp-s.json.dead").write_bytes(b"{")
    remove_tmp_files(tmp_path)
    assert os.listdir(tmp_path) == ["s.json"]


def test_tar_directory(tmp_path: Path) -> None:
    root = tmp_path / "root"
    (root / "a/b").mkdir(parents=True)
    (root / "a/b/f").write_bytes(b"data")
    os.link(root / "a/b/f", root / "hard")
    os.symlink("/etc/passwd", root / "abs")
    long = "L" * 150
    (root / long).write_bytes(b"long")
    os.mkfifo(root / "fifo")
    if os.geteuid() == 0:
        os.chown(root / "a/b/f", 1234, 5678)
        os.setxattr(root / "a/b/f", "security.capability",
                    b"\x01\x00\x00\x02\x00\x20\x00\x00" + b"\x00" * 12)
    os.chmod(root / "a/b/f", 0o4750)            # after chown, which clears setuid
    with tarfile.open(fileobj=io.BytesIO(b"".join(tar_directory(root)))) as tf:
        m = {x.name.rstrip("/"): x for x in tf.getmembers()}
        assert tf.extractfile(m["a/b/f"]).read() == b"data"  # type: ignore[union-attr]
        assert tf.extractfile(m[long]).read() == b"long"  # type: ignore[union-attr]
    assert m["a"].isdir() and m["a/b"].isdir()
    assert m["a/b/f"].mode == 0o4750
    assert m["hard"].islnk() and m["hard"].linkname == "a/b/f"
    assert m["abs"].issym() and m["abs"].linkname == "/etc/passwd"
    assert m["fifo"].isfifo()
    if os.geteuid() == 0:
        assert (m["a/b/f"].uid, m["a/b/f"].gid) == (1234, 5678)
        assert "SCHILY.xattr.security.capability" in m["a/b/f"].pax_headers
    assert list(m).index("a") < list(m).index("a/b") < list(m).index("a/b/f")


def test_remove_tree_handles_trees_deeper_than_path_max(tmp_path: Path) -> None:
    top = tmp_path / "deep"
    top.mkdir()
    fd = os.open(top, os.O_RDONLY | os.O_DIRECTORY)
    try:
        for i in range(3000):           # 3000 * 2 bytes: beyond PATH_MAX and the recursion limit
            os.mkdir("d", dir_fd=fd)
            if i % 500 == 0:
                os.close(os.open("f", os.O_WRONLY | os.O_CREAT, 0o600, dir_fd=fd))
                os.symlink("/etc", "s", dir_fd=fd)
            new = os.open("d", os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
            os.close(fd)
            fd = new
    finally:
        os.close(fd)
    remove_tree(top)
    assert not top.exists() and os.path.exists("/etc/passwd")
    remove_tree(top)                    # missing: fine


def test_remove_tree_refuses_mounts_inside(tmp_path: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root to mount")
    (tmp_path / "t/mnt").mkdir(parents=True)
    (tmp_path / "vol").mkdir()
    (tmp_path / "vol/keep").write_bytes(b"k")
    subprocess.run(["mount", "--bind", str(tmp_path / "vol"), str(tmp_path / "t/mnt")], check=True)
    try:
        assert mounts_below(tmp_path / "t") == [str(tmp_path / "t/mnt")]
        with pytest.raises(OSError, match="mounts inside"):
            remove_tree(tmp_path / "t")
    finally:
        subprocess.run(["umount", str(tmp_path / "t/mnt")], check=True)
    assert (tmp_path / "vol/keep").read_bytes() == b"k"
    remove_tree(tmp_path / "t")
    assert not (tmp_path / "t").exists()
