"""docker cp's operations in a chrooted child: the kernel, not Python, keeps them inside the root."""

from __future__ import annotations

import io
import os
import tarfile
from pathlib import Path

import pytest

from tugboat.errors import InvalidArgument, NotFound, TugboatError
from tugboat.runtime import chroot_archive

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="chroot needs root")


def _tar(*files: tuple[str, bytes]) -> io.BytesIO:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        for name, data in files:
            ti = tarfile.TarInfo(name)
            ti.size = len(data)
            tf.addfile(ti, io.BytesIO(data))
    buf.seek(0)
    return buf


def _names(chunks: list[bytes]) -> list[str]:
    return [m.name for m in tarfile.open(fileobj=io.BytesIO(b"".join(chunks)))]


@pytest.fixture
def root(tmp_path: Path) -> str:
    r = tmp_path / "rootfs"
    (r / "etc").mkdir(parents=True)
    (r / "etc" / "marker").write_text("container's /etc\n")
    (r / "etc" / "passwd").write_text("root:x:0:0:root:/root:/bin/sh\nalice:x:1000:1000::/home/alice:/bin/sh\n")
    (r / "etc" / "group").write_text("root:x:0:\nalice:x:1000:\n")
    (r / "tmp").mkdir()
    return str(r)


def test_untar_stat_tar_roundtrip(root):
    chroot_archive.untar(root, _tar(("dir/f.txt", b"hello")), "/tmp", no_overwrite=False, user=None)
    assert Path(root, "tmp/dir/f.txt").read_bytes() == b"hello"
    info = chroot_archive.stat(root, "ctr", "/tmp/dir/f.txt")
    assert info["resolved"] == "/tmp/dir/f.txt" and info["stat"]["size"] == 5
    assert _names(list(chroot_archive.tar(root, "/tmp", "dir", "."))) == [".", "./f.txt"]


def test_host_paths_are_the_roots_paths(root):
    """/etc handed straight to the kernel is the container's /etc, not the host's."""
    assert _names(list(chroot_archive.tar(root, "/", "etc", "etc"))) == ["etc", "etc/group", "etc/marker",
                                                                       "etc/passwd"]
    chroot_archive.untar(root, _tar(("written", b"x")), "/etc", no_overwrite=False, user=None)
    assert Path(root, "etc/written").exists() and not Path("/etc/written").exists()


def test_untar_chowns_to_the_containers_user(root):
    chroot_archive.untar(root, _tar(("owned", b"x")), "/tmp", no_overwrite=False, user="alice")
    st = os.lstat(Path(root, "tmp/owned"))
    assert (st.st_uid, st.st_gid) == (1000, 1000)


def test_errors_come_back_as_the_same_kind(root):
    with pytest.raises(NotFound, match="^Could not find the file /nope in container ctr$"):
        chroot_archive.stat(root, "ctr", "/nope")
    with pytest.raises(InvalidArgument):
        chroot_archive.untar(root, _tar(("../escape", b"x")), "/tmp", no_overwrite=False, user=None)
    assert not Path(root).parent.joinpath("escape").exists()
    with pytest.raises(TugboatError):
        list(chroot_archive.tar(root, "/", "missing", "missing"))


def test_running_root_refuses_a_pid_outside_the_container(root):
    """A pid whose cgroup does not name the container (e.g. reused by a host process) is never entered."""
    view = chroot_archive.running_root("0123456789abcdef", os.getpid())
    with pytest.raises(TugboatError, match="^container 0123456789abcdef is not running$"):
        chroot_archive.stat(view, "ctr", "/etc")
