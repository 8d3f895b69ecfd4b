"""ContainerService.update against fakes: persisted, applied live only when running, dockerd's errors."""

from __future__ import annotations

import json

import pytest
from _container_fakes import FakeImages, FakeLayers, FakeRuntime

from tugboat.engine.containers import ContainerService
from tugboat.errors import Conflict, InvalidArgument, NotFound


@pytest.fixture
def svc(tmp_path):
    return ContainerService(tmp_path / "containers", FakeImages(), FakeLayers(), FakeRuntime())


def test_update_created_then_running(svc, tmp_path):
    cid = svc.create("u1", {"Image": "busybox", "Cmd": ["sleep", "9"]})["Id"]
    rt = svc._runtime
    assert svc.update("u1", {"CpuShares": 512, "RestartPolicy": {"Name": "always"}}) == {"Warnings": []}
    assert not any(e.startswith("update") for e in rt.events)   # not running: HostConfig only
    hc = svc.inspect("u1")["HostConfig"]
    assert hc["CpuShares"] == 512 and hc["RestartPolicy"] == {"Name": "always", "MaximumRetryCount": 0}
    svc.start("u1")
    svc.update("u1", {"Memory": 64 << 20, "MemorySwap": 128 << 20})
    assert f"update {sorted({'Memory': 64 << 20, 'MemorySwap': 128 << 20}.items())}" in rt.events
    saved = json.loads((tmp_path / "containers" / cid / "config.v2.json").read_text())
    assert saved["HostConfig"]["Memory"] == 64 << 20   # persisted
    svc.kill("u1")


def test_update_errors(svc):
    cid = svc.create("u2", {"Image": "busybox"})["Id"]
    with pytest.raises(NotFound):
        svc.update("nosuch", {"Memory": 1})
    with pytest.raises(InvalidArgument, match="Minimum memory limit allowed is 6MB"):
        svc.update("u2", {"Memory": 1})
    with pytest.raises(InvalidArgument):
        svc.update("u2", {"Memory": "lots"})
    with pytest.raises(Conflict, match=f"^Cannot update container {cid}: Memory limit should be smaller"):
        svc.update("u2", {"Memory": 64 << 20})
    assert svc.inspect("u2")["HostConfig"]["Memory"] == 0      # restored
