"""docker cp's rules on a rootfs: a hostile rootfs must never lead outside itself; Docker's names and stat."""

from __future__ import annotations

import io
import os
import tarfile
from pathlib import Path

import pytest

from tugboat.errors import InvalidArgument, NotFound, TugboatError
from tugboat.store import rootfs_archive as ra
from tugboat.store.rootfs_archive import extract, tar_rebased


@pytest.fixture
def root(tmp_path: Path) -> str:
    r = tmp_path / "rootfs"
    (r / "etc").mkdir(parents=True)
    (r / "etc" / "shadow").write_text("inside\n")
    (r / "d" / "sub").mkdir(parents=True)
    os.symlink("/etc", r / "evil")
    os.symlink("/", r / "rootlink")
    os.symlink("../../../../../../..", r / "up")
    os.symlink("../../..", r / "d" / "sub" / "rel")
    os.symlink("loop2", r / "loop1")
    os.symlink("loop1", r / "loop2")
    os.symlink("/etc/shadow", r / "shadowlink")
    return str(r)


@pytest.mark.parametrize("path,expected", [
    ("/evil/shadow", "/etc/shadow"),
    ("/rootlink/etc/shadow", "/etc/shadow"),
    ("/up/etc/shadow", "/etc/shadow"),
    ("/d/sub/rel/etc", "/etc"),
    ("/../../etc", "/etc"),
    ("/shadowlink", "/etc/shadow"),
    ("/missing/x", "/missing/x"),
    ("/evil/../../..", "/"),
])
def test_follow_in_scope_stays_inside(root, path, expected):
    assert ra.follow_in_scope(root, path) == expected
    assert ra.host_path(root, expected).startswith(root)


def test_last_element_not_followed(root):
    assert ra.follow_in_scope(root, "/shadowlink", follow_last=False) == "/shadowlink"
    assert ra.follow_in_scope(root, "/evil/shadow", follow_last=False) == "/etc/shadow"


def test_symlink_loop_is_an_error(root):
    with pytest.raises(InvalidArgument):
        ra.follow_in_scope(root, "/loop1/x")


def test_path_stat_mode_bits(root):
    d = ra.path_stat("etc", os.lstat(os.path.join(root, "etc")))
    assert d["name"] == "etc" and d["mode"] & (1 << 31) and d["linkTarget"] == ""
    link = ra.path_stat("evil", os.lstat(os.path.join(root, "evil")), "/etc")
    assert link["mode"] & (1 << 27) and link["linkTarget"] == "/etc"
    assert ra.go_file_mode(0o104755) == (1 << 23) | 0o755
    assert ra.go_file_mode(0o020644) == (1 << 26) | (1 << 21) | 0o644


def test_stat_path_resolves_parent_in_scope_not_the_last_element(root):
    info = ra.stat_path(root, "ctr", "/evil/shadow")
    assert info["resolved"] == os.path.join(root, "etc", "shadow") and info["abs"] == "/evil/shadow"
    assert info["stat"]["name"] == "shadow" and info["stat"]["size"] == len("inside\n")
    link = ra.stat_path(root, "ctr", "/shadowlink")
    assert link["resolved"] == os.path.join(root, "shadowlink")
    assert link["stat"]["linkTarget"] == "/etc/shadow"
    assert ra.stat_path(root, "ctr", "/d/.")["abs"] == "/d/."


def test_stat_path_errors_in_dockerds_words(root):
    with pytest.raises(NotFound, match="^Could not find the file /nope in container ctr$"):
        ra.stat_path(root, "ctr", "/nope")
    with pytest.raises(TugboatError, match="^lstat /etc/shadow/: not a directory$"):
        ra.stat_path(root, "ctr", "/etc/shadow/")
    with pytest.raises(InvalidArgument, match="Path cannot be empty"):
        ra.stat_path(root, "ctr", "")


@pytest.mark.parametrize("given,expected", [
    ("/a/b", "/a/b"), ("a/b/", "/a/b/"), ("/a/b/.", "/a/b/."), ("/", "/"), (".", "/."), ("/a//b/../c/", "/a/c/"),
])
def test_abs_container_path_keeps_trailing_markers(given, expected):
    assert ra.abs_container_path(given) == expected


def test_go_base():
    assert ra.go_base("/a/b/") == "b"
    assert ra.go_base("/a/b/.") == "."
    assert ra.go_base("/") == "/"
    assert ra.go_base("") == "."


def _tar(*entries: tuple[str, str, bytes]) -> io.BytesIO:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        for name, kind, data in entries:
            ti = tarfile.TarInfo(name)
            if kind == "sym":
                ti.type, ti.linkname = tarfile.SYMTYPE, data.decode()
                tf.addfile(ti)
            elif kind == "lnk":
                ti.type, ti.linkname = tarfile.LNKTYPE, data.decode()
                tf.addfile(ti)
            else:
                ti.size = len(data)
                tf.addfile(ti, io.BytesIO(data))
    buf.seek(0)
    return buf


def test_extract_contains_symlink_tricks(tmp_path):
    dest = tmp_path / "dest"
    dest.mkdir()
    outside = tmp_path / "outside"
    outside.mkdir()
    extract(_tar(("lnk", "sym", str(outside).encode()), ("lnk/pwned", "file", b"x"),
                 ("a", "file", b"1")), str(dest))
    assert not (outside / "pwned").exists()
    assert (dest / str(outside).lstrip("/") / "pwned").read_bytes() == b"x"
    with pytest.raises(InvalidArgument):
        extract(_tar(("../escape", "file", b"x")), str(dest))
    assert not (tmp_path / "escape").exists()
    with pytest.raises(InvalidArgument):
        extract(_tar(("h", "lnk", b"/etc/passwd")), str(dest))


def test_extract_no_overwrite_dir_non_dir(tmp_path):
    dest = tmp_path / "dest"
    (dest / "dir").mkdir(parents=True)
    with pytest.raises(InvalidArgument, match="cannot overwrite directory"):
        extract(_tar(("dir", "file", b"x")), str(dest), no_overwrite_dir_non_dir=True)
    extract(_tar(("dir", "file", b"x")), str(dest))   # without the option it is replaced
    assert (dest / "dir").read_bytes() == b"x"


def test_tar_rebased_names(tmp_path):
    src = tmp_path / "dir"
    (src / "sub").mkdir(parents=True)
    (src / "sub" / "f").write_text("f")

    def names(base: str, rebase: str) -> list[str]:
        data = b"".join(tar_rebased(str(tmp_path), base, rebase))
        return [m.name for m in tarfile.open(fileobj=io.BytesIO(data))]

    assert names("dir", "dir") == ["dir", "dir/sub", "dir/sub/f"]
    assert names("dir", ".") == [".", "./sub", "./sub/f"]
    assert names("dir", "other") == ["other", "other/sub", "other/sub/f"]
