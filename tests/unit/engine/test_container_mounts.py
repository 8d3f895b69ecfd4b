"""A container's mounts: parsing -v/--mount, dockerd's precedence, volumes made at create, copy-up."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from types import SimpleNamespace

import pytest

from tugboat.engine.container_mounts import ContainerVolumes, MountPoint, mount_points, plan, recorded
from tugboat.engine.events import EventBus
from tugboat.engine.volumes import VolumeService
from tugboat.errors import InvalidArgument


def test_binds_and_mounts(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    hc = {"Binds": [f"{src}:/data:ro", f"{tmp_path}/new:/new", f"{src}:/p:rslave"],
          "Mounts": [{"Type": "bind", "Source": str(src), "Target": "/m2", "ReadOnly": True},
                     {"Type": "tmpfs", "Target": "/t", "TmpfsOptions": {"SizeBytes": 1024, "Mode": 0o1777}}]}
    pts = mount_points(hc)
    assert [p.to_api() for p in pts] == [
        {"Type": "bind", "Source": str(src), "Destination": "/data", "Mode": "ro", "RW": False,
         "Propagation": "rprivate"},
        {"Type": "bind", "Source": f"{tmp_path}/new", "Destination": "/new", "Mode": "", "RW": True,
         "Propagation": "rprivate"},
        {"Type": "bind", "Source": str(src), "Destination": "/p", "Mode": "rslave", "RW": True,
         "Propagation": "rslave"},
        {"Type": "bind", "Source": str(src), "Destination": "/m2", "Mode": "", "RW": False,
         "Propagation": "rprivate"},
        {"Type": "tmpfs", "Source": "", "Destination": "/t", "Mode": "", "RW": True, "Propagation": ""},
    ]
    assert pts[0].to_oci() == {"destination": "/data", "type": "bind", "source": str(src),
                               "options": ["rbind", "rprivate", "ro"]}
    assert pts[4].to_oci()["options"] == ["nosuid", "nodev", "noexec", "size=1024", "mode=1777"]


def test_volume_specs():
    named, anon, ro = mount_points({"Binds": ["data:/srv", "/cache", "logs:/var/log:ro,nocopy"]})
    assert (named.type, named.name, named.named, named.mode, named.rw, named.copy_data) == \
        ("volume", "data", True, "z", True, True)
    assert (anon.type, anon.name, anon.named, anon.mode, anon.destination) == ("volume", "", False, "z", "/cache")
    assert (ro.rw, ro.copy_data, ro.mode) == (False, False, "ro,nocopy")
    (m,) = mount_points({"Mounts": [{"Type": "volume", "Source": "v", "Target": "/m", "ReadOnly": True,
                                     "VolumeOptions": {"NoCopy": True, "Labels": {"a": "b"},
                                                       "DriverConfig": {"Options": {"type": "tmpfs"}}}}]})
    assert (m.name, m.rw, m.mode, m.copy_data, m.propagation) == ("v", False, "z", False, "")
    assert m.volume_labels == (("a", "b"),) and m.volume_options == (("type", "tmpfs"),)
    assert MountPoint.from_record(m.to_record()) == m


@pytest.mark.parametrize("binds,err,msg", [
    (["/tmp:x"], "TugboatError", "invalid volume specification: '/tmp:x': invalid mount config for type "
                                 "\"bind\": invalid mount path: 'x' mount path must be absolute"),
    (["/tmp:/x:bogus"], "TugboatError", "invalid mode: bogus"),
    (["a:b:c:d"], "TugboatError", "invalid volume specification: 'a:b:c:d'"),
    (["/tmp:/x", "vol:/x"], "InvalidArgument", "Duplicate mount point: /x"),
])
def test_bad_binds(binds, err, msg):
    from tugboat import errors

    with pytest.raises(getattr(errors, err)) as e:
        mount_points({"Binds": binds})
    assert type(e.value).__name__ == err and msg in e.value.message


def test_bad_mounts():
    with pytest.raises(InvalidArgument, match="bind source path does not exist: /nonexist"):
        mount_points({"Mounts": [{"Type": "bind", "Source": "/nonexist", "Target": "/m"}]})
    with pytest.raises(InvalidArgument, match="BindOptions must not be specified"):
        mount_points({"Mounts": [{"Type": "volume", "Target": "/m", "BindOptions": {"Propagation": "shared"}}]})


def test_plan_precedence():
    """volumes-from first, then -v/--mount replace them; VOLUME entries only where nothing is mounted."""
    other = [MountPoint("volume", "/v/a/_data", "/a", True, "z", "", name="a", driver="local", named=True),
             MountPoint("volume", "/v/b/_data", "/b", True, "z", "", name="b", driver="local", named=True)]
    pts = plan({"VolumesFrom": ["other:ro"], "Binds": ["c:/b"]}, {"/b": {}, "/d/": {}},
               lambda ref: other if ref == "other" else [])
    by = {p.destination: p for p in pts}
    assert set(by) == {"/a", "/b", "/d"}
    assert (by["/a"].name, by["/a"].rw, by["/a"].mode, by["/a"].copy_data) == ("a", False, "", False)
    assert by["/b"].name == "c"
    assert (by["/d"].name, by["/d"].mode, by["/d"].copy_data) == ("", "", True)
    with pytest.raises(InvalidArgument, match="invalid mode: rx"):
        plan({"VolumesFrom": ["other:rx"]}, None, lambda ref: other)


@pytest.fixture
def vols(tmp_path):
    bus = EventBus()
    users: dict[str, list[str]] = {}
    svc = VolumeService(tmp_path / "volumes", events=bus, in_use=lambda n: users.get(n, []))
    return SimpleNamespace(svc=svc, bus=bus, users=users, cv=ContainerVolumes(svc))


def _rootfs(tmp_path: Path) -> Path:
    root = tmp_path / "rootfs"
    (root / "data" / "sub").mkdir(parents=True)
    (root / "data" / "sub" / "f").write_text("image content\n")
    os.symlink("sub/f", root / "data" / "link")
    os.chmod(root / "data", 0o750)
    os.chown(root / "data" / "sub", 1000, 1000)
    os.symlink("/etc", root / "escape")
    return root


def test_create_makes_volumes_and_copies_up(tmp_path, vols):
    root = _rootfs(tmp_path)
    pts = plan({"Binds": ["named:/data", "/escape"]}, {"/anon/": {}, "/data": {}}, lambda ref: [])
    recs = vols.cv.create("c1", pts, lambda: contextlib.nullcontext(str(root)))
    rec = SimpleNamespace(id="c1", mounts=recs, host_config={})
    mps = {m.destination: m for m in recorded(rec)}
    assert set(mps) == {"/data", "/escape", "/anon"}
    data = Path(mps["/data"].source)
    assert data == tmp_path / "volumes" / "named" / "_data"
    assert (data / "sub" / "f").read_text() == "image content\n"
    assert os.readlink(data / "link") == "sub/f"
    assert os.stat(data).st_mode & 0o777 == 0o750
    assert os.stat(data / "sub").st_uid == 1000
    # a symlink in the image cannot point the copy at the host's /etc
    assert list(Path(mps["/escape"].source).iterdir()) == []
    anon = mps["/anon"].name
    assert len(anon) == 64 and not mps["/anon"].named
    assert vols.svc.get(anon).anonymous

    # a volume that is no longer empty is not filled again; nocopy never is
    (data / "sub" / "f").write_text("changed\n")
    vols.cv.create("c2", plan({"Binds": ["named:/data", "fresh:/data2:nocopy"]}, None, lambda r: []),
                   lambda: contextlib.nullcontext(str(root)))
    assert (data / "sub" / "f").read_text() == "changed\n"
    assert list((tmp_path / "volumes" / "fresh" / "_data").iterdir()) == []


def test_start_stop_remove(tmp_path, vols):
    recs = vols.cv.create("c1", plan({"Binds": ["keep:/k:ro"]}, {"/anon": {}}, lambda r: []),
                          lambda: contextlib.nullcontext(str(tmp_path)))
    rec = SimpleNamespace(id="c1", mounts=recs, host_config={})
    _, sub = vols.bus.subscribe()
    oci = vols.cv.start(rec)
    assert {m["destination"]: m["options"] for m in oci} == {"/k": ["rbind", "rprivate", "ro"],
                                                           "/anon": ["rbind", "rprivate"]}
    vols.cv.stop(rec)
    vols.cv.stop(rec)   # a second stop publishes nothing more
    got = []
    while (m := sub.get(0)) is not None:
        got.append((m["Action"], m["Actor"]["ID"], m["Actor"]["Attributes"]))
    anon = next(m.name for m in recorded(rec) if not m.named)
    assert got == [
        ("mount", "keep", {"container": "c1", "destination": "/k", "driver": "local", "propagation": "",
                           "read/write": "false"}),
        ("mount", anon, {"container": "c1", "destination": "/anon", "driver": "local", "propagation": "",
                         "read/write": "true"}),
        ("unmount", "keep", {"container": "c1", "driver": "local"}),
        ("unmount", anon, {"container": "c1", "driver": "local"}),
    ]
    vols.cv.remove(rec, remove_anonymous=False)
    assert {v["Name"] for v in vols.svc.list()["Volumes"]} == {"keep", anon}
    vols.users[anon] = ["other"]          # still used by another container: kept
    vols.cv.remove(rec, remove_anonymous=True)
    assert {v["Name"] for v in vols.svc.list()["Volumes"]} == {"keep", anon}
    vols.users.clear()
    vols.cv.remove(rec, remove_anonymous=True)
    assert [v["Name"] for v in vols.svc.list()["Volumes"]] == ["keep"]


def test_failed_create_removes_its_anonymous_volumes(tmp_path, vols):
    pts = plan({"Binds": ["/a", "bad/name:/b"]}, None, lambda r: [])
    with pytest.raises(InvalidArgument, match="includes invalid characters"):
        vols.cv.create("c1", pts, lambda: contextlib.nullcontext(str(tmp_path)))
    assert vols.svc.list()["Volumes"] == []


def test_volume_driver_applies_to_v_and_volume_entries(tmp_path, vols):
    pts = plan({"Binds": ["x:/x"], "VolumeDriver": "nfsplugin",
                "Mounts": [{"Type": "volume", "Source": "m", "Target": "/m"}]}, {"/anon": {}}, lambda r: [])
    assert {p.destination: p.driver for p in pts} == {"/x": "nfsplugin", "/m": "local", "/anon": "nfsplugin"}
    with pytest.raises(Exception, match='error looking up volume plugin nfsplugin: plugin "nfsplugin" not found'):
        vols.cv.create("c1", pts, lambda: contextlib.nullcontext(str(tmp_path)))
    assert vols.svc.list()["Volumes"] == []
