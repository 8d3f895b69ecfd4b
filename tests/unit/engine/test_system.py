"""/version and /info shapes, as `docker version` and `docker info` render them."""

from __future__ import annotations

from tugboat.config import DaemonConfig
from tugboat.engine.system import SystemService, engine_id


def service(tmp_path):
    cfg = DaemonConfig(data_root=tmp_path / "root")
    return SystemService(cfg, container_counts=lambda: {"running": 2, "paused": 0, "stopped": 1},
                         image_count=lambda: 4, storage_driver="overlay2")


def test_version_shape(tmp_path):
    v = service(tmp_path).version()
    assert v["Platform"] == {"Name": "Tugboat Engine"}
    assert v["ApiVersion"] == "1.41" and v["MinAPIVersion"] == "1.12" and v["Os"] == "linux"
    assert v["Arch"] == "amd64" and v["GoVersion"].startswith("python3.")
    engine = v["Components"][0]
    assert engine["Name"] == "Engine" and engine["Version"] == v["Version"]
    assert set(engine["Details"]) >= {"ApiVersion", "MinAPIVersion", "Os", "Arch", "KernelVersion",
                                      "GitCommit", "GoVersion", "BuildTime", "Experimental"}
    for key in ("GitCommit", "KernelVersion", "BuildTime"):
        assert isinstance(v[key], str)


def test_info_shape(tmp_path):
    info = service(tmp_path).info()
    assert (info["Containers"], info["ContainersRunning"], info["ContainersStopped"]) == (3, 2, 1)
    assert info["Images"] == 4 and info["Driver"] == "overlay2"
    assert all(isinstance(p, list) and len(p) == 2 for p in info["DriverStatus"])
    assert info["CgroupDriver"] == "cgroupfs" and info["CgroupVersion"] in ("1", "2")
    assert info["OSType"] == "linux" and info["LoggingDriver"] == "json-file"
    assert info["Runtimes"] == {"runc": {"path": "runc"}} and info["DefaultRuntime"] == "runc"
    assert info["Swarm"]["LocalNodeState"] == "inactive" and info["Warnings"] == []
    assert isinstance(info["NCPU"], int) and isinstance(info["MemTotal"], int) and info["MemTotal"] > 0
    assert info["DockerRootDir"] == str(tmp_path / "root")
    assert isinstance(info["Plugins"]["Volume"], list) and isinstance(info["Labels"], list)
    for key in ("RuncCommit", "ContainerdCommit", "InitCommit"):
        assert set(info[key]) == {"ID", "Expected"}
    assert isinstance(info["RegistryConfig"]["IndexConfigs"], dict)


def test_engine_id_is_stable(tmp_path):
    a = engine_id(tmp_path)
    assert a == engine_id(tmp_path) and len(a.split(":")) == 12
