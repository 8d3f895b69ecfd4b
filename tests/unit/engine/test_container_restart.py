"""Restart policies: decisions, backoff, the "restarting" state, stop/kill/rm while restarting, boot."""

from __future__ import annotations

import time

import pytest
from _container_fakes import FakeImages, FakeLayers, FakeRuntime

from tugboat.engine import container_restart
from tugboat.engine.container_restart import next_delay, should_restart
from tugboat.engine.containers import ContainerService
from tugboat.errors import Conflict

S = 1_000_000_000


def test_policy_decisions():
    assert not should_restart(None, 1, 0, False) and not should_restart({"Name": "no"}, 1, 0, False)
    assert should_restart({"Name": "always"}, 0, 9, True)
    assert should_restart({"Name": "unless-stopped"}, 0, 0, False)
    assert not should_restart({"Name": "unless-stopped"}, 0, 0, True)
    assert should_restart({"Name": "on-failure"}, 1, 100, False)
    assert not should_restart({"Name": "on-failure"}, 0, 0, False)
    assert should_restart({"Name": "on-failure", "MaximumRetryCount": 2}, 1, 1, False)
    assert not should_restart({"Name": "on-failure", "MaximumRetryCount": 2}, 1, 2, False)


def test_backoff():
    assert next_delay(0, 0) == 0.1 and next_delay(0.1, S) == 0.2 and next_delay(40, S) == 60
    assert next_delay(60, S) == 60 and next_delay(3.2, 10 * S) == 0.1


@pytest.fixture
def env(tmp_path, monkeypatch):
    monkeypatch.setattr(container_restart, "DEFAULT_DELAY", 0.02)
    rt = FakeRuntime()
    return ContainerService(tmp_path / "c", FakeImages(), FakeLayers(), rt), rt, tmp_path


def wait_for(pred, timeout=2.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(0.005)
    return False


def test_always_restarts_until_stopped(env):
    svc, rt, _ = env
    cid = svc.create("al", {"Image": "busybox", "HostConfig": {"RestartPolicy": {"Name": "always"}}})["Id"]
    svc.start("al")
    w = svc.wait_begin("al", "next-exit")
    rt.exit(cid, 3)
    assert w.result(1)["StatusCode"] == 3
    i = svc.inspect("al")
    assert i["State"]["Status"] == "restarting" and i["State"]["Restarting"] and i["RestartCount"] == 1
    assert svc.list()[0]["Status"].startswith("Restarting (3) ")
    with pytest.raises(Conflict, match="is restarting, wait until the container is running"):
        svc.kill("al")
    with pytest.raises(Conflict, match="You cannot remove a restarting container"):
        svc.remove("al")
    assert wait_for(lambda: rt.started.count(cid) == 2)
    assert svc.inspect("al")["State"]["Status"] == "running"
    svc.stop("al", timeout=1)
    time.sleep(0.1)
    assert svc.inspect("al")["State"]["Status"] == "exited" and rt.started.count(cid) == 2


def test_stop_while_restarting_cancels(env):
    svc, rt, _ = env
    cid = svc.create("us", {"Image": "busybox", "HostConfig": {"RestartPolicy": {"Name": "unless-stopped"}}})["Id"]
    svc.start("us")
    rt.exit(cid, 1)
    assert svc.inspect("us")["State"]["Status"] == "restarting"
    svc.stop("us")
    time.sleep(0.1)
    assert svc.inspect("us")["State"]["Status"] == "exited" and rt.started.count(cid) == 1


def test_on_failure_limit_and_kill(env):
    svc, rt, _ = env
    cid = svc.create("of", {"Image": "busybox",
                            "HostConfig": {"RestartPolicy": {"Name": "on-failure", "MaximumRetryCount": 1}}})["Id"]
    svc.start("of")
    rt.exit(cid, 0)
    assert svc.inspect("of")["State"]["Status"] == "exited"
    svc.start("of")
    rt.exit(cid, 1)
    assert wait_for(lambda: rt.started.count(cid) == 3)
    rt.exit(cid, 1)                    # RestartCount 1 == MaximumRetryCount: no more
    i = svc.inspect("of")
    assert i["State"]["Status"] == "exited" and i["RestartCount"] == 1
    svc.start("of")                    # a manual start resets the count
    assert svc.inspect("of")["RestartCount"] == 0
    svc.kill("of")                     # SIGKILL cancels the restart
    assert wait_for(lambda: svc.inspect("of")["State"]["Status"] == "exited")


def test_force_remove_while_restarting(env):
    svc, rt, _ = env
    cid = svc.create("fr", {"Image": "busybox", "HostConfig": {"RestartPolicy": {"Name": "always"}}})["Id"]
    svc.start("fr")
    rt.exit(cid, 1)
    svc.remove("fr", force=True)
    time.sleep(0.1)
    assert svc.list(all=True) == [] and rt.started.count(cid) == 1


def test_boot_restarts_by_policy(env):
    svc, rt, tmp = env
    ids = {}
    for name, policy in (("always", "always"), ("unless", "unless-stopped"), ("plain", "no")):
        ids[name] = svc.create(name, {"Image": "busybox", "HostConfig": {"RestartPolicy": {"Name": policy}}})["Id"]
        svc.start(name)
        svc.stop(name)
    never = svc.create("never", {"Image": "busybox", "HostConfig": {"RestartPolicy": {"Name": "always"}}})["Id"]
    svc.shutdown()
    rt2 = FakeRuntime()
    svc2 = ContainerService(tmp / "c", FakeImages(), FakeLayers(), rt2)
    svc2.restore()
    assert wait_for(lambda: ids["always"] in rt2.started)
    time.sleep(0.05)
    assert rt2.started == [ids["always"]] and never not in rt2.started
    assert svc2.inspect("always")["State"]["Status"] == "running"
