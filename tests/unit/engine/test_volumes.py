"""VolumeService: the local driver's volumes with dockerd's shapes, rules and messages.
The option-volume test mounts a tmpfs (root, as the other runtime/store tests)."""

from __future__ import annotations

import re

import pytest

from tugboat.engine.events import EventBus
from tugboat.engine.volumes import VolumeService
from tugboat.errors import Conflict, InvalidArgument, NotFound
from tugboat.runtime.mounts import is_mounted


@pytest.fixture
def users():
    return {}


@pytest.fixture
def bus():
    return EventBus()


@pytest.fixture
def svc(tmp_path, users, bus):
    return VolumeService(tmp_path / "volumes", events=bus, in_use=lambda n: users.get(n, []))


def _events(sub):
    out = []
    while (m := sub.get(0)) is not None:
        out.append((m["Action"], m["Actor"]["ID"], m["Actor"]["Attributes"]))
    return out


def test_create_inspect_shape(svc, tmp_path, bus):
    _, sub = bus.subscribe()
    v = svc.create("data", labels={"a": "b"})
    assert list(v) == ["CreatedAt", "Driver", "Labels", "Mountpoint", "Name", "Options", "Scope"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", v["CreatedAt"])
    assert {k: v[k] for k in v if k != "CreatedAt"} == {
        "Driver": "local", "Labels": {"a": "b"}, "Mountpoint": str(tmp_path / "volumes" / "data" / "_data"),
        "Name": "data", "Options": None, "Scope": "local"}
    assert (tmp_path / "volumes" / "data" / "_data").is_dir()
    assert svc.create("data") == v          # an existing volume is returned as it is
    anon = svc.create()
    assert re.fullmatch(r"[0-9a-f]{64}", anon["Name"]) and anon["Labels"] is None
    assert svc.inspect("data") == v
    assert _events(sub) == [("create", "data", {"driver": "local"}), ("create", "data", {"driver": "local"}),
                            ("create", anon["Name"], {"driver": "local"})]


@pytest.mark.parametrize("name,kw,exc,msg", [
    ("bad/name", {}, InvalidArgument, 'create bad/name: "bad/name" includes invalid characters for a local '
                                      'volume name, only "[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed. If you '
                                      'intended to pass a host directory, use absolute path'),
    ("a", {}, InvalidArgument, "create a: volume name is too short, names should be at least two "
                               "alphanumeric characters"),
    ("v2", {"driver": "other"}, NotFound, 'create v2: error looking up volume plugin other: plugin "other" not found'),
    ("v2", {"driver_opts": {"foo": "1"}}, InvalidArgument, 'create v2: invalid option: "foo"'),
    ("v2", {"driver_opts": {"type": "tmpfs"}}, InvalidArgument, 'create v2: missing required option: "device"'),
])
def test_create_errors(svc, name, kw, exc, msg):
    with pytest.raises(exc) as e:
        svc.create(name, **kw)
    assert e.value.message == msg
    assert svc.list()["Volumes"] == []


def test_list_filters(svc, users):
    svc.create("alpha", labels={"tier": "db"})
    svc.create("beta", labels={"tier": "web", "x": ""})
    svc.create("gamma")
    users["beta"] = ["c1"]

    def names(**f):
        return [v["Name"] for v in svc.list({k.replace("_", "-"): v for k, v in f.items()})["Volumes"]]

    assert names() == ["alpha", "beta", "gamma"]
    assert names(dangling=["true"]) == ["alpha", "gamma"]
    assert names(dangling=["0"]) == ["beta"]
    assert names(name=["ta"]) == ["beta"]
    assert names(driver=["local"]) == ["alpha", "beta", "gamma"]
    assert names(driver=["nfs"]) == []
    assert names(label=["tier"]) == ["alpha", "beta"]
    assert names(label=["tier=db"]) == ["alpha"]
    assert svc.list()["Warnings"] is None
    with pytest.raises(InvalidArgument, match=re.escape("Invalid filter 'foo'")):
        svc.list({"foo": ["1"]})
    with pytest.raises(InvalidArgument, match=re.escape("Invalid filter 'dangling=[maybe]'")):
        svc.list({"dangling": ["maybe"]})


def test_remove(svc, users, bus):
    svc.create("vol")
    users["vol"] = ["c1", "c2"]
    with pytest.raises(Conflict) as e:
        svc.remove("vol", force=True)
    assert e.value.message == "remove vol: volume is in use - [c1, c2]"
    users.clear()
    _, sub = bus.subscribe()
    svc.remove("vol")
    assert _events(sub) == [("destroy", "vol", {"driver": "local"})]
    with pytest.raises(NotFound, match="get vol: no such volume"):
        svc.remove("vol")
    svc.remove("vol", force=True)   # force hides a missing volume
    with pytest.raises(NotFound, match="get vol: no such volume"):
        svc.inspect("vol")


def test_prune_removes_unused_volumes_without_options(svc, users, bus):
    svc.create("used")
    svc.create("keep", labels={"keep": "1"})
    svc.create("opts", driver_opts={"type": "tmpfs", "device": "tmpfs"})
    svc.create("a1")
    (svc.get("a1").data / "f").write_bytes(b"12345")
    users["used"] = ["c1"]
    _, sub = bus.subscribe()
    assert svc.prune({"label!": ["keep"]}) == {"VolumesDeleted": ["a1"], "SpaceReclaimed": 5}
    assert ("prune", "", {"reclaimed": "5"}) in _events(sub)
    assert svc.prune({"label": ["keep=1"]}) == {"VolumesDeleted": ["keep"], "SpaceReclaimed": 0}
    assert sorted(v["Name"] for v in svc.list()["Volumes"]) == ["opts", "used"]
    with pytest.raises(InvalidArgument, match="Invalid filter 'all'"):
        svc.prune({"all": ["true"]})


def test_volumes_survive_a_restart(svc, tmp_path):
    svc.create("persist", driver_opts={"type": "tmpfs", "device": "tmpfs", "o": "size=1m"}, labels={"k": "v"})
    again = VolumeService(tmp_path / "volumes")
    assert again.inspect("persist") == svc.inspect("persist")
    assert again.inspect("persist")["Options"] == {"device": "tmpfs", "o": "size=1m", "type": "tmpfs"}


def test_option_volume_is_mounted_while_used(svc):
    svc.create("tv", driver_opts={"type": "tmpfs", "device": "tmpfs", "o": "size=1m"})
    data = svc.get("tv").data
    try:
        assert svc.mount("tv", "c1") == str(data)
        assert is_mounted(data)
        svc.mount("tv", "c2")
        assert svc.unmount("tv", "c1") is True
        assert is_mounted(data)               # c2 still uses it
        assert svc.unmount("tv", "c1") is False
        assert svc.unmount("tv", "c2") is True
        assert not is_mounted(data)
        svc.mount("tv", "c3")
        svc.adopt("tv", "c4")
        svc.unmount("tv", "c3")
        assert is_mounted(data)               # c4 (re-adopted after a tugd restart) keeps it
        fresh = VolumeService(svc._root)      # a restarted tugd whose containers all ended
        fresh.sweep()
        assert not is_mounted(data)
    finally:
        from tugboat.runtime.mounts import unmount
        unmount(data)


def test_bad_option_mount_fails_with_the_drivers_words(svc):
    svc.create("bad", driver_opts={"type": "nosuchfs", "device": "x"})
    with pytest.raises(Exception, match="error while mounting volume '.*bad/_data': failed to mount local volume"):
        svc.mount("bad", "c1")
    assert not is_mounted(svc.get("bad").data)


def test_usage_for_system_df(svc, users):
    svc.create("plain")
    (svc.get("plain").data / "f").write_bytes(b"abc")
    svc.create("opts", driver_opts={"type": "tmpfs", "device": "tmpfs"})
    users["plain"] = ["c1", "c2"]
    (u,) = svc.usage()                     # option volumes are left out, as dockerd's LocalVolumesSize
    assert u["Name"] == "plain" and u["UsageData"] == {"RefCount": 2, "Size": 3}
