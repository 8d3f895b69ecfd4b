"""ContainerRuntime end to end with runc: needs root (``make test`` runs as root)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from tugboat.errors import InvalidArgument, TugboatError
from tugboat.runtime import ContainerRuntime, MonitorRef, cgroups
from tugboat.runtime.container_runtime import proc_start_time
from tugboat.runtime.mounts import mountpoints

from .conftest import Harness, Mount, needs_root

pytestmark = needs_root


def log_records(path: Path) -> list[tuple[str, str]]:
    return [(r["stream"], r["log"]) for r in map(json.loads, path.read_text().splitlines())]


def read_all(sock: socket.socket, timeout: float = 20) -> list[bytes]:
    sock.settimeout(timeout)
    packets = []
    while True:
        p = sock.recv(65536)
        if not p:
            return packets
        packets.append(p)


def test_output_lands_in_json_log_with_streams_apart(h: Harness):
    req = h.request(["sh", "-c", "echo out1; echo err1 >&2; echo out2; printf partial"])
    status = h.run(req)
    assert status.exit_code == 0 and status.error == "" and not status.oom_killed
    assert status.finished_at_ns > 0
    recs = log_records(req.log_path)
    assert [r for r in recs if r[0] == "stdout"] == [("stdout", "out1\n"), ("stdout", "out2\n"),
                                                      ("stdout", "partial")]
    assert [r for r in recs if r[0] == "stderr"] == [("stderr", "err1\n")]
    assert h.rt.read_exit(req.state_dir) == status


@pytest.mark.parametrize("args,code", [(["true"], 0), (["false"], 1), (["sh", "-c", "exit 3"], 3)])
def test_exit_codes(h: Harness, args, code):
    assert h.run(h.request(args)).exit_code == code


def test_sigkill_gives_137(h: Harness):
    req = h.request(["sleep", "100"])
    st = h.create(req)
    done, got = h.watch(req, st)
    h.rt.start(req.id)
    h.rt.signal(req.id, signal.SIGKILL)
    assert done.wait(20)
    assert got[0].exit_code == 137


def test_sigterm_to_shell_trap(h: Harness):
    req = h.request(["sh", "-c", "trap 'echo got term; exit 7' TERM; while true; do sleep 0.1; done"])
    st = h.create(req)
    done, got = h.watch(req, st)
    h.rt.start(req.id)
    time.sleep(0.3)
    h.rt.signal(req.id, signal.SIGTERM)
    assert done.wait(20)
    assert got[0].exit_code == 7
    assert ("stdout", "got term\n") in log_records(req.log_path)


def assert_nothing_left(h: Harness, cid: str) -> None:
    assert not (h.exec_root / "containers" / cid).exists()
    assert not [m for m in mountpoints() if cid in m]
    assert h.rt.state(cid) is None
    assert not [d for d in cgroups.container_dirs(f"/{h.cgroup_parent}/{cid}") if d.exists()]


def test_missing_command_fails_create_and_leaves_nothing(h: Harness):
    req = h.request(["nosuchcmd"])
    with pytest.raises(TugboatError) as e:
        h.create(req)
    assert e.value.message == ('runc create failed: unable to start container process: '
                               'exec: "nosuchcmd": executable file not found in $PATH')
    assert_nothing_left(h, req.id)
    assert not req.log_path.exists() or req.log_path.read_text() == ""


def test_not_executable_fails_create(h: Harness):
    req = h.request(["/etc/passwd"])
    with pytest.raises(TugboatError, match="permission denied"):
        h.create(req)
    assert_nothing_left(h, req.id)


def test_unknown_user_fails_create(h: Harness):
    req = h.request(["id"], user="xyz")
    with pytest.raises(InvalidArgument) as e:
        h.create(req)
    assert e.value.message == "unable to find user xyz: no matching entries in passwd file"
    assert_nothing_left(h, req.id)


def test_user_resolution_and_home(h: Harness):
    req = h.request(["sh", "-c", "id; echo HOME=$HOME"], user="nobody")
    assert h.run(req).exit_code == 0
    out = "".join(r[1] for r in log_records(req.log_path))
    assert "uid=65534(nobody) gid=65534(nobody)" in out
    assert "HOME=/nonexistent" in out
    req = h.request(["id"], user="1234:99")
    h.run(req)
    assert log_records(req.log_path)[0][1].startswith("uid=1234 gid=99")


def test_hostname_domainname_env_cwd(h: Harness):
    req = h.request(["sh", "-c", "hostname; cat /proc/sys/kernel/domainname; echo $FOO $HOSTNAME; pwd"],
                    hostname="box1", domainname="example.com", env=["FOO=bar"], cwd="/tmp")
    h.run(req)
    assert [r[1] for r in log_records(req.log_path)] == ["box1\n", "example.com\n", "bar box1\n", "/tmp\n"]


def test_readonly_rootfs_and_etc_files(h: Harness, tmp_path: Path):
    hosts = tmp_path / "hosts"
    hosts.write_text("127.0.0.1 localhost special\n")
    req = h.request(["sh", "-c", "cat /etc/hosts; touch /x || echo ro; touch /dev/shm/y && echo shm ok"],
                    host_config={"ReadonlyRootfs": True}, etc_files={"/etc/hosts": hosts})
    h.run(req)
    out = "".join(r[1] for r in log_records(req.log_path))
    assert "special" in out and "ro\n" in out and "shm ok" in out
    assert not (h.rootfs / "x").exists()


def test_memory_limit_applied_in_cgroup(h: Harness):
    req = h.request(["sleep", "30"], host_config={"Memory": 64 << 20, "PidsLimit": 20})
    st = h.create(req)
    path = f"/{h.cgroup_parent}/{req.id}"
    if cgroups.is_v2():
        assert (cgroups.CGROUP_ROOT / path.strip("/") / "memory.max").read_text().strip() == str(64 << 20)
    else:
        mem = cgroups.controller_root("memory")
        assert mem is not None
        assert int((mem / path.strip("/") / "memory.limit_in_bytes").read_text()) == 64 << 20
    assert proc_start_time(st.pid) is not None
    h.rt.cleanup(req.id)
    assert_nothing_left(h, req.id)


def test_attach_receives_output_and_stdin_reaches_the_process(h: Harness):
    req = h.request(["sh", "-c", "cat; echo done >&2"], open_stdin=True, stdin_once=True)
    st = h.create(req)
    done, got = h.watch(req, st)
    sock = h.rt.attach(req.id)
    h.rt.start(req.id)
    sock.send(b"hello\n")
    sock.send(b"world\n")
    sock.shutdown(socket.SHUT_WR)
    packets = read_all(sock)
    sock.close()
    out = b"".join(p[1:] for p in packets if p[:1] == b"\x01")
    err = b"".join(p[1:] for p in packets if p[:1] == b"\x02")
    assert out == b"hello\nworld\n" and err == b"done\n"
    assert done.wait(20) and got[0].exit_code == 0
    assert log_records(req.log_path) == [("stdout", "hello\n"), ("stdout", "world\n"), ("stderr", "done\n")]


def test_two_attach_clients_both_get_output(h: Harness):
    req = h.request(["sh", "-c", "sleep 0.2; echo shared"])
    st = h.create(req)
    h.watch(req, st)
    a, b = h.rt.attach(req.id), h.rt.attach(req.id)
    h.rt.start(req.id)
    assert read_all(a) == [b"\x01shared\n"]
    assert read_all(b) == [b"\x01shared\n"]
    a.close()
    b.close()


def test_stdin_without_open_stdin_is_dev_null(h: Harness):
    req = h.request(["cat"])
    assert h.run(req).exit_code == 0


def test_large_output_is_complete(h: Harness):
    # 2 MB through the pipe, the log and an attached client.
    req = h.request(["sh", "-c", "i=0; while [ $i -lt 20000 ]; do echo line-$i-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx; i=$((i+1)); done"])
    st = h.create(req)
    done, got = h.watch(req, st)
    sock = h.rt.attach(req.id)
    h.rt.start(req.id)
    data = b"".join(p[1:] for p in read_all(sock, 60))
    sock.close()
    assert done.wait(60)
    lines = data.decode().splitlines()
    assert len(lines) == 20000 and lines[-1].startswith("line-19999-")
    assert len(log_records(req.log_path)) == 20000


def test_tty(h: Harness):
    req = h.request(["sh", "-c", "tty; read x; echo got:$x"], tty=True, open_stdin=True, stdin_once=True)
    st = h.create(req)
    done, got = h.watch(req, st)
    sock = h.rt.attach(req.id)
    h.rt.start(req.id)
    time.sleep(0.3)
    h.rt.resize(req.id, 40, 100)
    sock.send(b"abc\n")
    data = b"".join(p[1:] for p in read_all(sock))
    sock.close()
    assert done.wait(20) and got[0].exit_code == 0
    assert b"/dev/pts/0" in data and b"got:abc" in data
    assert all(stream == "stdout" for stream, _ in log_records(req.log_path))


def test_container_survives_tugd_death(h: Harness):
    """A process that created and started the container is SIGKILLed; a new
    ContainerRuntime finds the monitor by its MonitorRef and gets the exit."""
    req = h.request(["sh", "-c", "sleep 1; echo after-tugd-died; exit 5"])
    script = textwrap.dedent(f"""
        import json, os, sys
        from pathlib import Path
        from tugboat.runtime import ContainerRuntime, ProcessSpec, StartRequest
        from tests.unit.runtime.conftest import Mount
        rt = ContainerRuntime(Path({str(h.exec_root)!r}), {h.cgroup_parent!r}, {h.rt.runc.binary!r})
        req = StartRequest(id={req.id!r}, rootfs_mounts=[Mount("bind", {str(h.rootfs)!r})],
            process=ProcessSpec(args={req.process.args!r}, env=[], cwd="/", user=""), hostname="x",
            domainname="", host_config={{}}, labels={{}}, etc_files={{}},
            log_path=Path({str(req.log_path)!r}), state_dir=Path({str(req.state_dir)!r}))
        st = rt.create(req)
        rt.start(req.id)
        print(json.dumps([st.monitor.pid, st.monitor.start_time]), flush=True)
        os.kill(os.getpid(), 9)
    """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60,
                          cwd=Path(__file__).parents[3])
    assert proc.returncode == -9, proc.stderr
    pid, start = json.loads(proc.stdout)
    h.monitors.append(pid)
    ref = MonitorRef(pid, start)
    rt2 = ContainerRuntime(h.exec_root, h.cgroup_parent, h.rt.runc.binary)
    h.extra_runtimes.append(rt2)
    assert rt2.is_alive(ref)
    done, got = h.watch(req, type("S", (), {"monitor": ref})(), rt=rt2)  # type: ignore[arg-type]
    assert done.wait(20)
    assert got[0].exit_code == 5
    assert ("stdout", "after-tugd-died\n") in log_records(req.log_path)
    assert not rt2.is_alive(ref)
    assert_nothing_left(h, req.id)


def test_shutdown_stops_watchers_but_not_containers(h: Harness):
    req = h.request(["sh", "-c", "sleep 1; exit 4"])
    st = h.create(req)
    done, got = h.watch(req, st)
    h.rt.start(req.id)
    h.rt.shutdown()
    assert h.rt.is_alive(st.monitor)
    rt2 = ContainerRuntime(h.exec_root, h.cgroup_parent, h.rt.runc.binary)
    h.extra_runtimes.append(rt2)
    done2, got2 = h.watch(req, st, rt=rt2)
    assert done2.wait(20) and got2[0].exit_code == 4
    assert not done.is_set()


def test_monitor_killed_reports_255(h: Harness):
    req = h.request(["sleep", "100"])
    st = h.create(req)
    h.rt.start(req.id)
    os.kill(st.monitor.pid, signal.SIGKILL)
    done, got = h.watch(req, st)
    assert done.wait(20)
    assert got[0].exit_code == 255 and got[0].error == "monitor died"
    assert_nothing_left(h, req.id)
    assert proc_start_time(st.pid) is None  # cleanup's runc delete --force killed it


def test_read_exit_and_is_alive_with_stale_ref(h: Harness, tmp_path: Path):
    assert h.rt.read_exit(tmp_path) is None
    assert not h.rt.is_alive(MonitorRef(os.getpid(), 1))
    assert h.rt.is_alive(MonitorRef(os.getpid(), proc_start_time(os.getpid()) or 0))


def test_cleanup_is_idempotent_and_leaves_nothing(h: Harness):
    req = h.request(["sleep", "100"])
    st = h.create(req)
    h.rt.start(req.id)
    h.rt.cleanup(req.id)
    h.rt.cleanup(req.id)
    assert_nothing_left(h, req.id)
    deadline = time.monotonic() + 10
    while (proc_start_time(st.pid) or proc_start_time(st.monitor.pid)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert proc_start_time(st.pid) is None and proc_start_time(st.monitor.pid) is None


def test_mount_rootfs_for_export(h: Harness):
    cid = "e" * 64
    path = h.rt.mount_rootfs(cid, [Mount("bind", str(h.rootfs))])
    assert (path / "bin" / "busybox").exists() and str(path) in mountpoints()
    h.rt.unmount_rootfs(cid)
    assert str(path) not in mountpoints() and not path.exists()


def test_overlay_rootfs(h: Harness, tmp_path: Path):
    upper, work = tmp_path / "upper", tmp_path / "work"
    upper.mkdir()
    work.mkdir()
    m = Mount("overlay", "overlay", [f"lowerdir={h.rootfs}", f"upperdir={upper}", f"workdir={work}"])
    req = h.request(["sh", "-c", "echo hi > /new && cat /new"], rootfs_mounts=[m])
    assert h.run(req).exit_code == 0
    assert (upper / "new").read_text() == "hi\n" and not (h.rootfs / "new").exists()


def test_privileged_and_cap_add_all(h: Harness):
    req = h.request(["sh", "-c", "grep CapEff /proc/self/status; ls /dev | grep -c . ; cat /proc/1/mountinfo | grep -c ' /proc/kcore '"],
                    host_config={"Privileged": True})
    assert h.run(req).exit_code == 1  # grep -c finds no masked /proc/kcore: exit 1
    out = [r[1] for r in log_records(req.log_path)]
    assert out[0].startswith("CapEff:") and int(out[0].split()[1], 16) != 0
    assert int(out[1]) > 10 and out[2] == "0\n"
    req = h.request(["true"], host_config={"CapAdd": ["ALL"], "CapDrop": ["NET_RAW"]})
    assert h.run(req).exit_code == 0


def test_cap_drop_all(h: Harness):
    req = h.request(["sh", "-c", "grep CapEff /proc/self/status"], host_config={"CapDrop": ["ALL"]})
    h.run(req)
    assert log_records(req.log_path) == [("stdout", "CapEff:\t0000000000000000\n")]


def test_unmount_falls_back_to_detach_when_busy(h: Harness, tmp_path: Path):
    from tugboat.runtime import mounts

    target = tmp_path / "mnt"
    mounts.mount_rootfs([Mount("bind", str(h.rootfs))], target)
    fd = os.open(target / "bin", os.O_RDONLY | os.O_DIRECTORY)
    try:
        pid = os.fork()
        if pid == 0:  # a process whose cwd keeps the mount busy
            os.fchdir(fd)
            time.sleep(5)
            os._exit(0)
        time.sleep(0.1)
        mounts.unmount(target)
        assert str(target) not in mountpoints()
    finally:
        os.close(fd)
        if pid:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)


def test_parallel_containers(h: Harness):
    from concurrent.futures import ThreadPoolExecutor

    reqs = [h.request(["sh", "-c", f"echo n{i}; exit {i}"]) for i in range(8)]
    with ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(lambda r: h.run(r, timeout=60), reqs))
    assert [s.exit_code for s in statuses] == list(range(8))
    for i, r in enumerate(reqs):
        assert log_records(r.log_path) == [("stdout", f"n{i}\n")]


def test_on_exit_may_restart_and_watch_again(h: Harness):
    """A restart policy restarts from inside on_exit: watch must accept the same id."""
    req = h.request(["sh", "-c", "echo run; exit 2"])
    results = []
    import threading

    second = threading.Event()

    def on_exit(status):
        results.append(status.exit_code)
        if len(results) == 1:
            st2 = h.create(req)
            h.rt.watch(req.id, st2.monitor, req.state_dir, on_exit)
            h.rt.start(req.id)
        else:
            second.set()

    st = h.create(req)
    h.rt.watch(req.id, st.monitor, req.state_dir, on_exit)
    h.rt.start(req.id)
    assert second.wait(20)
    assert results == [2, 2]
    assert log_records(req.log_path) == [("stdout", "run\n"), ("stdout", "run\n")]


def test_slow_attach_client_gets_everything_and_log_is_complete(h: Harness):
    # ~9 MB: more than the monitor queues for a client before it stops reading the container.
    req = h.request(["sh", "-c", "i=0; while [ $i -lt 3000 ]; do cat /bin/busybox | head -c 3000; echo; "
                     "i=$((i+1)); done"])
    st = h.create(req)
    done, got = h.watch(req, st)
    sock = h.rt.attach(req.id)
    h.rt.start(req.id)
    time.sleep(2)  # not reading: the monitor must queue, then hold the container back
    assert not done.is_set()
    total = sum(len(p) - 1 for p in read_all(sock, 60))
    sock.close()
    assert done.wait(60) and got[0].exit_code == 0
    logged = sum(len(r[1].encode("utf-8", "surrogateescape")) for r in log_records(req.log_path))
    assert total == 3000 * 3001
    assert logged > 0


def test_oom_killed_is_reported(h: Harness):
    req = h.request(["sh", "-c", "x=$(head -c 200000000 /dev/zero | tr '\\0' a); echo survived"],
                    host_config={"Memory": 16 << 20, "MemorySwap": 16 << 20})
    status = h.run(req, timeout=60)
    assert status.oom_killed
    assert status.exit_code == 137


def test_device_mapping(h: Harness):
    req = h.request(["sh", "-c", "echo hi > /dev/xnull && echo wrote"],
                    host_config={"Devices": [{"PathOnHost": "/dev/null", "PathInContainer": "/dev/xnull",
                                              "CgroupPermissions": "rwm"}]})
    assert h.run(req).exit_code == 0
    assert log_records(req.log_path) == [("stdout", "wrote\n")]


def test_large_stdin(h: Harness):
    import threading

    req = h.request(["wc", "-c"], open_stdin=True, stdin_once=True)
    st = h.create(req)
    done, got = h.watch(req, st)
    sock = h.rt.attach(req.id)
    h.rt.start(req.id)
    data = b"0123456789abcdef" * 65536

    def feed() -> None:
        for i in range(0, len(data), 32 * 1024):
            sock.sendall(data[i:i + 32 * 1024])
        sock.shutdown(socket.SHUT_WR)

    t = threading.Thread(target=feed)
    t.start()
    out = b"".join(p[1:] for p in read_all(sock, 30))
    t.join()
    sock.close()
    assert out.strip() == str(len(data)).encode()
    assert done.wait(20) and got[0].exit_code == 0


def test_stdin_sent_before_start_is_held_then_delivered(h: Harness):
    """Before start nobody reads stdin: a client's sends block (backpressure) and
    must not block ``start`` (the engine feeds stdin from its own thread)."""
    import threading

    req = h.request(["wc", "-c"], open_stdin=True, stdin_once=True)
    st = h.create(req)
    done, got = h.watch(req, st)
    sock = h.rt.attach(req.id)
    data = b"x" * (1 << 20)
    fed = threading.Event()

    def feed() -> None:
        for i in range(0, len(data), 32 * 1024):
            sock.sendall(data[i:i + 32 * 1024])
        sock.shutdown(socket.SHUT_WR)
        fed.set()

    t = threading.Thread(target=feed)
    t.start()
    assert not fed.wait(0.5)  # held: the container has not started
    h.rt.start(req.id)
    out = b"".join(p[1:] for p in read_all(sock, 30))
    t.join()
    sock.close()
    assert out.strip() == str(len(data)).encode()
    assert done.wait(20) and got[0].exit_code == 0
