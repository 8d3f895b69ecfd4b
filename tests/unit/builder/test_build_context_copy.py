"""The context unpacking (Go-style unpadded tars, kept modes, recorded headers), the daemon-side
.dockerignore pass, wildcard resolution and COPY's destination rules."""

from __future__ import annotations

import io
import os
import tarfile
from pathlib import Path

import pytest

from tugboat.engine.builder.context import BuildContext, resolve_in, scoped_path
from tugboat.engine.builder.copier import Copier, Ownership, Source, parse_chmod, parse_chown
from tugboat.errors import InvalidArgument, NotFound


def tar_of(files: dict[str, bytes], mode: int = 0o644, pad: bool = True) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT) as tf:
        for name, data in files.items():
            ti = tarfile.TarInfo(name)
            ti.size, ti.mode = len(data), mode
            tf.addfile(ti, io.BytesIO(data))
        end = tf.offset
    raw = buf.getvalue()
    return raw if pad else raw[:end]


def test_unpadded_tar_modes_and_headers(tmp_path):
    data = tar_of({"Dockerfile": b"FROM x\n", "bin/tool": b"#!/bin/sh\n"}, mode=0o751, pad=False)
    ctx = BuildContext.from_tar(io.BytesIO(data), tmp_path)
    try:
        assert ctx.headers["bin/tool"].mode == 0o751
        assert ctx.read_dockerfile("Dockerfile") == b"FROM x\n"
        with pytest.raises(NotFound, match="Cannot locate specified Dockerfile: nope"):
            ctx.read_dockerfile("nope")
        ctx.materialize()   # (a tar with implied directories is unpacked at once anyway)
        assert (ctx.root / "bin" / "tool").stat().st_mode & 0o7777 == 0o751
    finally:
        ctx.close()
    assert not ctx.root.exists()


def test_hostile_context_refused(tmp_path):
    with pytest.raises(InvalidArgument):
        BuildContext.from_tar(io.BytesIO(tar_of({"../escape": b"x"})), tmp_path)
    assert os.listdir(tmp_path) == []


def test_daemon_side_dockerignore(tmp_path):
    data = tar_of({".dockerignore": b"*.log\nDockerfile\n", "Dockerfile": b"FROM x\n", "a.log": b"",
                   "keep.txt": b""})
    ctx = BuildContext.from_tar(io.BytesIO(data), tmp_path)
    try:
        assert ctx.read_dockerfile("Dockerfile")
        ctx.apply_dockerignore("Dockerfile")
        assert ctx.resolve_sources("*") == [".dockerignore", "keep.txt"]
        ctx.materialize()
        assert sorted(os.listdir(ctx.root)) == [".dockerignore", "keep.txt"]
    finally:
        ctx.close()


def tree_tar(files: dict[str, bytes | None]) -> bytes:
    """A context as the docker CLI sends it: directories have entries of their own (None)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tf:
        for name, data in files.items():
            ti = tarfile.TarInfo(name)
            if data is None:
                ti.type, ti.mode = tarfile.DIRTYPE, 0o755
                tf.addfile(ti)
            else:
                ti.size, ti.mode = len(data), 0o640
                tf.addfile(ti, io.BytesIO(data))
    return buf.getvalue()


def test_index_answers_as_the_unpacked_tree(tmp_path):
    """Sources, wildcards and checksums from the spooled tar equal those of the unpacked tree, so a
    cached rebuild (which never unpacks) and a build that unpacked agree on every cache key."""
    data = tree_tar({".dockerignore": b"src/*.log\n", "Dockerfile": b"FROM x\n", "src": None,
                     "src/a.txt": b"a", "src/b.txt": b"bb", "src/x.log": b"log", "src/sub": None,
                     "src/sub/c.txt": b"c", "top.md": b"t"})
    lazy = BuildContext.from_tar(io.BytesIO(data), tmp_path)
    eager = BuildContext.from_tar(io.BytesIO(data), tmp_path)
    try:
        for ctx in (lazy, eager):
            ctx.apply_dockerignore("Dockerfile")
        eager.materialize()
        for src in ("src", "src/*.txt", "*/sub/*", "src/x.log", "*.md", ".", "nope*", "src/sub"):
            names = lazy.resolve_sources(src)
            assert names == eager.resolve_sources(src), src
            assert [lazy.checksum(n) for n in names] == [eager.checksum(n) for n in names], src
        assert lazy.resolve_sources("src/*") == ["src/a.txt", "src/b.txt", "src/sub"]
        assert not os.listdir(lazy.root)
        a = lazy.paths(["src/a.txt"])[0]
        assert a.read_bytes() == b"a" and a.stat().st_mode & 0o7777 == 0o640
        assert a.stat().st_mtime == eager.paths(["src/a.txt"])[0].stat().st_mtime
        assert (lazy.root / "src").stat().st_mode & 0o7777 == 0o755
        assert not (lazy.root / "src" / "x.log").exists()
    finally:
        lazy.close()
        eager.close()


def test_wildcards_and_scoping(tmp_path):
    (tmp_path / "d").mkdir()
    for n in ("a.txt", "b.txt", "c.md", "d/e.txt"):
        (tmp_path / n).write_text(n)
    os.symlink("/", tmp_path / "up")
    assert resolve_in(tmp_path, "*.txt") == ["a.txt", "b.txt"]
    assert resolve_in(tmp_path, "*/e.txt") == ["d/e.txt"]
    assert resolve_in(tmp_path, "../../a.txt") == ["a.txt"]
    assert resolve_in(tmp_path, "nope*") == []
    assert scoped_path(tmp_path, "up/d/e.txt") == tmp_path / "d" / "e.txt"


def test_copy_destination_rules(tmp_path):
    src, root = tmp_path / "src", tmp_path / "root"
    (src / "dir" / "sub").mkdir(parents=True)
    (src / "f").write_text("F")
    (src / "dir" / "sub" / "g").write_text("G")
    root.mkdir()
    (root / "existing").mkdir()
    c = Copier(root, Ownership(0, 0), None, unpack=False)
    c.copy([Source(src / "f", "f")], "/a/b/file", False)
    c.copy([Source(src / "f", "f")], "/existing", False)
    c.copy([Source(src / "f", "f")], "/newdir/", True)
    c.copy([Source(src / "dir", "dir")], "/contents", False)
    assert (root / "a/b/file").read_text() == "F"
    assert (root / "existing/f").read_text() == "F"
    assert (root / "newdir/f").read_text() == "F"
    assert (root / "contents/sub/g").read_text() == "G"
    assert not (root / "contents/dir").exists()
    os.symlink("/contents", root / "link")
    c.copy([Source(src / "f", "f")], "/link/through", False)
    assert (root / "contents/through").read_text() == "F"


def test_chown_and_chmod_parsing(tmp_path):
    etc = tmp_path / "etc"
    etc.mkdir()
    (etc / "passwd").write_text("root:x:0:0::/root:/bin/sh\nbob:x:1000:1000::/home/bob:/bin/sh\n")
    (etc / "group").write_text("root:x:0:\nstaff:x:50:\n")
    assert parse_chown("bob:staff", tmp_path) == Ownership(1000, 50)
    assert parse_chown("7", tmp_path) == Ownership(7, 7)
    assert parse_chown("", tmp_path) is None
    with pytest.raises(InvalidArgument, match="no such user: alice"):
        parse_chown("alice", tmp_path)
    assert parse_chmod("755") == 0o755
    with pytest.raises(InvalidArgument):
        parse_chmod("9z")


def test_empty_context(tmp_path: Path):
    ctx = BuildContext.from_tar(io.BytesIO(b""), tmp_path)
    try:
        with pytest.raises(NotFound):
            ctx.read_dockerfile("Dockerfile")
    finally:
        ctx.close()


def test_dockerignore_exception_below_an_ignored_directory(tmp_path):
    """"dir" + "!dir/keep.txt": the directory stays for the exception, its other files go."""
    data = tree_tar({".dockerignore": b"dir\n!dir/keep.txt\n*.tmp\n", "Dockerfile": b"FROM x\n", "dir": None,
                     "dir/keep.txt": b"k", "dir/drop.txt": b"d", "a.tmp": b"", "other": None,
                     "other/x.tmp": b""})
    ctx = BuildContext.from_tar(io.BytesIO(data), tmp_path)
    try:
        ctx.apply_dockerignore("Dockerfile")
        assert ctx.resolve_sources("dir/*") == ["dir/keep.txt"]
        assert ctx.resolve_sources("*") == [".dockerignore", "Dockerfile", "dir", "other"]
        assert ctx.resolve_sources("other/*") == ["other/x.tmp"]   # "*.tmp" is not "**/*.tmp"
        ctx.materialize()
        assert sorted(os.listdir(ctx.root / "dir")) == ["keep.txt"]
    finally:
        ctx.close()


def test_context_with_symlinks_is_unpacked_to_resolve(tmp_path):
    """Symlinks are followed inside the context as dockerd does: the index cannot, the tree can."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tf:
        for name in ("sub",):
            ti = tarfile.TarInfo(name)
            ti.type, ti.mode = tarfile.DIRTYPE, 0o755
            tf.addfile(ti)
        ti = tarfile.TarInfo("sub/f")
        ti.size = 1
        tf.addfile(ti, io.BytesIO(b"F"))
        ti = tarfile.TarInfo("link")
        ti.type, ti.linkname = tarfile.SYMTYPE, "sub"
        tf.addfile(ti)
    ctx = BuildContext.from_tar(io.BytesIO(buf.getvalue()), tmp_path)
    try:
        assert ctx.resolve_sources("link/f") == ["link/f"]
        assert ctx.checksum("link/f") == ctx.checksum("sub/f")
        assert ctx.paths(["link/f"])[0].read_bytes() == b"F"
    finally:
        ctx.close()


def test_context_with_a_directory_and_a_file_of_one_name_fails_cleanly(tmp_path):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        for name, data in (("x", None), ("x/y", b"1"), ("x", b"now a file")):
            ti = tarfile.TarInfo(name)
            if data is None:
                ti.type = tarfile.DIRTYPE
                tf.addfile(ti)
            else:
                ti.size = len(data)
                tf.addfile(ti, io.BytesIO(data))
    data = buf.getvalue()
    ctx = BuildContext.from_tar(io.BytesIO(data), tmp_path)
    try:
        with pytest.raises(InvalidArgument, match="failed to unpack build context"):
            ctx.materialize()
    finally:
        ctx.close()
