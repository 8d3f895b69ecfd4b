"""rename, top, changes and prune against the fakes."""

from __future__ import annotations

import os

import pytest
from _container_fakes import FakeImages, FakeLayers, FakeRuntime

from tugboat.engine.container_extras import parse_ps_output
from tugboat.engine.containers import ContainerService
from tugboat.errors import Conflict, InvalidArgument, NotFound, TugboatError


@pytest.fixture
def svc(tmp_path):
    return ContainerService(tmp_path / "c", FakeImages(), FakeLayers(), FakeRuntime())


def test_rename(svc, tmp_path):
    cid = svc.create("one", {"Image": "busybox"})["Id"]
    other = svc.create("two", {"Image": "busybox"})["Id"]
    with pytest.raises(InvalidArgument, match="same name as its current name"):
        svc.rename("one", "one")
    with pytest.raises(InvalidArgument, match="Neither old nor new names may be empty"):
        svc.rename("one", "")
    with pytest.raises(Conflict, match=f'Error when allocating new name: Conflict. The container name "/two" '
                                       f'is already in use by container "{other}"'):
        svc.rename("one", "two")
    svc.rename("one", "uno")
    assert svc.inspect("uno")["Id"] == cid
    with pytest.raises(NotFound):
        svc.inspect("one")
    svc.create("one", {"Image": "busybox"})     # the old name is free again
    again = ContainerService(tmp_path / "c", FakeImages(), FakeLayers(), FakeRuntime())
    again.restore()
    assert again.inspect("uno")["Id"] == cid


def test_top(svc):
    cid = svc.create("t1", {"Image": "busybox"})["Id"]
    with pytest.raises(Conflict, match=f"Container {cid} is not running"):
        svc.top("t1")
    svc.start("t1")
    out = svc.top("t1")
    assert out["Titles"][:2] == ["UID", "PID"] and [int(p[1]) for p in out["Processes"]] == [os.getpid()]
    assert len(out["Processes"][0]) == len(out["Titles"])


def test_parse_ps_output():
    out = "USER PID COMMAND\nroot 1 sleep 100\nroot 2 other thing\n"
    assert parse_ps_output(out, {1}) == {"Titles": ["USER", "PID", "COMMAND"],
                                         "Processes": [["root", "1", "sleep 100"]]}
    with pytest.raises(TugboatError, match="Couldn't find PID field"):
        parse_ps_output("USER CMD\n", {1})


def test_changes(svc):
    svc.create("ch", {"Image": "busybox"})
    assert svc.changes("ch") == [{"Path": "/new", "Kind": 1}, {"Path": "/etc", "Kind": 0},
                                 {"Path": "/gone", "Kind": 2}]


def test_prune(svc):
    keep = svc.create("run", {"Image": "busybox"})["Id"]
    svc.start(keep)
    a = svc.create("a1", {"Image": "busybox", "Labels": {"x": "1"}})["Id"]
    b = svc.create("b1", {"Image": "busybox"})["Id"]
    with pytest.raises(InvalidArgument, match="Invalid filter 'foo'"):
        svc.prune({"foo": ["1"]})
    assert svc.prune({"label!": ["x"]}) == {"ContainersDeleted": [b], "SpaceReclaimed": 10}
    assert svc.prune({"until": ["1h"]}) == {"ContainersDeleted": None, "SpaceReclaimed": 0}
    assert svc.prune() == {"ContainersDeleted": [a], "SpaceReclaimed": 10}
    assert [c["Id"] for c in svc.list(all=True)] == [keep]


def test_stats(svc, monkeypatch):
    from tugboat.engine import container_stats

    monkeypatch.setattr(container_stats, "INTERVAL_SECONDS", 0.01)
    cid = svc.create("st", {"Image": "busybox"})["Id"]
    (only,) = list(svc.stats("st", stream=False))
    assert only["read"] == "0001-01-01T00:00:00Z" and only["memory_stats"] == {} and only["name"] == "/st"
    svc.start("st")
    (s,) = list(svc.stats("st", stream=False))
    assert s["id"] == cid and s["cpu_stats"]["cpu_usage"]["total_usage"] == 2000
    assert s["precpu_stats"]["cpu_usage"]["total_usage"] == 1000 and s["preread"] != "0001-01-01T00:00:00Z"
    assert s["cpu_stats"]["online_cpus"] == 2 and s["cpu_stats"]["system_cpu_usage"] > 0
    assert s["memory_stats"]["usage"] == 4096 and s["memory_stats"]["limit"] < 1 << 62
    assert s["pids_stats"] == {"current": 2}
    assert s["blkio_stats"]["io_service_bytes_recursive"] == [{"major": 8, "minor": 0, "op": "Read", "value": 5}]
    (one,) = list(svc.stats("st", stream=False, one_shot=True))
    assert one["precpu_stats"]["cpu_usage"]["total_usage"] == 0
    it = svc.stats("st", stream=True)
    first, second = next(it), next(it)
    assert second["precpu_stats"] == first["cpu_stats"]
    svc._runtime.exit(cid, 0)
    # dockerd's collector: empty samples (name and id only) while stopped, the end once removed
    stopped = next(it)
    assert stopped["read"] == "0001-01-01T00:00:00Z" and stopped["id"] == cid and stopped["memory_stats"] == {}
    svc.remove("st")
    assert all(x["read"] == "0001-01-01T00:00:00Z" for x in it)
