"""`tug build`'s client side: the context tar (.dockerignore applied, root-owned, unpadded) and
docker's size display."""

from __future__ import annotations

import io
import os
import tarfile

from tugboat.cli.commands.build import _is_archive, context_tar, human_size


def test_human_size():
    assert human_size(2048) == "2.048kB"
    assert human_size(5120) == "5.12kB"
    assert human_size(512) == "512B"
    assert human_size(3_500_000) == "3.5MB"


def test_context_tar_applies_dockerignore(tmp_path):
    for name in ("Dockerfile", ".dockerignore", "a.log", "keep.log", "src/x.py", "build/out"):
        p = tmp_path / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(name)
    (tmp_path / ".dockerignore").write_text("*.log\n!keep.log\nbuild\nDockerfile\n")
    out = io.BytesIO()
    context_tar(str(tmp_path), "Dockerfile", (".dockerfile.x", b"FROM x\n"), out)
    data = out.getvalue()
    assert len(data) % 512 == 0 and len(data) < 10240
    with tarfile.open(fileobj=io.BytesIO(data)) as tf:
        members = {m.name: m for m in tf.getmembers()}
    assert sorted(members) == [".dockerfile.x", ".dockerignore", "Dockerfile", "keep.log", "src", "src/x.py"]
    assert all(m.uid == 0 and m.gid == 0 for m in members.values())
    assert _is_archive(data[:512])
    assert not _is_archive(b"FROM busybox\n")
    assert os.path.exists(tmp_path / "a.log")
