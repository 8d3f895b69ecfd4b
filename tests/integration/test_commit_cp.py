"""docker commit and docker cp (the archive API) through the docker CLI, tug and docker-py.

Includes the hostile cases: symlinks inside a container that point at / or /etc must not
let cp read the host's /etc/shadow or write outside the container's root filesystem.
"""

from __future__ import annotations

import io
import json
import os
import tarfile
import uuid
from pathlib import Path

import pytest

from .helpers import HEX64, ok, tar_members


def _run_d(cli, name: str, *cmd: str) -> str:
    return ok(cli("run", "-d", "--name", name, "busybox", *cmd)).stdout.strip()


# --------------------------------------------------------------------------------------------------
# commit


def test_commit_then_run_sees_the_file(cli, new_name, track, token):
    name = new_name("commit")
    ok(cli("run", "--name", name, "busybox", "sh", "-c", "echo committed > /hello.txt"))
    repo = f"tt{token}/commit-{cli.name}:v1"
    track.image(repo)
    p = ok(cli("commit", "-a", "Ann <a@x>", "-m", "my message", name, repo))
    assert HEX64.match(p.stdout.strip().removeprefix("sha256:")), p.stdout
    out = ok(cli("run", "--rm", repo, "cat", "/hello.txt")).stdout
    assert out == "committed\n"
    info = json.loads(ok(cli("image", "inspect", repo)).stdout)[0]
    assert info["Author"] == "Ann <a@x>"
    assert info["Comment"] == "my message"
    base = json.loads(ok(cli("image", "inspect", "busybox")).stdout)[0]
    assert info["Parent"] == base["Id"]
    assert len(info["RootFS"]["Layers"]) == len(base["RootFS"]["Layers"]) + 1
    assert info["Config"]["Cmd"] == ["sh", "-c", "echo committed > /hello.txt"]
    hist = ok(cli("history", "--no-trunc", "--format", "{{.CreatedBy}}|{{.Comment}}", repo)).stdout
    assert hist.splitlines()[0] == "sh -c echo committed > /hello.txt|my message"


def test_commit_changes_cmd_and_env(cli, new_name, track, token):
    name = new_name("commitc")
    ok(cli("create", "--name", name, "busybox", "true"))
    repo = f"tt{token}/commitc-{cli.name}"
    track.image(repo)
    ok(cli("commit", "-c", 'CMD ["echo","x"]', "-c", "ENV FOO=bar", name, repo))
    assert ok(cli("run", "--rm", repo)).stdout == "x\n"
    cfg = json.loads(ok(cli("image", "inspect", repo)).stdout)[0]["Config"]
    assert "FOO=bar" in cfg["Env"]
    assert cfg["Cmd"] == ["echo", "x"]


def test_commit_running_container_pauses_and_keeps_running(cli, new_name, track, token):
    name = new_name("commitr")
    _run_d(cli, name, "sh", "-c", "echo live > /live; sleep 60")
    repo = f"tt{token}/commitr-{cli.name}"
    track.image(repo)
    ok(cli("commit", name, repo))
    assert ok(cli("inspect", "-f", "{{.State.Status}}", name)).stdout.strip() == "running"
    assert ok(cli("run", "--rm", repo, "cat", "/live")).stdout == "live\n"


def test_commit_bad_change_is_refused(cli, new_name):
    name = new_name("commitbad")
    ok(cli("create", "--name", name, "busybox", "true"))
    p = cli("commit", "-c", "FROM busybox", name)
    assert p.returncode != 0
    assert "from is not a valid change command" in p.stderr.lower()


def test_commit_missing_container(cli):
    p = cli("commit", "nosuchcontainer-" + uuid.uuid4().hex[:8])
    assert p.returncode != 0
    assert "No such container" in p.stderr


def test_commit_dockerpy(dclient, new_name, track, token):
    name = new_name("commitpy")
    c = dclient.containers.run("busybox", ["sh", "-c", "echo py > /py.txt"], name=name, detach=True)
    c.wait()
    repo = f"tt{token}/commitpy"
    track.image(repo + ":t")
    img = c.commit(repository=repo, tag="t", changes=["LABEL a=b"])
    assert img.labels.get("a") == "b"
    assert dclient.containers.run(repo + ":t", ["cat", "/py.txt"], remove=True) == b"py\n"


# --------------------------------------------------------------------------------------------------
# cp (the docker CLI implements the client side; tug mirrors it)


@pytest.fixture
def srcdir(tmp_path: Path) -> Path:
    d = tmp_path / "src"
    (d / "sub").mkdir(parents=True)
    (d / "a.txt").write_text("A\n")
    (d / "sub" / "b.txt").write_text("B\n")
    return d


@pytest.mark.parametrize("running", [True, False], ids=["running", "stopped"])
def test_cp_file_both_ways(cli, new_name, tmp_path, srcdir, running):
    name = new_name("cpf")
    if running:
        _run_d(cli, name, "sleep", "60")
    else:
        ok(cli("create", "--name", name, "busybox", "true"))
    ok(cli("cp", str(srcdir / "a.txt"), f"{name}:/tmp/"))
    ok(cli("cp", str(srcdir / "a.txt"), f"{name}:/renamed.txt"))
    out = tmp_path / "out"
    out.mkdir()
    ok(cli("cp", f"{name}:/tmp/a.txt", str(out)))
    assert (out / "a.txt").read_text() == "A\n"
    ok(cli("cp", f"{name}:/renamed.txt", str(out / "r.txt")))
    assert (out / "r.txt").read_text() == "A\n"
    ok(cli("cp", f"{name}:/etc/hostname", str(out / "hn")))
    assert (out / "hn").is_file()


@pytest.mark.parametrize("running", [True, False], ids=["running", "stopped"])
def test_cp_dir_rules(cli, new_name, tmp_path, srcdir, running):
    name = new_name("cpd")
    if running:
        _run_d(cli, name, "sleep", "60")
    else:
        ok(cli("create", "--name", name, "busybox", "true"))
    # dir into an existing dir: lands inside it
    ok(cli("cp", str(srcdir), f"{name}:/tmp"))
    # dir to a missing path: created with the dir's contents
    ok(cli("cp", str(srcdir), f"{name}:/newdir"))
    # dir/. copies the contents
    ok(cli("cp", str(srcdir) + "/.", f"{name}:/tmp"))
    out = tmp_path / "o1"
    out.mkdir()
    ok(cli("cp", f"{name}:/tmp/src", str(out)))
    assert (out / "src" / "sub" / "b.txt").read_text() == "B\n"
    ok(cli("cp", f"{name}:/newdir", str(tmp_path / "o2")))
    assert (tmp_path / "o2" / "a.txt").read_text() == "A\n"
    out3 = tmp_path / "o3"
    out3.mkdir()
    ok(cli("cp", f"{name}:/tmp/.", str(out3)))
    assert (out3 / "a.txt").read_text() == "A\n"
    assert (out3 / "sub" / "b.txt").read_text() == "B\n"
    out4 = tmp_path / "o4"
    out4.mkdir()
    ok(cli("cp", f"{name}:/newdir/", str(out4)))
    assert (out4 / "newdir" / "sub" / "b.txt").read_text() == "B\n"


def test_cp_error_cases(cli, new_name, tmp_path, srcdir):
    name = new_name("cperr")
    ok(cli("create", "--name", name, "busybox", "true"))
    p = cli("cp", f"{name}:/nonexistent", str(tmp_path))
    assert p.returncode != 0
    assert "Could not find the file /nonexistent in container " + name in p.stderr
    p = cli("cp", str(srcdir / "a.txt"), f"{name}:/nodir/")
    assert p.returncode != 0
    assert "no such directory" in p.stderr.lower() or "not a directory" in p.stderr.lower()
    p = cli("cp", f"{name}:/etc/hostname", str(tmp_path / "missing") + "/")
    assert p.returncode != 0


def test_cp_stdout_tar(cli, new_name):
    name = new_name("cptar")
    ok(cli("create", "--name", name, "busybox", "true"))
    p = cli("cp", f"{name}:/etc/hostname", "-", text=False)
    assert p.returncode == 0, p.stderr
    members = tar_members(p.stdout)
    assert list(members) == ["hostname"]


def test_cp_stdin_tar(cli, new_name, tmp_path):
    name = new_name("cpin")
    ok(cli("create", "--name", name, "busybox", "true"))
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        data = b"from stdin\n"
        ti = tarfile.TarInfo("in.txt")
        ti.size = len(data)
        tf.addfile(ti, io.BytesIO(data))
    ok(cli("cp", "-", f"{name}:/tmp", input=buf.getvalue()))
    ok(cli("cp", f"{name}:/tmp/in.txt", str(tmp_path / "in.txt")))
    assert (tmp_path / "in.txt").read_bytes() == b"from stdin\n"


# --------------------------------------------------------------------------------------------------
# hostile symlinks


def _hostile(cli, name: str) -> None:
    ok(cli("run", "--name", name, "busybox", "sh", "-c",
           "ln -s /etc /evil && ln -s / /rootlink && ln -s ../../../../../../.. /up && "
           "ln -s /etc/shadow /shadowlink && mkdir /d && echo mine > /etc/shadow"))


def test_symlinks_do_not_read_the_host(cli, new_name, tmp_path):
    name = new_name("evilr")
    _hostile(cli, name)
    for src in ("/evil/shadow", "/rootlink/etc/shadow", "/up/etc/shadow"):
        out = tmp_path / uuid.uuid4().hex
        ok(cli("cp", f"{name}:{src}", str(out)))
        assert out.read_text() == "mine\n", src
    out = tmp_path / "followed"
    ok(cli("cp", "-L", f"{name}:/shadowlink", str(out)))
    assert out.read_text() == "mine\n"
    out = tmp_path / "link"
    ok(cli("cp", f"{name}:/shadowlink", str(out)))
    assert os.readlink(out) == "/etc/shadow"


def test_symlinks_do_not_write_outside(cli, new_name, tmp_path):
    name = new_name("evilw")
    _hostile(cli, name)
    marker = f"tugboat-escape-{uuid.uuid4().hex}"
    src = tmp_path / marker
    src.write_text("x\n")
    for dest in ("/evil/", "/rootlink/tmp/", "/up/tmp/", "/up/"):
        ok(cli("cp", str(src), f"{name}:{dest}"))
    assert not os.path.exists(f"/etc/{marker}")
    assert not os.path.exists(f"/tmp/{marker}")
    assert not os.path.exists(f"/{marker}")
    listing = ok(cli("run", "--rm", "busybox", "true"))  # the daemon still works
    assert listing.returncode == 0
    out = tmp_path / "back"
    ok(cli("cp", f"{name}:/etc/{marker}", str(out)))
    assert out.read_text() == "x\n"


def test_put_archive_with_escaping_entries_stays_inside(dclient, new_name):
    name = new_name("evilput")
    c = dclient.containers.create("busybox", ["true"], name=name)
    marker = f"tugboat-escape-{uuid.uuid4().hex}"
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        ti = tarfile.TarInfo("lnk")
        ti.type, ti.linkname = tarfile.SYMTYPE, "/"
        tf.addfile(ti)
        data = b"x"
        for n in (f"lnk/tmp/{marker}", f"../../../../tmp/{marker}"):
            ti = tarfile.TarInfo(n)
            ti.size = 1
            tf.addfile(ti, io.BytesIO(data))
    try:
        c.put_archive("/", buf.getvalue())
    except Exception:  # noqa: BLE001 - refusing the archive is as good as containing it
        pass
    assert not os.path.exists(f"/tmp/{marker}")


# --------------------------------------------------------------------------------------------------
# docker-py


def test_dockerpy_put_and_get_archive(dclient, new_name):
    name = new_name("pyarch")
    c = dclient.containers.run("busybox", ["sleep", "60"], name=name, detach=True)
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        ti = tarfile.TarInfo("dir/f.txt")
        ti.size, ti.mode = 3, 0o640
        tf.addfile(ti, io.BytesIO(b"abc"))
    assert c.put_archive("/tmp", buf.getvalue()) is True
    chunks, st = c.get_archive("/tmp/dir")
    assert st["name"] == "dir"
    assert st["mode"] & (1 << 31)
    data = b"".join(chunks)
    members = tar_members(data)
    assert set(members) >= {"dir", "dir/f.txt"}
    tf = tarfile.open(fileobj=io.BytesIO(data))
    member = tf.extractfile("dir/f.txt")
    assert member is not None and member.read() == b"abc"
    assert members["dir/f.txt"].mode & 0o7777 == 0o640
    _, st = c.get_archive("/tmp/dir/f.txt")
    assert st["size"] == 3 and st["linkTarget"] == ""
    import docker

    with pytest.raises(docker.errors.NotFound):
        c.get_archive("/nope")


def test_symlink_swap_race_cannot_reach_the_host(docker_cli, new_name, tmp_path):
    """A running container swaps /swap between a real directory and a symlink to /etc while cp
    reads /swap/shadow: every read must come from the container (CVE-2018-15664's pattern)."""
    name = new_name("race")
    _run_d(docker_cli, name, "sh", "-c",
           "echo mine > /etc/shadow; while true; do mkdir -p /swapd; echo dir > /swapd/shadow; "
           "mv -T /swapd /swap 2>/dev/null || { rm -rf /swap; mv /swapd /swap; }; "
           "ln -sfn /etc /swapl; mv -T /swapl /swap 2>/dev/null || rm -rf /swap; done")
    seen: set[str] = set()
    successes = 0
    # Every copy that succeeds must come from the container; most fail mid-swap, so keep going
    # (bounded) until a few have succeeded, which proves the check ran on real reads.
    for i in range(150):
        out = tmp_path / f"o{i}"
        p = docker_cli("cp", f"{name}:/swap/shadow", str(out))
        if p.returncode == 0 and out.exists() and out.is_file():
            text = out.read_text()
            seen.add(text)
            successes += 1
            # Container content only: "mine" (its /etc/shadow through the symlink, resolved
            # inside the container) or "dir"; a read torn by the container rewriting the file
            # may come back as NULs, but never as the host's /etc/shadow.
            assert text.strip("\0") in ("mine\n", "dir\n", ""), text[:40]
            assert "root:" not in text
            if successes >= 5:
                break
    assert seen, "no copy succeeded"


def test_cp_sees_a_running_containers_mounts(cli, new_name, tmp_path):
    """dockerd mounts the container's volumes and /etc files for cp: a bind mount is copied
    into and out of, and /etc/hostname is the container's hostname."""
    vol = tmp_path / "vol"
    vol.mkdir()
    (vol / "in-volume.txt").write_text("vol\n")
    name = new_name("cpmnt")
    ok(cli("run", "-d", "--name", name, "--hostname", "cphost", "-v", f"{vol}:/data", "busybox", "sleep", "60"))
    out = tmp_path / "out"
    out.mkdir()
    ok(cli("cp", f"{name}:/etc/hostname", str(out / "hn")))
    assert (out / "hn").read_text() == "cphost\n"
    ok(cli("cp", f"{name}:/data/in-volume.txt", str(out)))
    assert (out / "in-volume.txt").read_text() == "vol\n"
    src = tmp_path / "new.txt"
    src.write_text("new\n")
    ok(cli("cp", str(src), f"{name}:/data/"))
    assert (vol / "new.txt").read_text() == "new\n"
