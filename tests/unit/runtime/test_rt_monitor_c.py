"""The C monitor (monitor/tug-monitor.c) against monitor.py, its specification:
the json-file log lines for tricky output must be byte-identical (but for the
time), and so must exit.json's keys and the sync protocol's error message."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tugboat.errors import TugboatError
from tugboat.runtime import ContainerRuntime

from .conftest import RUNC, Harness, needs_root, use_monitor

pytestmark = needs_root

# Deterministic records whatever the read chunking: lines end in \n, and a run
# without \n is cut at exactly 16 KiB, then flushed at exit.
TRICKY = r"""
printf 'plain\n'
printf '\n\n'
printf 'h\303\251llo \342\202\254 \360\237\230\200 \302\205 \342\200\250 \342\200\251 \357\273\277\n'
printf 'bad \377\376 \300\200 \355\240\200 \364\220\200\200 \370\210\200\200\200 trunc \342\202\n'
printf 'trunc4 \360\237\230\n'
printf 'ctl \001\002\003\010\011\013\014\033[1m \037 \177 q" bs\\ sl/ \n'
printf 'cr\r\n'
printf 'a\rb\rc\n'
printf 'err line\n' >&2
printf 'err \377 no newline' >&2
head -c 40000 /dev/zero | tr '\000' x
printf '\n'
head -c 16383 /dev/zero | tr '\000' y
printf '\342\202\254 split euro\n'
head -c 16382 /dev/zero | tr '\000' z
printf '\360\237\230\200 split emoji\n'
head -c 50000 /dev/zero | tr '\000' w
"""

TIME_RE = re.compile(rb',"time":"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{0,8}[1-9])?Z)"\}$')


@pytest.fixture
def hc(tmp_path: Path, busybox_rootfs: Path, request: pytest.FixtureRequest,
       monkeypatch: pytest.MonkeyPatch) -> Iterator[Harness]:
    if not RUNC:
        pytest.skip("needs runc")
    harness = Harness(tmp_path, busybox_rootfs, use_monitor("c", request, monkeypatch))
    try:
        yield harness
    finally:
        problems = harness.teardown()
    assert not problems, problems


def run_with(h: Harness, kind: str, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch,
             args: list[str], **kw: object) -> tuple[bytes, dict[str, object]]:
    h.monitor = use_monitor(kind, request, monkeypatch)
    h.rt.shutdown()
    h.rt = ContainerRuntime(h.exec_root, h.cgroup_parent, RUNC or "runc")
    req = h.request(args, **kw)
    status = h.run(req)
    assert status.exit_code == 0, status
    return req.log_path.read_bytes(), json.loads((Path(req.state_dir) / "exit.json").read_text())


def by_stream(log: bytes) -> dict[str, list[bytes]]:
    out: dict[str, list[bytes]] = {"stdout": [], "stderr": []}
    for line in log.split(b"\n")[:-1]:
        m = TIME_RE.search(line)
        assert m, line[-80:]
        stream = json.loads(line)["stream"]
        out[stream].append(line[:m.start()])  # time stripped: the rest must match byte for byte
    return out


def test_tricky_log_lines_are_byte_identical(hc: Harness, request: pytest.FixtureRequest,
                                             monkeypatch: pytest.MonkeyPatch):
    logs = {}
    for kind in ("python", "c"):
        log, exit_json = run_with(hc, kind, request, monkeypatch, ["sh", "-c", TRICKY])
        assert log.endswith(b"\n")
        assert list(exit_json) == ["exit_code", "finished_at_ns", "oom_killed", "error"]
        logs[kind] = by_stream(log)
    assert logs["c"] == logs["python"]
    out = [json.loads(line + b"}")["log"] for line in logs["c"]["stdout"]]
    assert out[:3] == ["plain\n", "\n", "\n"]
    assert len(logs["c"]["stderr"]) == 2
    assert sum(len(x) for x in out if set(x) <= {"w"}) == 50000


def test_exit_json_and_raw_log_bytes_match(hc: Harness, request: pytest.FixtureRequest,
                                           monkeypatch: pytest.MonkeyPatch):
    """Whole files: same bytes once the times are blanked; exit.json differs only in the time."""
    blank = re.compile(rb'"time":"[^"]*"')
    got = {}
    for kind in ("python", "c"):
        log, exit_json = run_with(hc, kind, request, monkeypatch, ["sh", "-c", "printf 'x\\ty\\n\\000\\n'; exit 0"])
        exit_json["finished_at_ns"] = 0
        got[kind] = (blank.sub(b'"time":""', log), exit_json)
    assert got["c"] == got["python"]
    assert got["c"][1] == {"exit_code": 0, "finished_at_ns": 0, "oom_killed": False, "error": ""}


def test_create_error_messages_match(hc: Harness, request: pytest.FixtureRequest,
                                     monkeypatch: pytest.MonkeyPatch):
    msgs = {}
    for kind in ("python", "c"):
        hc.monitor = use_monitor(kind, request, monkeypatch)
        rt = ContainerRuntime(hc.exec_root, hc.cgroup_parent, RUNC or "runc")
        hc.extra_runtimes.append(rt)
        req = hc.request(["nosuchcmd"])
        with pytest.raises(TugboatError) as ei:
            rt.create(req)
        msgs[kind] = str(ei.value)
    assert msgs["c"] == msgs["python"]
    assert "nosuchcmd" in msgs["c"]


def test_c_monitor_is_the_default_when_built(monkeypatch: pytest.MonkeyPatch, c_monitor: str):
    from tugboat.runtime import container_runtime as cr

    monkeypatch.delenv("TUGBOAT_MONITOR", raising=False)
    monkeypatch.setattr(cr, "MONITOR_BINARY", Path(c_monitor))
    assert cr.monitor_command() == [c_monitor]
    monkeypatch.setattr(cr, "MONITOR_BINARY", Path("/nonexistent/tug-monitor"))
    assert cr.monitor_command()[-1] == str(cr.MONITOR_PATH)
    monkeypatch.setenv("TUGBOAT_MONITOR", "python")
    monkeypatch.setattr(cr, "MONITOR_BINARY", Path(c_monitor))
    assert cr.monitor_command()[-1] == str(cr.MONITOR_PATH)
    assert os.access(c_monitor, os.X_OK)


def test_random_bytes_through_stdin_log_identically(hc: Harness, request: pytest.FixtureRequest,
                                                    monkeypatch: pytest.MonkeyPatch):
    """Random bytes (heavy on UTF-8 lead/continuation bytes, controls and \\n) fed to
    ``cat`` through the attach socket: both monitors must log the same records."""
    import random
    import socket

    rnd = random.Random(1234)
    alphabet = bytes(range(0x00, 0x20)) + b"a\"\\/" + bytes(range(0x7e, 0x100))
    data = bytes(rnd.choice(alphabet) for _ in range(120_000)) + b"tail"
    data += bytes(rnd.choice(b"\xe2\x82\xac\xf0\x9f\x98\x80xyz") for _ in range(40_000))  # long, no \n
    logs = {}
    for kind in ("python", "c"):
        hc.monitor = use_monitor(kind, request, monkeypatch)
        hc.rt.shutdown()
        hc.rt = ContainerRuntime(hc.exec_root, hc.cgroup_parent, RUNC or "runc")
        req = hc.request(["cat"], open_stdin=True, stdin_once=True)
        st = hc.create(req)
        done, got = hc.watch(req, st)
        sock = hc.rt.attach(req.id)
        hc.rt.start(req.id)
        for i in range(0, len(data), 8192):
            sock.sendall(data[i:i + 8192])
        sock.shutdown(socket.SHUT_WR)
        echoed = b""
        sock.settimeout(20)
        while True:
            p = sock.recv(65536)
            if not p:
                break
            assert p[:1] == b"\x01"
            echoed += p[1:]
        sock.close()
        assert done.wait(20) and got[0].exit_code == 0
        assert echoed == data
        logs[kind] = by_stream(req.log_path.read_bytes())
    assert logs["c"] == logs["python"]
    assert len(logs["c"]["stdout"]) > 100


def test_config_escapes_in_paths(hc: Harness, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch):
    """monitor.conf escapes \\ and newlines; odd log and state paths work with both monitors."""
    for kind in ("python", "c"):
        hc.monitor = use_monitor(kind, request, monkeypatch)
        hc.rt.shutdown()
        hc.rt = ContainerRuntime(hc.exec_root, hc.cgroup_parent, RUNC or "runc")
        odd = hc.tmp / f"odd {kind} back\\slash new\nline ü=x"
        req = hc.request(["echo", "hi"], log_path=odd / "c.log", state_dir=odd / "state")
        assert hc.run(req).exit_code == 0
        assert json.loads((odd / "c.log").read_text())["log"] == "hi\n"
        assert (odd / "state" / "exit.json").exists()


def test_tty_client_eof_keeps_stdin_open(h: Harness):
    """(Both monitors.) With a TTY, a client's EOF does not close stdin even with
    StdinOnce: the container keeps running and the next client can still type."""
    import socket
    import time

    req = h.request(["sh", "-c", "read x; echo got:$x; read y; echo got:$y"], tty=True, open_stdin=True,
                    stdin_once=True)
    st = h.create(req)
    done, got = h.watch(req, st)
    with h.rt.attach(req.id) as first:
        h.rt.start(req.id)
        first.send(b"one\n")
        first.shutdown(socket.SHUT_WR)
        time.sleep(0.5)
        assert not done.is_set(), "stdin was closed by the TTY client's EOF"
    data = b""
    with h.rt.attach(req.id) as second:
        second.send(b"two\n")
        second.settimeout(20)
        while True:
            p = second.recv(65536)
            if not p:
                break
            data += p[1:]
    assert done.wait(20) and got[0].exit_code == 0
    assert b"got:one" in req.log_path.read_bytes() and b"got:two" in data


def test_c_port_is_in_step_with_monitor_py():
    """monitor.py is the specification: a change to it must be ported to the C monitor."""
    import hashlib

    from tugboat.runtime import container_runtime as cr

    from .conftest import MONITOR_SRC

    digest = hashlib.sha256(cr.MONITOR_PATH.read_bytes()).hexdigest()[:16]
    assert f"monitor.py sha256 {digest}" in MONITOR_SRC.read_text(), (
        f"monitor.py changed: port the change to {MONITOR_SRC.name}, then put sha256 {digest} in its header")


# 35 lines of 1001 bytes: each record is 1071-1081 bytes whatever its time, so exactly 10 fit
# in 11000 bytes and both monitors must cut the files at the same records.
ROTATE = ('i=1; while [ $i -le 35 ]; do printf "%04d" $i; head -c 996 /dev/zero | tr "\\000" a; echo; '
          'i=$((i+1)); done')


@pytest.mark.parametrize("max_file", [3, 1])
def test_log_rotation_is_identical(hc: Harness, request: pytest.FixtureRequest,
                                   monkeypatch: pytest.MonkeyPatch, max_file: int):
    blank = re.compile(rb'"time":"[^"]*"')
    got = {}
    for kind in ("python", "c"):
        hc.monitor = use_monitor(kind, request, monkeypatch)
        hc.rt.shutdown()
        hc.rt = ContainerRuntime(hc.exec_root, hc.cgroup_parent, RUNC or "runc")
        req = hc.request(["sh", "-c", ROTATE], log_max_size=11000, log_max_file=max_file)
        assert hc.run(req).exit_code == 0
        path = Path(req.log_path)
        files = sorted(path.parent.glob(path.name + "*"))
        assert all(f.stat().st_size <= 11000 for f in files)
        got[kind] = {f.name[len(path.name):]: blank.sub(b'"time":""', f.read_bytes()) for f in files}
    assert got["c"] == got["python"]
    firsts = {k: [json.loads(ln)["log"][:4] for ln in v.splitlines()] for k, v in got["c"].items()}
    if max_file == 3:
        assert list(firsts) == ["", ".1", ".2"]
        assert firsts[".2"] == [f"{i:04d}" for i in range(11, 21)]
        assert firsts[".1"] == [f"{i:04d}" for i in range(21, 31)]
    else:
        assert list(firsts) == [""]
    assert firsts[""] == [f"{i:04d}" for i in range(31, 36)]
