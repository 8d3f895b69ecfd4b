"""daemon.json "userns-remap": containers run in a user namespace whose root is an unprivileged host
uid (the first of the remap user's /etc/subuid range), the daemon's state lives in
<data-root>/<uid>.<gid>, layer files are owned by the shifted ids, and images committed and saved
from such a daemon carry the container's own ids, as with dockerd.

The module adds a range for the existing user nobody (group nogroup) to /etc/subuid and /etc/subgid
and removes exactly those lines afterwards: the host is left as it was found.
"""

from __future__ import annotations

import io
import json
import os
import tarfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from .conftest import CLI, TUG, Engine, private_tugd

BASE = 300000
SIZE = 65536
LINES = {Path("/etc/subuid"): f"nobody:{BASE}:{SIZE}\n", Path("/etc/subgid"): f"nogroup:{BASE}:{SIZE}\n"}


@pytest.fixture(scope="module")
def remapped(_leak_check: list[Engine]) -> Iterator[Engine]:
    """A private tugd with "userns-remap": "nobody:nogroup" and the subordinate ranges it needs."""
    before = {p: (p.read_text() if p.exists() else None) for p in LINES}
    try:
        for p, line in LINES.items():
            with open(p, "a") as f:
                f.write(line)
        with private_tugd(_leak_check, {"userns-remap": "nobody:nogroup"}) as eng:
            yield eng
    finally:
        for p, line in LINES.items():
            text = p.read_text()
            if before[p] is None and text == line:
                p.unlink()
            else:
                p.write_text(text.replace(line, "", 1))


@pytest.fixture
def rtug(remapped: Engine) -> CLI:
    return CLI("tug", TUG, remapped.env)


def _run(rtug: CLI, *args: str) -> str:
    r = rtug("run", "--rm", *args, check=True)
    return str(r.stdout)


def test_container_root_is_the_first_subordinate_id(rtug: CLI) -> None:
    out = _run(rtug, "busybox", "sh", "-c", "id -u; id -g; cat /proc/self/uid_map /proc/self/gid_map")
    lines = out.splitlines()
    assert lines[:2] == ["0", "0"]
    assert lines[2].split() == ["0", str(BASE), str(SIZE)]
    assert lines[3].split() == ["0", str(BASE), str(SIZE)]


def test_exec_joins_the_user_namespace(rtug: CLI, remapped: Engine) -> None:
    name = f"ue{remapped.token}"
    try:
        rtug("run", "-d", "--name", name, "busybox", "sleep", "60", check=True)
        out = rtug("exec", name, "sh", "-c", "id -u; cat /proc/self/uid_map", check=True).stdout
        assert out.split() == ["0", "0", str(BASE), str(SIZE)]
        # its own network namespace, owned by its user namespace: sysfs shows its eth0
        assert rtug("exec", name, "ls", "/sys/class/net", check=True).stdout.split() == ["eth0", "lo"]
        ip = rtug("inspect", "-f", "{{.NetworkSettings.IPAddress}}", name, check=True).stdout.strip()
        _run(rtug, "busybox", "ping", "-c", "1", "-W", "5", ip)
    finally:
        rtug("rm", "-f", name)


def test_userns_host_runs_without_a_user_namespace(rtug: CLI) -> None:
    out = _run(rtug, "--userns=host", "busybox", "cat", "/proc/self/uid_map")
    assert out.split() == ["0", "0", "4294967295"]


def test_host_namespaces_and_privileged_need_userns_host(rtug: CLI) -> None:
    for flags, message in ((["--privileged"], "privileged mode is incompatible with user namespaces."),
                           (["--network", "host"], "cannot share the host's network namespace when user "
                                                   "namespaces are enabled"),
                           (["--pid", "host"], "cannot share the host PID namespace when user namespaces "
                                               "are enabled")):
        r = rtug("run", "--rm", *flags, "busybox", "true")
        assert r.returncode == 125, flags
        assert message in r.stderr
    out = _run(rtug, "--userns=host", "--privileged", "--network", "host", "busybox", "sh", "-c",
               "cat /proc/self/uid_map; stat -c %u /bin/busybox")
    assert out.split() == ["0", "0", "4294967295", str(BASE)]   # real root; the files stay shifted


def test_info_and_state_under_the_remapped_root(rtug: CLI, remapped: Engine) -> None:
    info = json.loads(rtug("info", "--format", "{{json .}}", check=True).stdout)
    assert "name=userns" in info["SecurityOptions"]
    root = remapped.data_root / f"{BASE}.{BASE}"
    assert info["DockerRootDir"] == str(root)
    st = os.stat(root)
    assert (st.st_uid, st.st_gid, st.st_mode & 0o777) == (0, BASE, 0o710)
    assert os.stat(remapped.data_root).st_mode & 0o777 == 0o701
    owners = {(s.st_uid, s.st_gid) for s in (os.lstat(p) for p in root.rglob("bin/busybox"))}
    assert owners == {(BASE, BASE)}   # the image's layer, unpacked with the shifted ids


def test_bind_mount_files_belong_to_the_remapped_root(rtug: CLI, tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    os.chmod(tmp_path, 0o755)
    os.chmod(shared, 0o777)
    secret = shared / "secret"
    secret.write_text("host root only\n")
    os.chmod(secret, 0o600)
    _run(rtug, "-v", f"{shared}:/mnt", "busybox", "touch", "/mnt/made-inside")
    st = os.stat(shared / "made-inside")
    assert (st.st_uid, st.st_gid) == (BASE, BASE)
    r = rtug("run", "--rm", "-v", f"{shared}:/mnt", "busybox", "cat", "/mnt/secret")
    assert r.returncode == 1
    assert "Permission denied" in r.stderr
    # the container's root cannot take the host root's file either
    r = rtug("run", "--rm", "-v", f"{shared}:/mnt", "busybox", "chown", "0:0", "/mnt/made-inside")
    assert (os.stat(shared / "made-inside").st_uid, r.returncode) == (BASE, 0)
    r = rtug("run", "--rm", "-v", f"{shared}:/mnt", "busybox", "chmod", "0644", "/mnt/secret")
    assert r.returncode == 1
    assert os.stat(secret).st_mode & 0o777 == 0o600


def test_named_volume_is_writable_by_the_container_root(rtug: CLI, remapped: Engine) -> None:
    name = f"uv{remapped.token}"
    try:
        out = _run(rtug, "-v", f"{name}:/data", "busybox", "sh", "-c", "echo hi > /data/f && stat -c %u /data/f")
        assert out.strip() == "0"
    finally:
        rtug("volume", "rm", "-f", name)


def test_commit_and_save_give_the_container_ids(rtug: CLI, remapped: Engine) -> None:
    name, image = f"uc{remapped.token}", f"tt{remapped.token}/userns:1"
    try:
        rtug("run", "--name", name, "busybox", "sh", "-c",
             "touch /by-root && touch /by-user && chown 5:6 /by-user && rm /etc/group", check=True)
        rtug("commit", name, image, check=True)
        saved = rtug("save", image, check=True, text=False).stdout
    finally:
        rtug("rm", "-f", name)
        rtug("rmi", "-f", image)
    outer = tarfile.open(fileobj=io.BytesIO(saved))
    manifest = json.load(outer.extractfile("manifest.json"))   # type: ignore[arg-type]
    base_layer, top_layer = manifest[0]["Layers"]
    top = tarfile.open(fileobj=outer.extractfile(top_layer))
    owners = {m.name: (m.uid, m.gid) for m in top.getmembers()}
    assert owners["by-root"] == (0, 0)
    assert owners["by-user"] == (5, 6)
    assert owners["etc/.wh.group"] == (0, 0)
    assert owners["etc"] == (0, 0)
    base = tarfile.open(fileobj=outer.extractfile(base_layer))
    assert {(m.uid, m.gid) for m in base.getmembers()} == {(0, 0)}   # busybox's layer as imported


def test_cp_and_export_use_the_container_ids(rtug: CLI, remapped: Engine, tmp_path: Path) -> None:
    name = f"ux{remapped.token}"
    src = tmp_path / "in.txt"
    src.write_text("copied\n")
    os.chown(src, 7, 8)
    try:
        rtug("create", "--name", name, "busybox", "true", check=True)
        rtug("cp", str(src), f"{name}:/in.txt", check=True)
        rtug("start", "-a", name, check=True)
        out = rtug("cp", f"{name}:/in.txt", "-", check=True, text=False).stdout
        exported = rtug("export", name, check=True, text=False).stdout
        owners = {(s.st_uid, s.st_gid) for s in (os.lstat(p) for p in remapped.data_root.rglob("in.txt"))}
    finally:
        rtug("rm", "-f", name)
    member = tarfile.open(fileobj=io.BytesIO(out)).getmember("in.txt")
    assert (member.uid, member.gid) == (7, 8)
    members = {m.name: m for m in tarfile.open(fileobj=io.BytesIO(exported)).getmembers()}
    assert (members["in.txt"].uid, members["in.txt"].gid) == (7, 8)
    assert (members["bin/busybox"].uid, members["bin/busybox"].gid) == (0, 0)
    assert owners == {(BASE + 7, BASE + 8)}   # in the container's rw layer, shifted



def test_build_copy_and_add_own_files_as_the_container_ids(rtug: CLI, remapped: Engine, tmp_path: Path) -> None:
    """COPY (with and without --chown) and ADD of a local archive on a remapped daemon: inside the
    container the files have the ids the Dockerfile asked for, not the overflow id."""
    (tmp_path / "f").write_text("x")
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        ti = tarfile.TarInfo("inner")
        ti.size, ti.uid, ti.gid = 1, 7, 8
        tf.addfile(ti, io.BytesIO(b"y"))
    (tmp_path / "a.tar").write_bytes(buf.getvalue())
    (tmp_path / "Dockerfile").write_text(
        "FROM busybox\nCOPY f /plain\nCOPY --chown=5:6 f /owned\nADD a.tar /t/\n")
    tag = f"tt{remapped.token}/built:remap"
    try:
        rtug("build", "-q", "-t", tag, str(tmp_path), check=True)
        out = _run(rtug, tag, "stat", "-c", "%n %u:%g", "/plain", "/owned", "/t/inner")
        assert out.splitlines() == ["/plain 0:0", "/owned 5:6", "/t/inner 7:8"]
    finally:
        rtug("rmi", "-f", tag)
