"""The container toolbox: pause/unpause, rename, top, diff, stats, container prune and image prune,
through tug, the docker CLI and docker-py (each checked against the real dockerd 20.10 too)."""

from __future__ import annotations

import io
import json
import re
import secrets
import subprocess
import tarfile
import time

from .helpers import HEX64, ok, read_until, wait_until

COUNTER = "i=0; while true; do echo $i; i=$((i+1)); sleep 0.1; done"
SIZE = r"\d+(\.\d+)?(B|KiB|MiB|GiB)"


def status_of(cli, name: str) -> str:
    p = ok(cli("ps", "-a", "--format", "{{.Names}}|{{.Status}}"))
    lines = [ln.split("|", 1)[1] for ln in p.stdout.splitlines() if ln.split("|", 1)[0] == name]
    assert len(lines) == 1, p.stdout
    return lines[0]


def log_lines(cli, name: str) -> list[str]:
    return ok(cli("logs", name)).stdout.splitlines()


def test_pause_freezes_the_container(cli, new_name):
    name = new_name("pause")
    cid = ok(cli("run", "-d", "--name", name, "busybox", "sh", "-c", COUNTER)).stdout.strip()
    wait_until(lambda: len(log_lines(cli, name)) >= 3, what="the counter to start")

    p = ok(cli("pause", name))
    assert p.stdout == f"{name}\n" and p.stderr == ""
    assert re.fullmatch(r"Up .+ \(Paused\)", status_of(cli, name)), status_of(cli, name)
    state = ok(cli("inspect", "-f", "{{.State.Status}} {{.State.Paused}} {{.State.Running}}", name)).stdout
    assert state.split() == ["paused", "true", "true"]
    # in ps without -a too: a paused container is running
    assert name in ok(cli("ps", "--format", "{{.Names}}")).stdout.split()

    # a frozen container still has its processes: top works (and so does stats)
    assert "sh -c" in ok(cli("top", name)).stdout
    assert name in ok(cli("stats", "--no-stream", "--format", "{{.Name}}", name)).stdout

    time.sleep(0.3)                       # a line being written when frozen may still land
    frozen = log_lines(cli, name)
    time.sleep(1.0)                       # ten ticks if it were running
    assert log_lines(cli, name) == frozen

    p = cli("pause", name)
    assert p.returncode == 1 and p.stdout == ""
    assert p.stderr == f"Error response from daemon: Container {cid} is already paused\n"

    assert ok(cli("unpause", name)).stdout == f"{name}\n"
    wait_until(lambda: len(log_lines(cli, name)) > len(frozen) + 2, what="the counter to go on")
    assert status_of(cli, name).startswith("Up ") and "Paused" not in status_of(cli, name)
    assert ok(cli("inspect", "-f", "{{.State.Status}} {{.State.Paused}}", name)).stdout.split() == [
        "running", "false"]

    p = cli("unpause", name)
    assert p.returncode == 1
    assert p.stderr == f"Error response from daemon: Container {cid} is not paused\n"
    ok(cli("rm", "-f", name))


def test_pause_errors(cli, new_name):
    name = new_name("nopause")
    cid = ok(cli("create", "--name", name, "busybox", "true")).stdout.strip()
    p = cli("pause", "nosuch-" + secrets.token_hex(4), name)
    assert p.returncode == 1 and p.stdout == ""
    assert p.stderr.splitlines() == [
        f"Error response from daemon: No such container: {p.args[2]}",
        f"Error response from daemon: Container {cid} is not running"]
    p = cli("unpause", name)
    assert p.returncode == 1
    assert p.stderr == f"Error response from daemon: Container {cid} is not paused\n"


def test_rename(cli, new_name):
    old, new, other = new_name("old"), new_name("new"), new_name("other")
    cid = ok(cli("create", "--name", old, "busybox", "true")).stdout.strip()
    ok(cli("create", "--name", other, "busybox", "true"))
    p = ok(cli("rename", old, new))
    assert p.stdout == "" and p.stderr == ""
    assert ok(cli("inspect", "-f", "{{.Id}} {{.Name}}", new)).stdout.split() == [cid, "/" + new]
    p = cli("inspect", old)
    assert p.returncode == 1 and f"No such object: {old}" in p.stderr
    # the old name is free again
    ok(cli("create", "--name", old, "busybox", "true"))

    p = cli("rename", new, other)
    assert p.returncode == 1 and p.stdout == ""
    other_id = ok(cli("inspect", "-f", "{{.Id}}", other)).stdout.strip()
    assert p.stderr == (f'Error response from daemon: Error when allocating new name: Conflict. The container '
                        f'name "/{other}" is already in use by container "{other_id}". You have to remove '
                        f"(or rename) that container to be able to reuse that name.\n"
                        f"Error: failed to rename container named {new}\n")
    p = cli("rename", new, new)
    assert p.returncode == 1
    assert p.stderr == ("Error response from daemon: Renaming a container with the same name as its current name\n"
                        f"Error: failed to rename container named {new}\n")
    p = cli("rename", new)
    assert p.returncode == 1 and f"'{cli.name} rename' requires 2 arguments" in p.stderr


def test_top(cli, new_name):
    name = new_name("top")
    ok(cli("run", "-d", "--name", name, "busybox", "sleep", "300"))
    lines = ok(cli("top", name)).stdout.splitlines()
    assert lines[0].split() == ["UID", "PID", "PPID", "C", "STIME", "TTY", "TIME", "CMD"]
    assert lines[0].startswith("UID" + " " * 17 + "PID")        # docker's tabwriter, min width 20
    assert len(lines) == 2 and lines[1].startswith("root ") and lines[1].endswith("sleep 300"), lines
    lines = ok(cli("top", name, "-o", "pid,comm")).stdout.splitlines()
    assert lines[0].split() == ["PID", "COMMAND"] and lines[1].split()[1] == "sleep", lines
    p = cli("top", name, "bogus")        # dockerd: the first line of ps's complaint, a 500
    assert p.returncode == 1
    assert p.stderr == "Error response from daemon: ps: error: unsupported option (BSD syntax)\n"

    ok(cli("stop", "-t", "0", name))
    p = cli("top", name)
    cid = ok(cli("inspect", "-f", "{{.Id}}", name)).stdout.strip()
    assert p.returncode == 1 and p.stderr == f"Error response from daemon: Container {cid} is not running\n"


def test_diff(cli, new_name):
    name = new_name("diff")
    ok(cli("run", "-d", "--name", name, "busybox", "sh", "-c",
           "touch /newfile; rm /etc/group; mkdir /tmp/d; echo x > /tmp/d/f; touch /ready; sleep 300"))
    wait_until(lambda: "A /ready" in ok(cli("diff", name)).stdout, what="the container's changes")
    lines = ok(cli("diff", name)).stdout.splitlines()
    # the order is the layer walk's (directory order), not sorted: compare as sets
    assert sorted(lines) == sorted(["C /etc", "D /etc/group", "A /newfile", "C /tmp", "A /tmp/d",
                                    "A /tmp/d/f", "A /ready"]), lines
    # the changes survive the container's stop
    ok(cli("stop", "-t", "0", name))
    assert sorted(ok(cli("diff", name)).stdout.splitlines()) == sorted(lines)

    fresh = new_name("nodiff")
    ok(cli("create", "--name", fresh, "busybox", "true"))
    p = ok(cli("diff", fresh))
    assert p.stdout == "" and p.stderr == ""
    # after a run too: the mount points (/etc/hosts, /proc, ...) live in the init layer, not the diff
    ran = new_name("ran")
    ok(cli("run", "--name", ran, "busybox", "true"))
    p = ok(cli("diff", ran))
    assert p.stdout == "" and p.stderr == ""
    p = cli("diff", "nosuch-" + secrets.token_hex(4))
    assert p.returncode == 1 and p.stderr == f"Error response from daemon: No such container: {p.args[2]}\n"


def test_stats_no_stream(cli, new_name):
    name = new_name("stats")
    cid = ok(cli("run", "-d", "--name", name, "busybox", "sleep", "300")).stdout.strip()
    lines = ok(cli("stats", "--no-stream", name), ).stdout.splitlines()
    assert re.split(r"\s{2,}", lines[0]) == ["CONTAINER ID", "NAME", "CPU %", "MEM USAGE / LIMIT", "MEM %",
                                            "NET I/O", "BLOCK I/O", "PIDS"]
    assert len(lines) == 2
    row = re.split(r"\s{2,}", lines[1])
    assert row[:2] == [cid[:12], name]
    assert re.fullmatch(r"\d+\.\d\d%", row[2]) and re.fullmatch(r"\d+\.\d\d%", row[4])
    assert re.fullmatch(SIZE + " / " + SIZE, row[3]) and not row[3].startswith("0B"), row
    assert row[7] == "1"

    p = ok(cli("stats", "--no-stream", "--no-trunc", "--format", "{{.ID}}|{{.Name}}|{{.MemUsage}}|{{.PIDs}}", name))
    got = p.stdout.strip().split("|")
    assert got[0] == cid and got[1] == name and got[3] == "1"
    assert not got[2].startswith("0B")

    stopped = new_name("stats-stopped")
    ok(cli("create", "--name", stopped, "busybox", "true"))
    p = ok(cli("stats", "--no-stream", "--format", "{{.Name}}|{{.MemUsage}}|{{.CPUPerc}}|{{.PIDs}}", stopped))
    assert p.stdout == f"{stopped}|0B / 0B|0.00%|0\n"

    p = cli("stats", "--no-stream", name, "nosuch-" + secrets.token_hex(4))
    assert p.returncode == 1 and p.stdout == ""
    assert p.stderr == f"Error response from daemon: No such container: {p.args[-1]}\n"


def test_stats_stream_redraws(cli, new_name):
    name = new_name("stream")
    ok(cli("run", "-d", "--name", name, "busybox", "sleep", "300"))
    with subprocess.Popen([str(cli.binary), "stats", name], env=cli.env, stdout=subprocess.PIPE,
                          stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL) as follow:
        try:
            # docker 28 redraws in place, terminal or not: cursor home, clear each line's end, clear below
            out = read_until(follow, b"\x1b[J", timeout=20)
            out += read_until(follow, b"\x1b[J", timeout=20)
        finally:
            follow.kill()
    assert out.startswith(b"\x1b[HCONTAINER ID   NAME"), out
    assert out.count(b"\x1b[H") >= 2 and name.encode() in out


def test_container_prune_removes_only_stopped(cli, new_name, token):
    label = f"tt{token}-prune={secrets.token_hex(3)}"
    running, exited, created, other = (new_name(h) for h in ("run", "exited", "created", "unlabelled"))
    ok(cli("run", "-d", "--name", running, "--label", label, "busybox", "sleep", "300"))
    exited_id = ok(cli("run", "-d", "--name", exited, "--label", label, "busybox", "true")).stdout.strip()
    created_id = ok(cli("create", "--name", created, "--label", label, "busybox", "true")).stdout.strip()
    ok(cli("create", "--name", other, "busybox", "true"))
    ok(cli("wait", exited))

    p = ok(cli("container", "prune", "-f", "--filter", f"label={label}"))
    lines = p.stdout.splitlines()
    assert lines[0] == "Deleted Containers:" and lines[-2] == ""
    assert sorted(lines[1:-2]) == sorted([exited_id, created_id])
    assert re.fullmatch(r"Total reclaimed space: \d+(\.\d+)?(B|kB|MB)", lines[-1]), lines
    left = ok(cli("ps", "-a", "--format", "{{.Names}}")).stdout.split()
    assert running in left and other in left and exited not in left and created not in left

    p = ok(cli("container", "prune", "-f", "--filter", f"label={label}"))
    assert p.stdout == "Total reclaimed space: 0B\n"
    p = cli("container", "prune", "-f", "--filter", "bogus=1")
    assert p.returncode == 1 and p.stderr == "Error response from daemon: Invalid filter 'bogus'\n"


def tiny_tar(content: bytes) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as t:
        info = tarfile.TarInfo("hello.txt")
        info.size = len(content)
        info.mtime = 1_700_000_000
        t.addfile(info, io.BytesIO(content))
    return buf.getvalue()


def test_image_prune_removes_dangling(cli, track, token):
    label = f"tt{token}-iprune={secrets.token_hex(3)}"
    ref = track.image(f"tt{token}/prune:{secrets.token_hex(3)}")
    first = ok(cli("import", "-c", f"LABEL {label}", "-", ref, input=tiny_tar(secrets.token_bytes(8)),
                   timeout=120)).stdout.decode().strip()
    track.image(first)
    second = ok(cli("import", "-c", f"LABEL {label}", "-", ref, input=tiny_tar(secrets.token_bytes(8)),
                    timeout=120)).stdout.decode().strip()
    assert first != second
    dangling = ok(cli("images", "-q", "--no-trunc", "--filter", "dangling=true", "--filter",
                      f"label={label}")).stdout.split()
    assert dangling == [first]

    p = ok(cli("image", "prune", "-f", "--filter", f"label={label}"))
    lines = p.stdout.splitlines()
    assert lines[:2] == ["Deleted Images:", f"deleted: {first}"], lines
    assert lines[-2] == "" and re.fullmatch(r"Total reclaimed space: \d+(\.\d+)?(B|kB)", lines[-1]), lines
    assert ok(cli("image", "inspect", "-f", "{{.Id}}", ref)).stdout.strip() == second
    assert cli("image", "inspect", first).returncode == 1
    p = ok(cli("image", "prune", "-f", "--filter", f"label={label}"))
    assert p.stdout == "Total reclaimed space: 0B\n"

    # -a: unused tagged images too (the label keeps busybox and everyone else's images out)
    p = ok(cli("image", "prune", "-a", "-f", "--filter", f"label={label}"))
    lines = p.stdout.splitlines()
    assert lines[:3] == ["Deleted Images:", f"untagged: {ref}", f"deleted: {second}"], lines
    assert cli("image", "inspect", ref).returncode == 1


def test_dockerpy_toolbox(dclient, new_name, token):
    import docker

    name, renamed = new_name("py"), new_name("py-renamed")
    c = dclient.containers.run("busybox", ["sh", "-c", "touch /newfile; sleep 300"], name=name, detach=True)
    c.pause()
    c.reload()
    assert c.status == "paused" and c.attrs["State"]["Paused"] is True
    c.unpause()
    c.reload()
    assert c.status == "running"

    c.rename(renamed)
    c2 = dclient.containers.get(renamed)
    assert c2.id == c.id and c2.name == renamed
    try:
        dclient.containers.get(name)
        raise AssertionError("the old name still resolves")
    except docker.errors.NotFound:
        pass

    top = c2.top()
    assert "PID" in top["Titles"] and any(p[-1] == "sleep 300" for p in top["Processes"]), top
    top = c2.top(ps_args="-o pid,comm")
    assert top["Titles"] == ["PID", "COMMAND"]

    wait_until(lambda: {"Path": "/newfile", "Kind": 1} in (c2.diff() or []), what="/newfile in the diff")

    s = c2.stats(stream=False)
    assert s["id"] == c.id and s["name"] == "/" + renamed
    assert s["memory_stats"]["usage"] > 0 and s["memory_stats"]["limit"] > 0
    assert s["precpu_stats"]["cpu_usage"]["total_usage"] > 0      # two samples: docker stats' CPU %
    assert s["pids_stats"]["current"] == 1
    stream = c2.stats(stream=True, decode=True)
    first, second = next(stream), next(stream)
    assert second["preread"] == first["read"]
    stream.close()

    key, value = f"tt{token}-pyprune", secrets.token_hex(3)
    label = f"{key}={value}"
    stopped = dclient.containers.create("busybox", "true", name=new_name("py-stopped"), labels={key: value})
    # streaming a container that does not run: empty samples (name and id only), one a second
    empties = stopped.stats(stream=True, decode=True)
    a, b = next(empties), next(empties)
    empties.close()
    for x in (a, b):
        assert x["read"] == "0001-01-01T00:00:00Z" and x["id"] == stopped.id and x["memory_stats"] == {}
    res = dclient.containers.prune(filters={"label": label})
    assert res["ContainersDeleted"] == [stopped.id]
    assert isinstance(res["SpaceReclaimed"], int)
    res = dclient.containers.prune(filters={"label": label})
    assert res == {"ContainersDeleted": None, "SpaceReclaimed": 0}
    res = dclient.images.prune(filters={"label": label})
    assert res == {"ImagesDeleted": None, "SpaceReclaimed": 0}
    c2.remove(force=True)


def test_api_shapes(tugd, new_name):
    """Raw API answers where docker-py hides the details: status codes, null bodies, resize."""
    import http.client
    import socket

    class Conn(http.client.HTTPConnection):
        def connect(self) -> None:
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.sock.connect(str(tugd.socket))

    def call(method: str, path: str) -> tuple[int, bytes, str | None]:
        conn = Conn("localhost")
        try:
            conn.request(method, "/v1.41" + path)
            r = conn.getresponse()
            return r.status, r.read(), r.getheader("Content-Type")
        finally:
            conn.close()

    import docker
    client = docker.APIClient(base_url=tugd.host, version="1.41")
    try:
        name = new_name("api")
        cid = client.create_container("busybox", ["sleep", "300"], name=name, tty=True)["Id"]
        assert HEX64.match(cid)
        assert call("GET", f"/containers/{name}/changes")[:2] == (200, b"null\n")
        status, body, _ = call("POST", f"/containers/{name}/resize?h=20&w=80")
        assert status == 409 and json.loads(body) == {"message": f"Container {cid} is not running"}
        client.start(cid)
        assert call("POST", f"/containers/{name}/resize?h=20&w=80")[:2] == (200, b"")
        status, body, _ = call("POST", f"/containers/{name}/resize?h=20")
        assert status == 400 and json.loads(body) == {"message": 'strconv.Atoi: parsing "": invalid syntax'}
        assert call("POST", f"/containers/{name}/pause")[:2] == (204, b"")
        assert call("POST", f"/containers/{name}/unpause")[:2] == (204, b"")
        status, body, ctype = call("GET", f"/containers/{name}/stats?stream=0&one-shot=1")
        assert status == 200 and ctype == "application/json"
        one = json.loads(body)
        assert one["preread"] == "0001-01-01T00:00:00Z" and one["memory_stats"]["usage"] > 0
        status, body, _ = call("POST", f"/containers/{name}/rename")
        assert status == 400 and json.loads(body) == {"message": "Neither old nor new names may be empty"}
        status, body, _ = call("GET", "/containers/nosuchcontainer/top")
        assert status == 404 and json.loads(body) == {"message": "No such container: nosuchcontainer"}
    finally:
        client.close()
