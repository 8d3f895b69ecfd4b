"""The default busybox image (src/tugboat/tools/busybox_image.py + scripts/ensure-busybox.sh)."""

from __future__ import annotations

import io
import os
import subprocess

from tugboat.tools.busybox_image import applet_names, write_rootfs

from .conftest import ENSURE_BUSYBOX
from .helpers import ok, tar_members


def rootfs() -> bytes:
    buf = io.BytesIO()
    write_rootfs(buf)
    return buf.getvalue()


def test_tar_is_deterministic_and_complete():
    data = rootfs()
    assert data == rootfs()
    members = tar_members(data)
    assert members["bin/busybox"].isfile()
    for applet in ("sh", "ls", "env", "cat", "sleep", "[", "wget"):
        assert members[f"bin/{applet}"].islnk() and members[f"bin/{applet}"].linkname == "bin/busybox"
    assert len([m for m in members.values() if m.islnk()]) == len(applet_names("/bin/busybox"))
    assert members["tmp"].mode == 0o1777 and members["root"].mode == 0o700
    assert all(m.uid == 0 and m.gid == 0 and m.mtime == members["bin"].mtime for m in members.values())
    for d in ("dev", "proc", "sys", "etc", "home", "var", "usr/sbin"):
        assert members[d].isdir()


def test_busybox_in_a_container(cli):
    script = ("stat -c '%a %U:%G' /tmp /root; id nobody; id daemon; grep -c . /etc/group; "
              "test $(stat -c %h /bin/busybox) -gt 200 && echo hardlinks-kept; readlink /bin/sh || echo not-a-symlink")
    p = ok(cli("run", "--rm", "busybox", "sh", "-c", script))
    assert p.stdout.splitlines() == [
        "1777 root:root", "700 root:root",
        "uid=65534(nobody) gid=65534(nogroup) groups=65534(nogroup)",
        "uid=1(daemon) gid=1(daemon) groups=1(daemon),33(www-data)",
        "23", "hardlinks-kept", "not-a-symlink"]


def test_image_config(cli):
    fmt = "{{json .Config.Cmd}} {{index .Config.Env 0}} {{.Os}} {{.Architecture}}"
    cmd, env, os_, _arch = ok(cli("image", "inspect", "-f", fmt, "busybox")).stdout.split()
    assert cmd == '["sh"]'
    assert env == "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
    assert os_ == "linux"


def test_ensure_busybox_is_idempotent(tugd, tug):
    before = ok(tug("image", "inspect", "-f", "{{.Id}}", "busybox")).stdout
    env = {**os.environ, "CLI": str(tug.binary)}
    r = subprocess.run([str(ENSURE_BUSYBOX), tugd.host], env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert ok(tug("image", "inspect", "-f", "{{.Id}}", "busybox")).stdout == before
