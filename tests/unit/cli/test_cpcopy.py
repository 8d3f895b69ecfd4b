"""docker cp's copy rules (moby pkg/archive/copy.go) and the client-side untar's safety."""

from __future__ import annotations

import io
import os
import tarfile

import pytest

from tugboat.cli.cpcopy import (
    CopyError,
    CopyInfo,
    copy_info_destination,
    prepare_archive_copy,
    rebase_entry,
    rebase_name,
    split_path_dir_entry,
    untar,
)


@pytest.mark.parametrize("path,expected", [
    ("/a/b", ("/a", "b")), ("/a/b/", ("/a", "b")), ("/a/b/.", ("/a/b", ".")), ("/", ("/", "/")),
    ("b", (".", "b")),
])
def test_split_path_dir_entry(path, expected):
    assert split_path_dir_entry(path) == expected


# (src path, src is dir, dst path, dst exists, dst is dir) -> (extract dir, old base, new base) or error
RULES = [
    ("/s/dir", True, "/d/existing", True, True, ("/d/existing", None, None)),      # dir into a dir
    ("/s/dir/.", True, "/d/existing", True, True, ("/d/existing", None, None)),    # contents into a dir
    ("/s/dir", True, "/d/new", False, False, ("/d", "dir", "new")),                # created under new name
    ("/s/dir/.", True, "/d/new", False, False, ("/d", ".", "new")),
    ("/s/dir", True, "/d/file", True, False, CopyError("cannot copy directory")),
    ("/s/f", False, "/d/file", True, False, ("/d", "f", "file")),                  # file over a file
    ("/s/f", False, "/d/new", False, False, ("/d", "f", "new")),                   # file to a new name
    ("/s/f", False, "/d/new/", False, False, CopyError("no such directory")),
    ("/s/f", False, "/d/existing/", True, True, ("/d/existing/", None, None)),
]


@pytest.mark.parametrize("src,src_dir,dst,exists,dst_dir,expected", RULES)
def test_prepare_archive_copy(src, src_dir, dst, exists, dst_dir, expected):
    s, d = CopyInfo(src, True, src_dir), CopyInfo(dst, exists, dst_dir)
    if isinstance(expected, CopyError):
        with pytest.raises(CopyError, match=str(expected)):
            prepare_archive_copy(s, d)
    else:
        assert prepare_archive_copy(s, d) == expected


def test_rebase():
    assert rebase_entry("dir/sub/f", "dir", "new") == "new/sub/f"
    assert rebase_entry("./a.txt", ".", "new") == "new/a.txt"
    assert rebase_entry("x", None, None) == "x"
    assert rebase_name("/a/link/", "/a/target") == ("/a/target/", "link")
    assert rebase_name("/a/link/.", "/t") == ("/t/.", "")


def test_destination_follows_symlinks(tmp_path):
    (tmp_path / "real").mkdir()
    os.symlink(tmp_path / "real", tmp_path / "ln")
    info = copy_info_destination(str(tmp_path / "ln"))
    assert info.path == str(tmp_path / "real") and info.is_dir
    with pytest.raises(CopyError):
        copy_info_destination(str(tmp_path / "nope" / "x"))


def _tar(entries) -> io.BytesIO:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        for name, link in entries:
            ti = tarfile.TarInfo(name)
            if link is not None:
                ti.type, ti.linkname = tarfile.SYMTYPE, link
                tf.addfile(ti)
            else:
                ti.size = 1
                tf.addfile(ti, io.BytesIO(b"x"))
    buf.seek(0)
    return buf


def test_untar_refuses_breakouts(tmp_path):
    dest = tmp_path / "dest"
    dest.mkdir()
    with pytest.raises(CopyError):
        untar(_tar([("esc", "/"), ("esc/tmp/pwned", None)]), str(dest))
    with pytest.raises(CopyError):
        untar(_tar([("../x", None)]), str(dest))
    assert not (tmp_path / "x").exists()


def test_untar_replaces_a_symlink_instead_of_writing_through_it(tmp_path):
    dest = tmp_path / "dest"
    dest.mkdir()
    victim = tmp_path / "victim"
    victim.write_text("keep")
    os.symlink(victim, dest / "f")
    untar(_tar([("f", None)]), str(dest))
    assert victim.read_text() == "keep"
    assert (dest / "f").read_bytes() == b"x" and not os.path.islink(dest / "f")
