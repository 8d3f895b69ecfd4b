"""Volumes: named and anonymous volumes, copy-up, --mount/--volumes-from/--tmpfs/--read-only/--shm-size,
`volume create|ls|inspect|rm|prune`, and the local driver's option mounts (made and undone per use)."""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable, Iterator

import pytest

from .helpers import ok


@pytest.fixture
def vol(tugd, track, token) -> Iterator[Callable[[str], str]]:
    """vol("hint") -> a unique volume name; the test's containers, then its volumes, are removed after."""
    import docker

    names: list[str] = []

    def new(hint: str = "v") -> str:
        names.append(f"tt{token}-{hint}-{len(names)}")
        return names[-1]

    yield new
    client = docker.APIClient(base_url=tugd.host, version="1.41", timeout=60)
    try:
        for c in reversed(track.containers):
            with contextlib.suppress(Exception):
                client.remove_container(c, force=True, v=True)
        for n in names:
            with contextlib.suppress(Exception):
                client.remove_volume(n, force=True)
    finally:
        client.close()


def _mounted(path: str) -> bool:
    with open("/proc/self/mountinfo") as f:
        return any(line.split(" ")[4] == path for line in f)


def _volumes(cli, *args: str) -> list[str]:
    return ok(cli("volume", "ls", "-q", *args)).stdout.split()


@pytest.fixture
def data_image(cli, tugd, track, token) -> str:
    """busybox with files at /data (one owned by 1000:1000, a symlink) and VOLUME /data."""
    name = f"tt{token}-volsrc-{cli.name}"
    ok(cli("run", "--name", name, "busybox", "sh", "-c",
           "mkdir -p /data/sub && echo seeded > /data/sub/f && chown 1000:1000 /data/sub && "
           "chmod 750 /data && ln -s sub/f /data/link"))
    track.container(name)
    ref = track.image(f"tt{token}/voldata-{cli.name}:1")
    ok(cli("commit", "-c", "VOLUME /data", name, ref))
    ok(cli("rm", name))
    return ref


def test_named_volume_outlives_its_containers(cli, new_name, vol):
    """The svn-server seed journey: one container fills a volume, is removed, the next one reads it."""
    repo = vol("repo")
    assert ok(cli("volume", "create", repo)).stdout.strip() == repo
    seeder = new_name("seed")
    ok(cli("run", "--name", seeder, "-v", f"{repo}:/var/svn", "busybox", "sh", "-c",
           "mkdir -p /var/svn/proj && echo r1 > /var/svn/proj/format"))
    ok(cli("rm", "-v", seeder))                       # -v never takes a named volume
    assert repo in _volumes(cli)
    p = ok(cli("run", "--rm", "-v", f"{repo}:/srv/svn:ro", "busybox", "cat", "/srv/svn/proj/format"))
    assert p.stdout == "r1\n"
    p = cli("run", "--rm", "-v", f"{repo}:/srv/svn:ro", "busybox", "touch", "/srv/svn/x")
    assert p.returncode != 0 and "Read-only file system" in p.stderr
    ok(cli("volume", "rm", repo))
    assert repo not in _volumes(cli)


def test_copy_up_from_the_image(cli, data_image, vol):
    fresh, nocopy = vol("fresh"), vol("nocopy")
    script = "stat -c '%a %u:%g' /data /data/sub; cat /data/link"
    assert ok(cli("run", "--rm", "-v", f"{fresh}:/data", data_image, "sh", "-c", script)).stdout == \
        "750 0:0\n755 1000:1000\nseeded\n"
    # the volume keeps what a container wrote; a non-empty volume is not filled again
    ok(cli("run", "--rm", "-v", f"{fresh}:/data", data_image, "sh", "-c", "echo mine > /data/sub/f"))
    assert ok(cli("run", "--rm", "-v", f"{fresh}:/data", data_image, "cat", "/data/link")).stdout == "mine\n"
    # the anonymous volume of the image's VOLUME is filled too; nocopy is not
    assert ok(cli("run", "--rm", data_image, "cat", "/data/link")).stdout == "seeded\n"
    p = ok(cli("run", "--rm", "--mount", f"type=volume,src={nocopy},dst=/data,volume-nocopy", data_image,
               "ls", "-A", "/data"))
    assert p.stdout == ""


def test_anonymous_volumes_go_with_rm_v_and_rm(cli, data_image, new_name, vol):
    before = set(_volumes(cli))
    kept, removed = new_name("kept"), new_name("removed")
    ok(cli("create", "--name", kept, "-v", "/extra", data_image, "true"))
    ok(cli("create", "--name", removed, data_image, "true"))
    mounts = json.loads(ok(cli("inspect", "-f", "{{json .Mounts}}", kept)).stdout)
    assert sorted(m["Destination"] for m in mounts) == ["/data", "/extra"]
    for m in mounts:
        assert m["Type"] == "volume" and m["Driver"] == "local" and m["RW"] is True
        assert len(m["Name"]) == 64 and m["Source"].endswith(f"/volumes/{m['Name']}/_data")
    anon_kept = {m["Name"] for m in mounts}
    anon_removed = {m["Name"] for m in json.loads(ok(cli("inspect", "-f", "{{json .Mounts}}", removed)).stdout)}
    assert set(_volumes(cli)) - before == anon_kept | anon_removed
    # restarting reuses the same anonymous volumes
    ok(cli("start", "-a", removed))
    assert {m["Name"] for m in json.loads(ok(cli("inspect", "-f", "{{json .Mounts}}", removed)).stdout)} \
        == anon_removed
    ok(cli("rm", "-v", removed))
    ok(cli("rm", kept))
    assert set(_volumes(cli)) - before == anon_kept
    for n in anon_kept:
        ok(cli("volume", "rm", n))
    ok(cli("run", "--rm", data_image, "true"))
    assert set(_volumes(cli)) == before


def test_volumes_from(cli, new_name, vol):
    shared = vol("shared")
    src = new_name("src")
    ok(cli("run", "--name", src, "-v", f"{shared}:/shared", "-v", "/anon", "busybox", "sh", "-c",
           "echo from-src > /shared/f; echo anon > /anon/g"))
    p = ok(cli("run", "--rm", "--volumes-from", src, "busybox", "sh", "-c", "cat /shared/f /anon/g"))
    assert p.stdout == "from-src\nanon\n"
    p = cli("run", "--rm", "--volumes-from", f"{src}:ro", "busybox", "touch", "/shared/x")
    assert p.returncode != 0 and "Read-only file system" in p.stderr
    ok(cli("rm", "-v", src))


def test_mount_options(cli, vol, tmp_path):
    ro = vol("ro")
    p = cli("run", "--rm", "--mount", f"type=volume,src={ro},dst=/m,readonly", "busybox", "touch", "/m/x")
    assert p.returncode != 0 and "Read-only file system" in p.stderr
    p = ok(cli("run", "--rm", "--mount", "type=tmpfs,dst=/t,tmpfs-size=1m,tmpfs-mode=1770", "busybox", "sh", "-c",
               "stat -c %a /t; dd if=/dev/zero of=/t/big bs=1k count=2048 2>/dev/null || echo full"))
    assert p.stdout.split() == ["1770", "full"]
    (tmp_path / "in").write_text("host\n")
    p = ok(cli("run", "--rm", "--mount", f"type=bind,src={tmp_path},dst=/h,readonly", "busybox", "sh", "-c",
               "cat /h/in; touch /h/x 2>/dev/null || echo ro"))
    assert p.stdout == "host\nro\n"
    p = cli("run", "--rm", "--mount", "type=bind,src=/nonexistent/dir,dst=/h", "busybox", "true")
    assert p.returncode == 125
    assert ('invalid mount config for type "bind": bind source path does not exist: /nonexistent/dir'
            in p.stderr)
    p = cli("run", "--rm", "--mount", "type=tmpfs,dst=/x,volume-nocopy", "busybox", "true")
    assert p.returncode == 125
    assert ('invalid argument "type=tmpfs,dst=/x,volume-nocopy" for "--mount" flag: '
            "cannot mix 'volume-*' options with mount type 'tmpfs'") in p.stderr


def test_bind_creates_a_missing_host_directory(cli, tmp_path):
    host = tmp_path / "made" / "here"
    ok(cli("run", "--rm", "-v", f"{host}:/d", "busybox", "sh", "-c", "echo hi > /d/f"))
    assert (host / "f").read_text() == "hi\n"


def test_tmpfs_option_volume_is_mounted_only_while_used(cli, new_name, vol):
    tv = vol("tmpfs")
    ok(cli("volume", "create", "-o", "type=tmpfs", "-o", "device=tmpfs", "-o", "o=size=2m", tv))
    info = json.loads(ok(cli("volume", "inspect", tv)).stdout)[0]
    assert info["Options"] == {"device": "tmpfs", "o": "size=2m", "type": "tmpfs"}
    mountpoint = info["Mountpoint"]
    assert not _mounted(mountpoint)
    long = new_name("long")
    ok(cli("run", "-d", "--name", long, "-v", f"{tv}:/d", "busybox", "sleep", "300"))
    assert _mounted(mountpoint)
    p = ok(cli("run", "--rm", "-v", f"{tv}:/d", "busybox", "sh", "-c",
               "df -k /d | tail -1; dd if=/dev/zero of=/d/big bs=1k count=4096 2>/dev/null || echo full"))
    assert p.stdout.split()[1] == "2048" and p.stdout.split()[-1] == "full"
    assert _mounted(mountpoint)                       # the running container still uses it
    ok(cli("rm", "-f", long))
    assert not _mounted(mountpoint)
    assert tv in _volumes(cli, "-f", "dangling=true")


def test_volume_in_use_cannot_be_removed(cli, new_name, vol):
    v, other = vol("busy"), vol("other")
    name = new_name("user")
    cid = ok(cli("create", "--name", name, "-v", f"{v}:/d", "busybox", "true")).stdout.strip()
    ok(cli("volume", "create", other))
    p = cli("volume", "rm", v, other, vol("missing"))
    assert p.returncode == 1
    assert p.stdout.split() == [other]
    assert f"Error response from daemon: remove {v}: volume is in use - [{cid}]" in p.stderr
    assert "no such volume" in p.stderr
    p = cli("volume", "rm", "-f", v)
    assert p.returncode == 1 and "volume is in use" in p.stderr
    assert ok(cli("ps", "-aq", "--no-trunc", "--filter", f"volume={v}")).stdout.split() == [cid]
    assert cid in ok(cli("ps", "-aq", "--no-trunc", "--filter", "volume=/d")).stdout.split()
    assert ok(cli("ps", "-aq", "--filter", f"volume={other}")).stdout == ""
    ok(cli("rm", name))
    assert ok(cli("volume", "rm", v)).stdout.strip() == v


def test_ls_filters_and_formats(cli, new_name, vol):
    a, b = vol("lsa"), vol("lsb")
    ok(cli("volume", "create", "--label", "tier=db", "--label", "empty", a))
    ok(cli("volume", "create", b))
    name = new_name("lsuser")
    ok(cli("create", "--name", name, "-v", f"{b}:/d", "busybox", "true"))
    prefix = a.rsplit("-", 2)[0]
    assert _volumes(cli, "-f", f"name={prefix}-ls") == [a, b]
    assert _volumes(cli, "-f", f"name={prefix}-ls", "-f", "dangling=true") == [a]
    assert _volumes(cli, "-f", f"name={prefix}-ls", "-f", "dangling=false") == [b]
    assert _volumes(cli, "-f", "label=tier=db") == [a]
    assert _volumes(cli, "-f", f"name={prefix}-ls", "-f", "driver=local") == [a, b]
    p = ok(cli("volume", "ls", "-f", f"name={a}"))
    assert p.stdout.splitlines() == ["DRIVER    VOLUME NAME", f"local     {a}"]
    p = ok(cli("volume", "ls", "-f", f"name={a}", "--format", "{{.Name}} {{.Driver}} {{.Labels}} {{.Scope}}"))
    got_name, driver, labels, scope = p.stdout.split()
    assert (got_name, driver, scope) == (a, "local", "local")
    assert sorted(labels.split(",")) == ["empty=", "tier=db"]   # docker's order is a Go map's
    row = json.loads(ok(cli("volume", "ls", "-f", f"name={a}", "--format", "json")).stdout)
    assert row["Name"] == a and row["Links"] == "N/A" and row["Mountpoint"].endswith(f"/{a}/_data")
    p = cli("volume", "ls", "-f", "bogus=1")
    assert p.returncode == 1 and "Invalid filter 'bogus'" in p.stderr
    assert ok(cli("volume", "inspect", "-f", "{{.Labels.tier}} {{.Scope}}", a)).stdout == "db local\n"
    p = cli("volume", "inspect", a, vol("nosuch"))
    assert p.returncode == 1 and json.loads(p.stdout)[0]["Name"] == a
    assert "no such volume" in p.stderr


def test_create_errors(cli, vol):
    p = cli("volume", "create", "bad/name")
    assert p.returncode == 1
    assert ('create bad/name: "bad/name" includes invalid characters for a local volume name' in p.stderr)
    p = cli("volume", "create", "-o", "foo=1", vol("badopt"))
    assert p.returncode == 1 and 'invalid option: "foo"' in p.stderr


def test_prune(cli, new_name, vol, token):
    unused, used, opts = vol("pru"), vol("pru"), vol("pru")
    label = f"tt{token}prune"
    for v in (unused, used):
        ok(cli("volume", "create", "--label", label, v))
    ok(cli("volume", "create", "--label", label, "-o", "type=tmpfs", "-o", "device=tmpfs", opts))
    name = new_name("pruneuser")
    ok(cli("create", "--name", name, "-v", f"{used}:/d", "busybox", "true"))
    p = ok(cli("volume", "prune", "-f", "--filter", f"label={label}"))
    assert p.stdout == f"Deleted Volumes:\n{unused}\n\nTotal reclaimed space: 0B\n"
    assert sorted(_volumes(cli, "-f", f"label={label}")) == sorted([used, opts])
    p = ok(cli("volume", "prune", "-f", "--filter", f"label={label}"))
    assert p.stdout == "Total reclaimed space: 0B\n"


def test_inspect_shapes_through_docker_py(dclient, new_name, vol, tmp_path):
    named = vol("py")
    v = dclient.volumes.create(named, labels={"k": "v"})
    assert v.attrs["Labels"] == {"k": "v"} and v.attrs["Scope"] == "local" and v.attrs["Options"] is None
    c = dclient.containers.create("busybox", "true", name=new_name("py"),
                                  volumes={named: {"bind": "/n", "mode": "ro"}, str(tmp_path): {"bind": "/h"}})
    by = {m["Destination"]: m for m in c.attrs["Mounts"]}
    assert by["/n"] == {"Type": "volume", "Name": named, "Source": v.attrs["Mountpoint"], "Destination": "/n",
                        "Driver": "local", "Mode": "ro", "RW": False, "Propagation": ""}
    assert by["/h"] == {"Type": "bind", "Source": str(tmp_path), "Destination": "/h", "Mode": "rw", "RW": True,
                        "Propagation": "rprivate"}
    assert named in [x.name for x in dclient.volumes.list(filters={"dangling": False})]
    c.remove()
    v.remove()


def test_volume_events(cli, new_name, vol):
    v = vol("ev")
    start = f"{time.time() - 1:.3f}"
    name = new_name("ev")
    ok(cli("run", "--name", name, "-v", f"{v}:/d", "busybox", "true"))
    cid = ok(cli("inspect", "-f", "{{.Id}}", name)).stdout.strip()
    ok(cli("rm", name))
    ok(cli("volume", "rm", v))
    p = ok(cli("events", "--since", start, "--until", f"{time.time() + 1:.3f}", "--filter", "type=volume",
               "--filter", f"volume={v}", "--format", "{{.Action}} {{json .Actor.Attributes}}"))
    lines = [ln.split(" ", 1) for ln in p.stdout.splitlines()]
    assert [a for a, _ in lines] == ["create", "mount", "unmount", "destroy"]
    assert json.loads(lines[1][1]) == {"container": cid, "destination": "/d", "driver": "local",
                                       "propagation": "", "read/write": "true"}
    assert json.loads(lines[2][1]) == {"container": cid, "driver": "local"}


def test_read_only_root_tmpfs_and_shm_size(cli):
    p = ok(cli("run", "--rm", "--read-only", "--tmpfs", "/tmp:size=512k", "busybox", "sh", "-c",
               "touch /x 2>/dev/null || echo rofs; echo ok > /tmp/f && cat /tmp/f; df -k /tmp | tail -1"))
    lines = p.stdout.splitlines()
    assert lines[:2] == ["rofs", "ok"] and lines[2].split()[1] == "512"
    p = ok(cli("run", "--rm", "--shm-size", "8m", "busybox", "df", "-k", "/dev/shm"))
    assert p.stdout.splitlines()[-1].split()[1] == "8192"


def test_volume_content_stays_out_of_diff_and_commit(cli, new_name, vol, track, token):
    v = vol("diff")
    name = new_name("diff")
    ok(cli("run", "--name", name, "-v", f"{v}:/vol", "busybox", "sh", "-c", "echo x > /vol/inside; echo y > /outside"))
    changes = ok(cli("diff", name)).stdout.splitlines()
    assert "A /outside" in changes and not any("inside" in c for c in changes)
    ref = track.image(f"tt{token}/voldiff-{cli.name}:1")
    ok(cli("commit", name, ref))
    p = ok(cli("run", "--rm", ref, "sh", "-c", "cat /outside; ls -A /vol 2>/dev/null | wc -l"))
    assert p.stdout.split() == ["y", "0"]
    ok(cli("rm", name))


@pytest.mark.slow
def test_option_volume_mounts_survive_a_tugd_restart(tugd, tug, new_name, vol):
    if tugd.target != "tugd":
        pytest.skip("restart tests need the private tugd (not the docker target)")
    tv = vol("restart")
    ok(tug("volume", "create", "-o", "type=tmpfs", "-o", "device=tmpfs", tv))
    mountpoint = json.loads(ok(tug("volume", "inspect", tv)).stdout)[0]["Mountpoint"]
    runner, quitter = new_name("runner"), new_name("quitter")
    ok(tug("run", "-d", "--name", runner, "-v", f"{tv}:/d", "busybox", "sleep", "300"))
    ok(tug("run", "-d", "--name", quitter, "-v", f"{tv}:/d", "busybox", "sleep", "1"))
    tugd.stop(kill9=True)
    time.sleep(2)                                     # the quitter ends while tugd is down
    tugd.start()
    assert _mounted(mountpoint)                       # the runner still uses it
    ok(tug("stop", "-t", "0", runner, timeout=30))
    assert not _mounted(mountpoint)
    ok(tug("rm", runner, quitter))


def test_bind_option_volume(cli, vol, tmp_path):
    """The local driver's `-o type=none -o o=bind -o device=/path`: a named volume over a host directory."""
    v = vol("bindopt")
    ok(cli("volume", "create", "-o", "type=none", "-o", "o=bind", "-o", f"device={tmp_path}", v))
    mountpoint = json.loads(ok(cli("volume", "inspect", v)).stdout)[0]["Mountpoint"]
    ok(cli("run", "--rm", "-v", f"{v}:/d", "busybox", "sh", "-c", "echo via-volume > /d/f"))
    assert (tmp_path / "f").read_text() == "via-volume\n"
    assert not _mounted(mountpoint)
    ok(cli("volume", "rm", v))
    assert (tmp_path / "f").exists()                  # removing the volume leaves the host directory alone
