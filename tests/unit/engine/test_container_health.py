"""container_health: moby's probe-result rules, output limit, timeouts and the monitor thread (fake exec)."""

from __future__ import annotations

import os
import threading
import time
from typing import Any

import pytest

from tugboat.engine import container_health as ch
from tugboat.engine.container_state import State
from tugboat.errors import InvalidArgument

S = 1_000_000_000


def result(code: int) -> dict[str, Any]:
    return {"Start": "s", "End": "e", "ExitCode": code, "Output": ""}


def test_probe_command():
    assert ch.probe_command({}) is None
    assert ch.probe_command({"Healthcheck": {"Test": ["NONE"]}}) is None
    assert ch.probe_command({"Healthcheck": {"Test": ["CMD", "true", "x"]}}) == ["true", "x"]
    assert ch.probe_command({"Healthcheck": {"Test": ["CMD-SHELL", "a b"]}}) == ["/bin/sh", "-c", "a b"]
    assert ch.probe_command({"Shell": ["/bin/bash", "-xc"], "Healthcheck": {"Test": ["CMD-SHELL", "a"]}}) == \
        ["/bin/bash", "-xc", "a"]
    assert ch.probe_command({"Healthcheck": {"Test": ["WHAT", "a"]}}) is None


def test_retries_and_status_changes():
    h = {"Status": ch.STARTING, "FailingStreak": 0, "Log": []}
    hc = {"Retries": 2}
    assert not ch.apply_result(h, result(1), 10 * S, 0, hc)
    assert h["Status"] == ch.STARTING and h["FailingStreak"] == 1
    assert ch.apply_result(h, result(1), 11 * S, 0, hc)
    assert h["Status"] == ch.UNHEALTHY and h["FailingStreak"] == 2
    assert ch.apply_result(h, result(0), 12 * S, 0, hc)
    assert h == {"Status": ch.HEALTHY, "FailingStreak": 0, "Log": [result(1), result(1), result(0)]}
    assert not ch.apply_result(h, result(1), 13 * S, 0, hc)     # one failure: still healthy
    assert h["Status"] == ch.HEALTHY


def test_default_retries_is_three():
    h = {"Status": ch.HEALTHY, "FailingStreak": 0, "Log": []}
    for _ in range(2):
        ch.apply_result(h, result(1), S, 0, {})
    assert h["Status"] == ch.HEALTHY
    ch.apply_result(h, result(1), S, 0, {})
    assert h["Status"] == ch.UNHEALTHY


def test_start_period_only_while_starting():
    hc = {"Retries": 1, "StartPeriod": 10 * S}
    h = {"Status": ch.STARTING, "FailingStreak": 0, "Log": []}
    assert not ch.apply_result(h, result(1), 5 * S, 0, hc)      # inside the start period: not counted
    assert h["FailingStreak"] == 0
    assert ch.apply_result(h, result(1), 10 * S, 0, hc)         # after it: counted
    assert h["Status"] == ch.UNHEALTHY
    h = {"Status": ch.HEALTHY, "FailingStreak": 0, "Log": []}
    assert ch.apply_result(h, result(1), 5 * S, 0, hc)          # healthy once: the period no longer applies
    assert h["Status"] == ch.UNHEALTHY


def test_log_keeps_last_five():
    h = {"Status": ch.STARTING, "FailingStreak": 0, "Log": []}
    for i in range(8):
        ch.apply_result(h, {**result(0), "Output": str(i)}, S, 0, {})
    assert [e["Output"] for e in h["Log"]] == ["3", "4", "5", "6", "7"]


def test_limited_output():
    out = ch.LimitedOutput()
    out.write(b"a" * 4000)
    out.write(b"b" * 200)
    assert out.text() == "a" * 4000 + "b" * 96 + "..."
    small = ch.LimitedOutput()
    small.write(b"ok\n")
    assert small.text() == "ok\n"


def test_validate():
    ch.validate({"Healthcheck": {"Test": ["CMD", "x"], "Interval": S, "Retries": 0}})
    with pytest.raises(InvalidArgument, match="Interval in Healthcheck cannot be less than 1ms"):
        ch.validate({"Healthcheck": {"Interval": 10}})
    with pytest.raises(InvalidArgument, match="Timeout in Healthcheck cannot be less than 1ms"):
        ch.validate({"Healthcheck": {"Timeout": -1}})
    with pytest.raises(InvalidArgument, match="Retries in Healthcheck cannot be negative"):
        ch.validate({"Healthcheck": {"Retries": -1}})
    with pytest.raises(InvalidArgument, match="StartPeriod in Healthcheck cannot be less than 1ms"):
        ch.validate({"Healthcheck": {"StartPeriod": 5}})


def test_state_shows_health():
    st = State(status="running", started_at_ns=time.time_ns() - 5 * S)
    assert "Health" not in st.to_api() and st.human() == "Up 5 seconds"
    st.health = {"Status": ch.STARTING, "FailingStreak": 0, "Log": []}
    assert st.to_api()["Health"] == st.health
    assert st.human() == "Up 5 seconds (health: starting)"
    st.health["Status"] = ch.UNHEALTHY
    assert st.human() == "Up 5 seconds (unhealthy)"
    assert State.from_json(st.to_json()).health == st.health


# --- the monitor thread, with a fake exec ----------------------------------------------------------

class FakeProc:
    """A probe process: prints ``out``, exits ``code`` after ``delay`` (or when killed)."""

    def __init__(self, out: bytes, code: int, delay: float) -> None:
        self.pid = -1
        self.out, self.code, self.delay = out, code, delay
        self.killed = threading.Event()

    def output(self, stop_fd: int):
        yield 1, self.out
        import select
        ready, _, _ = select.select([stop_fd], [], [], self.delay)
        if ready:
            self.killed.set()

    def wait(self) -> int:
        return 137 if self.killed.is_set() else self.code


class Rec:
    def __init__(self, hc: dict[str, Any]) -> None:
        self.id = "c" * 64
        self.config = {"Healthcheck": hc, "Hostname": "h", "Env": ["A=1"], "User": "nobody", "WorkingDir": "/w"}
        self.host_config: dict[str, Any] = {}
        self.state = State(status="running", started_at_ns=time.time_ns())
        self.saves = 0

    def save(self) -> None:
        self.saves += 1


class Box:
    def __init__(self, rec: Rec) -> None:
        self.rec = rec
        self.lock = threading.RLock()


def monitor(procs: list[FakeProc], spawned: list[tuple], events: list[tuple]) -> ch.HealthMonitor:
    def spawn(cid: str, argv: list[str], env: list[str], cwd: str, user: str, groups: list[str]) -> FakeProc:
        spawned.append((cid, argv, env, cwd, user))
        return procs.pop(0) if procs else FakeProc(b"", 0, 0)

    def publish(rec: Any, action: str, extra: dict[str, str] | None) -> None:
        events.append((action, dict(extra or {})))

    return ch.HealthMonitor(runtime=None, publish=publish, spawn=spawn)


def test_monitor_runs_probes_and_publishes(monkeypatch):
    monkeypatch.setattr(os, "kill", lambda pid, sig: None)
    spawned: list[tuple] = []
    events: list[tuple] = []
    procs = [FakeProc(b"x" * 5000, 0, 0), FakeProc(b"", 0, 5)]
    m = monitor(procs, spawned, events)
    c = Box(Rec({"Test": ["CMD-SHELL", "check"], "Interval": S // 20, "Timeout": S // 10, "Retries": 1}))
    m.init(c)
    assert c.rec.state.health == {"Status": ch.STARTING, "FailingStreak": 0, "Log": []}
    deadline = time.monotonic() + 5
    while len(c.rec.state.health["Log"]) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    m.stop(c)
    log = c.rec.state.health["Log"]
    assert log[0]["ExitCode"] == 0 and log[0]["Output"] == "x" * 4096 + "..."
    assert log[1]["ExitCode"] == -1 and log[1]["Output"] == "Health check exceeded timeout (100ms)"
    assert c.rec.state.health["Status"] == ch.UNHEALTHY
    assert spawned[0][1:] == (["/bin/sh", "-c", "check"], ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:"
                                                           "/sbin:/bin", "HOSTNAME=h", "A=1"], "/w", "nobody")
    actions = [a for a, _ in events]
    assert actions[:4] == ["exec_create: /bin/sh -c check", "exec_start: /bin/sh -c check", "exec_die",
                           "health_status: healthy"]
    assert "health_status: unhealthy" in actions
    assert events[2][1]["exitCode"] == "0" and events[0][1]["execID"] == events[2][1]["execID"]
    assert c.rec.saves >= 2


def wait_for(pred, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def test_stop_ends_the_monitor():
    spawned: list[tuple] = []
    m = monitor([], spawned, [])
    c = Box(Rec({"Test": ["CMD", "true"], "Interval": S // 50}))
    m.init(c)
    assert wait_for(lambda: len(spawned) >= 2)
    m.stop(c)
    time.sleep(0.3)                   # a probe that had already begun may still finish
    count = len(spawned)
    time.sleep(0.3)
    assert len(spawned) == count
    m.resume(c)                       # unpause: probes again
    assert wait_for(lambda: len(spawned) > count)
    m.shutdown()


def test_no_healthcheck_no_monitor():
    spawned: list[tuple] = []
    m = monitor([], spawned, [])
    c = Box(Rec({"Test": ["NONE"], "Interval": S // 50}))
    m.init(c)
    time.sleep(0.1)
    assert spawned == [] and c.rec.state.health is None
