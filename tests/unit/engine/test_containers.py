"""ContainerService against fakes: lifecycle, errors, waits, attach, restore, persistence."""

from __future__ import annotations

import json
import signal
import threading
import time

import pytest
from _container_fakes import IMAGE_ID, FakeImages, FakeLayers, FakeRuntime

from tugboat.engine.container_process import parse_signal, start_error
from tugboat.engine.containers import ContainerService
from tugboat.errors import Conflict, InvalidArgument, NotFound, NotModified, TugboatError


@pytest.fixture
def env(tmp_path):
    rt, layers, images = FakeRuntime(), FakeLayers(), FakeImages()
    svc = ContainerService(tmp_path / "containers", images, layers, rt)
    return svc, rt, layers, images, tmp_path


def new(svc, name=None, **body):
    body.setdefault("Image", "busybox")
    return svc.create(name, body)["Id"]


def state(svc, ref):
    return svc.inspect(ref)["State"]


# --- create / inspect ----------------------------------------------------------------------------
def test_create_returns_id_and_writes_record_and_files(env):
    svc, rt, layers, _, tmp = env
    out = svc.create("web", {"Image": "busybox", "Cmd": ["sleep", "9"], "Env": ["FOO=ctr"], "Labels": {"c": "3"}})
    cid = out["Id"]
    assert out["Warnings"] == [] and len(cid) == 64 and int(cid, 16) >= 0
    d = tmp / "containers" / cid
    rec = json.loads((d / "config.v2.json").read_text())
    assert rec["ID"] == cid and rec["Name"] == "/web"
    assert (d / "hostname").read_text() == cid[:12] + "\n"
    assert (d / "hosts").read_text().startswith("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost")
    assert "nameserver" in (d / "resolv.conf").read_text()
    assert layers.rw[cid] == "sha256:" + "11" * 32
    i = svc.inspect("web")
    assert i["Path"] == "sleep" and i["Args"] == ["9"] and i["Image"] == IMAGE_ID and i["Name"] == "/web"
    assert i["Config"]["Env"] == ["FOO=ctr", "PATH=/bin", "BAR=imgbar"]
    assert i["Config"]["Labels"] == {"a": "1", "b": "2", "c": "3"}
    assert i["Config"]["Image"] == "busybox" and i["Config"]["Hostname"] == cid[:12]
    assert i["State"]["Status"] == "created" and i["State"]["StartedAt"] == "0001-01-01T00:00:00Z"
    assert i["HostConfig"]["NetworkMode"] == "default"
    assert i["HostConfig"]["LogConfig"] == {"Type": "json-file", "Config": {}}
    assert i["HostConfig"]["RestartPolicy"] == {"Name": "", "MaximumRetryCount": 0}
    assert i["LogPath"].endswith(f"{cid}/{cid}-json.log")
    assert i["GraphDriver"]["Name"] == "overlay2" and i["GraphDriver"]["Data"]["UpperDir"] == f"/rw/{cid}/diff"
    assert i["Mounts"] == [] and i["NetworkSettings"]["Networks"] == {}
    assert list(i)[:5] == ["Id", "Created", "Path", "Args", "State"]
    sized = svc.inspect(cid, size=True)
    assert sized["SizeRw"] == 10 and sized["SizeRootFs"] == 110


def test_create_errors(env):
    svc, *_ = env
    with pytest.raises(NotFound, match="No such image: nosuch:latest"):
        svc.create(None, {"Image": "nosuch"})
    with pytest.raises(InvalidArgument, match="Config cannot be empty"):
        svc.create(None, {})
    with pytest.raises(InvalidArgument, match="No command specified"):
        svc.create(None, {"Image": "nocmd"})
    with pytest.raises(InvalidArgument, match="No command specified"):
        svc.create(None, {"Image": "busybox", "Entrypoint": [""]})
    with pytest.raises(InvalidArgument, match=r"Invalid container name \(-x\)"):
        svc.create("-x", {"Image": "busybox"})
    with pytest.raises(InvalidArgument, match="can't create 'AutoRemove' container with restart policy"):
        svc.create(None, {"Image": "busybox", "HostConfig": {"AutoRemove": True, "RestartPolicy": {"Name": "always"}}})
    with pytest.raises(InvalidArgument, match="working directory 'rel'"):
        svc.create(None, {"Image": "busybox", "WorkingDir": "rel"})
    assert svc.list(all=True) == []


def test_name_conflict_and_generated_names(env):
    svc, *_ = env
    cid = new(svc, "xx")
    with pytest.raises(Conflict) as e:
        new(svc, "/xx")
    assert e.value.message == (f'Conflict. The container name "/xx" is already in use by container "{cid}". '
                               "You have to remove (or rename) that container to be able to reuse that name.")
    other = new(svc)
    name = svc.inspect(other)["Name"]
    assert name.startswith("/") and "_" in name
    svc.remove("xx")
    assert new(svc, "xx") != cid


def test_lookup_by_name_prefix_and_ambiguity(env):
    svc, *_ = env
    ids = [new(svc) for _ in range(40)]
    for cid in ids[:3]:
        assert svc.inspect(cid[:12])["Id"] == cid
    first = {}
    for cid in ids:
        first.setdefault(cid[0], []).append(cid)
    shared = next(k for k, v in first.items() if len(v) > 1)
    with pytest.raises(TugboatError, match=f"Multiple IDs found with provided prefix: {shared}") as e:
        svc.inspect(shared)
    assert type(e.value) is TugboatError
    with pytest.raises(NotFound, match="No such container: zzz"):
        svc.inspect("zzz")
    # an exact name wins over an ID prefix
    named = new(svc, ids[5][:4])
    assert svc.inspect(ids[5][:4])["Id"] == named


# --- lifecycle -----------------------------------------------------------------------------------
def test_start_builds_request_and_runs(env):
    svc, rt, *_ = env
    cid = new(svc, "rr", Cmd=["echo", "hi"], Env=["FOO=ctr"], Tty=True, HostConfig={"Binds": ["/tmp:/d:ro"]})
    svc.start("rr")
    req = rt.requests[cid]
    assert req.process.args == ["echo", "hi"] and req.process.cwd == "/" and req.process.tty
    assert req.process.env[:3] == ["HOSTNAME=" + cid[:12], "TERM=xterm", "FOO=ctr"] or "PATH=/bin" in req.process.env
    assert "PATH=/bin" in req.process.env and "BAR=imgbar" in req.process.env
    assert set(req.etc_files) == {"/etc/hosts", "/etc/hostname", "/etc/resolv.conf"}
    assert req.extra_mounts == [{"destination": "/d", "type": "bind", "source": "/tmp",
                                 "options": ["rbind", "rprivate", "ro"]}]
    assert svc.inspect("rr")["Mounts"][0]["Destination"] == "/d"
    assert svc.list()[0]["Mounts"][0]["Source"] == "/tmp"
    assert req.rootfs_mounts[0].type == "overlay"
    s = state(svc, "rr")
    assert s["Status"] == "running" and s["Running"] and s["Pid"] >= 1000
    with pytest.raises(NotModified):
        svc.start("rr")
    rt.exit(cid, 3)
    s = state(svc, "rr")
    assert s["Status"] == "exited" and s["ExitCode"] == 3 and s["Pid"] == 0 and not s["Running"]
    assert s["FinishedAt"] != "0001-01-01T00:00:00Z"
    svc.start("rr")   # an exited container starts again
    assert state(svc, "rr")["Status"] == "running"


def test_stop_kill_remove_errors(env):
    svc, rt, layers, _, tmp = env
    cid = new(svc, "ss", Cmd=["sleep", "1"])
    with pytest.raises(NotModified):
        svc.stop("ss")
    with pytest.raises(Conflict, match=f"Cannot kill container: ss: Container {cid} is not running"):
        svc.kill("ss")
    svc.start("ss")
    with pytest.raises(Conflict, match=f"You cannot remove a running container {cid}. Stop the container"):
        svc.remove("ss")
    with pytest.raises(InvalidArgument, match="Invalid signal: FOO"):
        svc.kill("ss", "FOO")
    with pytest.raises(TugboatError, match="does not support signal 99"):
        svc.kill("ss", "99")
    svc.kill("ss", "HUP")
    assert rt.signals[-1] == (cid, signal.SIGHUP)
    svc.stop("ss", timeout=5)
    assert rt.signals[-1] == (cid, signal.SIGTERM)
    assert state(svc, "ss")["ExitCode"] == 143
    svc.remove("ss")
    assert not (tmp / "containers" / cid).exists() and cid in layers.removed
    with pytest.raises(NotFound):
        svc.inspect(cid)


def test_stop_escalates_to_kill_and_uses_stop_signal(env):
    svc, rt, *_ = env
    rt.ignore_term = True
    cid = new(svc, "ee", Image="entry")
    svc.start("ee")
    t0 = time.monotonic()
    svc.stop("ee", timeout=0)
    assert time.monotonic() - t0 < 5
    assert [s for c, s in rt.signals if c == cid] == [signal.SIGQUIT, signal.SIGKILL]
    assert state(svc, "ee")["ExitCode"] == 137


def test_force_remove_and_restart(env):
    svc, rt, *_ = env
    cid = new(svc, "ff")
    svc.start("ff")
    svc.restart("ff", timeout=1)
    assert state(svc, "ff")["Status"] == "running" and rt.started.count(cid) == 2
    svc.remove("ff", force=True)
    assert (cid, signal.SIGKILL) in rt.signals and svc.list(all=True) == []


def test_failed_start_maps_exit_code_and_message(env):
    svc, rt, *_ = env
    new(svc, "bad", Cmd=["nosuch"])
    rt.fail_create = ('runc create failed: unable to start container process: exec: "nosuch": '
                      "executable file not found in $PATH")
    with pytest.raises(InvalidArgument) as e:
        svc.start("bad")
    msg = ('failed to create shim task: OCI runtime create failed: runc create failed: unable to start '
           'container process: exec: "nosuch": executable file not found in $PATH: unknown')
    assert e.value.message == msg
    s = state(svc, "bad")
    assert s["Status"] == "created" and s["ExitCode"] == 127 and s["Error"] == msg
    w = svc.wait_begin("bad", "not-running")
    assert w.result(1) == {"StatusCode": 127, "Error": {"Message": msg}}
    assert start_error('exec: "/etc": permission denied')[0] == 126
    assert start_error("mount failed")[:2] == (128, "mount failed")


def test_parse_signal():
    assert parse_signal("KILL") == parse_signal("SIGKILL") == parse_signal("9") == 9
    assert parse_signal(None) == 9 and parse_signal("term") == 15
    with pytest.raises(InvalidArgument):
        parse_signal("NOPE")


# --- wait ----------------------------------------------------------------------------------------
def test_wait_conditions(env):
    svc, rt, *_ = env
    cid = new(svc, "ww")
    assert svc.wait_begin("ww").result(1) == {"StatusCode": 0, "Error": None}
    with pytest.raises(InvalidArgument, match='invalid condition: "bogus"'):
        svc.wait_begin("ww", "bogus")
    with pytest.raises(NotFound):
        svc.wait_begin("nosuch")
    nxt = svc.wait_begin("ww", "next-exit")
    gone = svc.wait_begin("ww", "removed")
    svc.start("ww")   # registered before start: the exit cannot be missed
    running = svc.wait_begin("ww", "not-running")
    rt.exit(cid, 7)
    assert nxt.result(1) == {"StatusCode": 7, "Error": None}
    assert running.result(1)["StatusCode"] == 7
    assert not gone.done
    svc.remove("ww")
    assert gone.result(1)["StatusCode"] == 7


def test_wait_race_with_fast_exit(env):
    """wait, then start, with the container exiting at once from another thread."""
    svc, rt, *_ = env
    for _ in range(20):
        cid = new(svc)
        w = svc.wait_begin(cid, "next-exit")
        svc.start(cid)
        threading.Thread(target=rt.exit, args=(cid, 1)).start()
        assert w.result(2)["StatusCode"] == 1


def test_wait_cancel(env):
    svc, *_ = env
    cid = new(svc)
    w = svc.wait_begin(cid, "next-exit")
    w.cancel()
    assert w.result(1)["StatusCode"] == -1


def test_auto_remove(env):
    svc, rt, layers, _, tmp = env
    cid = new(svc, "tmp", HostConfig={"AutoRemove": True})
    nxt = svc.wait_begin("tmp", "next-exit")
    gone = svc.wait_begin("tmp", "removed")
    svc.start("tmp")
    rt.exit(cid, 4)
    assert nxt.result(1)["StatusCode"] == 4 and gone.result(1)["StatusCode"] == 4
    assert not (tmp / "containers" / cid).exists() and cid in layers.removed
    with pytest.raises(NotFound):
        svc.inspect(cid)


def test_auto_remove_after_failed_start(env):
    svc, rt, *_ = env
    cid = new(svc, HostConfig={"AutoRemove": True})
    gone = svc.wait_begin(cid, "removed")
    rt.fail_create = "exec: \"x\": executable file not found in $PATH"
    with pytest.raises(InvalidArgument):
        svc.start(cid)
    assert gone.result(2)["StatusCode"] == 127


# --- attach --------------------------------------------------------------------------------------
def test_attach_before_start_gets_all_output_and_stdin(env):
    svc, rt, *_ = env
    cid = new(svc, "aa", OpenStdin=True)
    a = svc.attach("aa", stdin=True, stdout=True, stderr=False)
    a.write_stdin(b"early")
    a.close_stdin()
    svc.start("aa")
    assert rt.events.index("attach") < rt.events.index("start")
    peer = rt.peers[cid][0]
    assert peer.recv(100) == b"early"
    assert peer.recv(100) == b""      # stdin closed
    peer.send(b"\x01out")
    peer.send(b"\x02err")
    peer.send(b"\x01more")
    rt.exit(cid, 0)
    assert list(a.output()) == [(1, b"out"), (1, b"more")]


def test_attach_running_and_exited(env):
    svc, rt, _, _, tmp = env
    cid = new(svc, "bb")
    svc.start("bb")
    a = svc.attach("bb", stdin=False, stdout=True, stderr=True)
    peer = rt.peers[cid][0]
    peer.send(b"\x02oops")
    peer.close()
    assert list(a.output()) == [(2, b"oops")]
    rt.exit(cid, 0)
    log = tmp / "containers" / cid / f"{cid}-json.log"
    log.write_text('{"log":"hi\\n","stream":"stdout","time":"2024-01-01T00:00:00.5Z"}\n')
    replay = svc.attach("bb", stdin=False, stdout=True, stderr=True, stream=False, logs=True)
    assert list(replay.output()) == [(1, b"hi\n")]
    # stream=True on an exited container waits for the next start (docker start -a)
    pending = svc.attach("bb", stdin=False, stdout=True, stderr=True)
    svc.remove("bb")
    assert list(pending.output()) == []


# --- list ----------------------------------------------------------------------------------------
def test_list_filters_and_status(env):
    svc, rt, *_ = env
    a = new(svc, "alpha", Labels={"env": "prod"}, Cmd=["sleep", "a b"])
    time.sleep(0.01)
    b = new(svc, "beta", Labels={"env": "dev"})
    time.sleep(0.01)
    c = new(svc, "gamma", Image="entry")
    svc.start("alpha")
    svc.start("beta")
    rt.exit(b, 2)
    assert [x["Id"] for x in svc.list()] == [a]
    assert [x["Id"] for x in svc.list(all=True)] == [c, b, a]
    s = {x["Names"][0]: x for x in svc.list(all=True)}
    assert s["/alpha"]["Status"] in ("Up Less than a second", "Up 1 second")
    assert s["/alpha"]["Command"] == "sleep 'a b'" and s["/alpha"]["State"] == "running"
    assert s["/beta"]["Status"].startswith("Exited (2) ") and s["/gamma"]["Status"] == "Created"
    assert s["/gamma"]["Image"] == "entry" and s["/alpha"]["ImageID"] == IMAGE_ID
    assert s["/alpha"]["HostConfig"] == {"NetworkMode": "default"}
    assert s["/alpha"]["Labels"] == {"a": "1", "b": "2", "env": "prod"}

    def ids(**f):
        return [x["Id"] for x in svc.list(filters={k: v if isinstance(v, list) else [v] for k, v in f.items()})]

    assert ids(status="exited") == [b] and ids(status=["created", "running"]) == [c, a]
    assert ids(label="env=prod") == [a] and set(ids(label="env", status=["exited", "running"])) == {a, b}
    assert ids(name="alp") == [a] and ids(name="^/gam", status="created") == [c]
    assert ids(id=b[:6], status="exited") == [b]
    assert ids(exited="2") == [b] and ids(exited="0") == []
    assert ids(ancestor="entry", status="created") == [c] and ids(ancestor="busybox", status="running") == [a]
    assert ids(before="gamma") == [b, a] and ids(since="alpha") == [c, b]
    assert len(svc.list(limit=1)) == 1 and svc.list(limit=1)[0]["Id"] == c
    assert svc.list(all=True, size=True)[0]["SizeRw"] == 10
    with pytest.raises(InvalidArgument, match="Invalid filter 'status=xyz'"):
        svc.list(filters={"status": ["xyz"]})
    with pytest.raises(InvalidArgument, match="Invalid filter 'foo'"):
        svc.list(filters={"foo": ["x"]})
    with pytest.raises(TugboatError, match='strconv.Atoi: parsing "x": invalid syntax'):
        svc.list(filters={"exited": ["x"]})
    assert svc.counts() == {"running": 1, "paused": 0, "stopped": 2}
    assert sorted(svc.ids_using_image(IMAGE_ID)) == sorted([a, b])


# --- restore / persistence -----------------------------------------------------------------------
def test_restore_after_restart(env):
    svc, rt, layers, images, tmp = env
    alive = new(svc, "alive", Env=["X=1"], HostConfig={"Memory": 64 << 20})
    dead = new(svc, "dead")
    gone = new(svc, "gone", HostConfig={"AutoRemove": True})
    created = new(svc, "created")
    exited = new(svc, "exited")
    for x in (alive, dead, gone, exited):
        svc.start(x)
    rt.exit(exited, 5)
    before = {x: svc.inspect(x) for x in (alive, created, exited)}
    svc.shutdown()

    # the monitor of "dead" and "gone" died while tugd was down
    rt.alive = {rt_req for rt_req in rt.alive if svc.inspect(alive)["State"]["Pid"] + 1 == rt_req.pid}
    dead_dir = tmp / "containers" / dead / "state"
    from tugboat.runtime.types import ExitStatus

    rt.exits[dead_dir] = ExitStatus(9, 1_700_000_000_000_000_000, oom_killed=True)
    rt2 = FakeRuntime()
    rt2.alive, rt2.exits = rt.alive, rt.exits
    svc2 = ContainerService(tmp / "containers", images, layers, rt2)
    svc2.restore()
    assert svc2.inspect(created) == before[created]
    assert svc2.inspect(exited) == before[exited]
    assert svc2.inspect("alive") == before[alive] and alive in rt2.watchers
    d = svc2.inspect("dead")["State"]
    assert d["Status"] == "exited" and d["ExitCode"] == 9 and d["OOMKilled"] and d["Pid"] == 0
    assert d["FinishedAt"] == "2023-11-14T22:13:20Z" and dead in rt2.cleaned
    with pytest.raises(NotFound):
        svc2.inspect(gone)
    assert not (tmp / "containers" / gone).exists()
    with pytest.raises(Conflict):
        svc2.create("alive", {"Image": "busybox"})
    w = svc2.wait_begin("alive", "next-exit")
    rt2.exit(alive, 0)
    assert w.result(1)["StatusCode"] == 0
    assert svc2.inspect("alive")["State"]["Status"] == "exited"


def test_pause_unpause_resize(env):
    svc, rt, *_ = env
    cid = new(svc, "pp")
    with pytest.raises(Conflict, match="is not running"):
        svc.pause("pp")
    svc.start("pp")
    svc.resize("pp", 24, 80)
    svc.pause("pp")
    s = state(svc, "pp")
    assert s["Status"] == "paused" and s["Paused"] and s["Running"]
    assert svc.list()[0]["Status"].endswith("(Paused)")
    assert svc.counts() == {"running": 0, "paused": 1, "stopped": 0}
    with pytest.raises(Conflict, match="is already paused"):
        svc.pause("pp")
    svc.unpause("pp")
    with pytest.raises(Conflict, match="is not paused"):
        svc.unpause("pp")
    svc.pause("pp")
    svc.stop("pp", timeout=1)     # thawed so that it can act on SIGTERM
    assert state(svc, "pp")["Status"] == "exited"
    assert rt.events.count("resume") == 2 and "resize 24x80" in rt.events and cid in rt.started


def test_logs_through_the_service(env):
    svc, rt, _, _, tmp = env
    cid = new(svc, "lg", Tty=True)
    log = tmp / "containers" / cid / f"{cid}-json.log"
    log.write_text('{"log":"a\\n","stream":"stdout","time":"2024-01-01T00:00:00Z"}\n'
                   '{"log":"b\\n","stream":"stderr","time":"2024-01-01T00:00:01Z"}\n')
    tty, entries = svc.logs("lg", stdout=False)
    assert tty is True and [e.data for e in entries] == [b"b\n"]
    svc.start("lg")
    _, follow = svc.logs("lg", follow=True, tail=0)
    threading.Timer(0.1, rt.exit, args=(cid, 0)).start()
    assert list(follow) == []      # ends once the container stops
    with pytest.raises(NotFound):
        svc.logs("nosuch")


def test_export_mounts_streams_and_unmounts(env):
    import io
    import tarfile

    svc, rt, _, _, tmp = env
    rootfs = tmp / "rootfs"
    (rootfs / "etc").mkdir(parents=True)
    (rootfs / "etc" / "motd").write_text("hi\n")
    rt.export_dir = rootfs
    new(svc, "ex")
    data = b"".join(svc.export("ex"))
    names = tarfile.open(fileobj=io.BytesIO(data)).getnames()
    assert any(n.endswith("etc/motd") for n in names)
    assert rt.events[-2:] == ["mount", "unmount"]


def test_concurrent_creates_and_removes(env):
    from concurrent.futures import ThreadPoolExecutor

    svc, rt, *_ = env

    def create_named(_):
        try:
            return new(svc, "same")
        except Conflict:
            return None

    with ThreadPoolExecutor(8) as pool:
        won = [x for x in pool.map(create_named, range(16)) if x]
        ids = list(pool.map(lambda _: new(svc), range(40)))
    assert len(won) == 1
    names = [c["Names"][0] for c in svc.list(all=True)]
    assert len(names) == len(set(names)) == 41

    def start_stop_remove(cid):
        svc.start(cid)
        svc.remove(cid, force=True)
        return cid

    with ThreadPoolExecutor(8) as pool:
        assert sorted(pool.map(start_stop_remove, ids)) == sorted(ids)
    assert [c["Id"] for c in svc.list(all=True)] == won


def test_network_modes(env):
    import socket

    svc, rt, _, _, tmp = env
    host = new(svc, "hn", HostConfig={"NetworkMode": "host"})
    assert svc.inspect("hn")["Config"]["Hostname"] == socket.gethostname()
    svc.start("hn")
    assert rt.requests[host].netns_path == "host"
    other = new(svc, "base")
    joined = new(svc, "joiner", HostConfig={"NetworkMode": "container:base"})
    with pytest.raises(Conflict, match=f"cannot join network of a non running container: {other}"):
        svc.start("joiner")
    assert state(svc, "joiner")["Status"] == "created" and state(svc, "joiner")["ExitCode"] == 128
    svc.start("base")
    svc.start("joiner")
    req = rt.requests[joined]
    assert req.netns_path == f"/proc/{state(svc, 'base')['Pid']}/ns/net"
    assert req.etc_files["/etc/hosts"] == tmp / "containers" / other / "hosts"
    assert req.etc_files["/etc/hostname"] == tmp / "containers" / other / "hostname"   # dockerd: the base's name
    assert req.hostname == svc.inspect("joiner")["Config"]["Hostname"] == svc.inspect("base")["Config"]["Hostname"]
    plain = new(svc, "plain")
    svc.start("plain")
    assert rt.requests[plain].netns_path is None


def test_failed_start_before_runtime_removes_auto_remove(env):
    svc, rt, *_ = env
    new(svc, "gone0")
    cid = new(svc, HostConfig={"AutoRemove": True, "NetworkMode": "container:gone0"})
    gone = svc.wait_begin(cid, "removed")
    with pytest.raises(Conflict):
        svc.start(cid)
    assert gone.result(2)["StatusCode"] == 128


def test_large_stdin_before_start_does_not_block_start(env):
    """docker run -i: the client streams stdin right after attach; start() must not wait for it."""
    svc, rt, *_ = env
    cid = new(svc, "big", OpenStdin=True)
    a = svc.attach("big", stdin=True, stdout=True, stderr=True)
    payload = bytes(range(256)) * 12288          # 3 MiB: more than the pending limit and socket buffers
    writer = threading.Thread(target=lambda: [a.write_stdin(payload[i:i + 65536])
                                              for i in range(0, len(payload), 65536)] and a.close_stdin())
    writer.start()
    time.sleep(0.05)
    t0 = time.monotonic()
    svc.start("big")
    assert time.monotonic() - t0 < 1
    peer = rt.peers[cid][0]
    got = bytearray()
    while True:
        chunk = peer.recv(1 << 17)
        if not chunk:
            break
        got += chunk
    writer.join(5)
    a.close()
    peer.close()
    assert bytes(got) == payload
