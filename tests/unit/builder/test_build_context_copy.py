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
        assert (ctx.root / "bin" / "tool").stat().st_mode & 0o7777 == 0o751
        assert ctx.headers["bin/tool"].mode == 0o751
        assert ctx.read_dockerfile("Dockerfile") == b"FROM x\n"
        with pytest.raises(NotFound, match="Cannot locate specified Dockerfile: nope"):
            ctx.read_dockerfile("nope")
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
        assert sorted(os.listdir(ctx.root)) == [".dockerignore", "keep.txt"]
    finally:
        ctx.close()


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
