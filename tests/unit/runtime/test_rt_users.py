"""Config.User resolution; expectations recorded from dockerd 20.10. No root needed."""

import os
from pathlib import Path

import pytest

from tugboat.errors import InvalidArgument
from tugboat.runtime.users import ResolvedUser, resolve_user

PASSWD = ("root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n"
          "alice:x:1000:1000:alice:/home/alice:/bin/sh\n")
GROUP = "root:x:0:\nnobody:x:65534:\nalice:x:1000:\nstaff:x:50:alice,bob\nwheel:x:10:root,alice\n"


@pytest.fixture
def rootfs(tmp_path: Path) -> Path:
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc/passwd").write_text(PASSWD)
    (tmp_path / "etc/group").write_text(GROUP)
    return tmp_path


@pytest.mark.parametrize("spec,expected", [
    ("", ResolvedUser(0, 0, [0, 10], "/root")),
    ("root", ResolvedUser(0, 0, [0, 10], "/root")),
    ("1000", ResolvedUser(1000, 1000, [1000, 50, 10], "/home/alice")),
    ("alice", ResolvedUser(1000, 1000, [1000, 50, 10], "/home/alice")),
    ("alice:staff", ResolvedUser(1000, 50, [50], "/home/alice")),
    ("1000:50", ResolvedUser(1000, 50, [50], "/home/alice")),
    ("2000", ResolvedUser(2000, 0, [0], "/")),
    ("2000:3000", ResolvedUser(2000, 3000, [3000], "/")),
    ("nobody:wheel", ResolvedUser(65534, 10, [10], "/nonexistent")),
    ("root:root", ResolvedUser(0, 0, [0], "/root")),
    ("alice:99", ResolvedUser(1000, 99, [99], "/home/alice")),
])
def test_resolve_like_dockerd(rootfs, spec, expected):
    assert resolve_user(rootfs, spec) == expected


def test_unknown_user(rootfs):
    with pytest.raises(InvalidArgument) as e:
        resolve_user(rootfs, "xyz")
    assert e.value.message == "unable to find user xyz: no matching entries in passwd file"


def test_unknown_group(rootfs):
    with pytest.raises(InvalidArgument) as e:
        resolve_user(rootfs, "0:xyz")
    assert e.value.message == "unable to find group xyz: no matching entries in group file"


def test_no_etc_files(tmp_path):
    assert resolve_user(tmp_path, "") == ResolvedUser(0, 0, [0], "/")
    assert resolve_user(tmp_path, "1000") == ResolvedUser(1000, 0, [0], "/")
    with pytest.raises(InvalidArgument, match="unable to find user alice"):
        resolve_user(tmp_path, "alice")


def test_group_add(rootfs):
    assert resolve_user(rootfs, "alice:staff", ["wheel", "777"]).additional_gids == [50, 10, 777]


def test_passwd_symlink_stays_in_rootfs(tmp_path):
    (tmp_path / "etc").mkdir()
    (tmp_path / "real").write_text("bob:x:5:6:bob:/b:/bin/sh\n")
    (tmp_path / "etc/passwd").symlink_to("/real")
    assert resolve_user(tmp_path, "bob") == ResolvedUser(5, 6, [6], "/b")



@pytest.mark.parametrize("link", ["/inner", "../../../../inner", "/../../inner", "../../../../proc/../inner"])
def test_etc_symlinks_resolve_inside_the_rootfs(tmp_path: Path, link: str) -> None:
    """A container's /etc symlink is resolved inside its rootfs as a chroot would: tugd must
    never read the host's /etc/passwd (which has root) to resolve a container's user."""
    root = tmp_path / "rootfs"
    (root / "inner").mkdir(parents=True)
    (root / "inner" / "passwd").write_text("only:x:4242:4242::/home/only:/bin/sh\n")
    (root / "inner" / "group").write_text("only:x:4242:\n")
    os.symlink(link, root / "etc")
    assert resolve_user(root, "only").uid == 4242
    with pytest.raises(InvalidArgument, match="unable to find user root"):
        resolve_user(root, "root")


def test_etc_symlink_loop_is_an_error_not_the_host(tmp_path: Path) -> None:
    root = tmp_path / "rootfs"
    root.mkdir()
    os.symlink("/etc", root / "etc")     # points at itself inside the rootfs
    with pytest.raises(InvalidArgument, match="too many levels of symbolic links"):
        resolve_user(root, "root")
