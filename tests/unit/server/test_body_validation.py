"""Request bodies are type-checked as dockerd's Go decoder does (server/body_types.py): a wrong JSON
type is a 400 with the decoder's message before the engine sees the body, and every body the real
clients send (client_bodies.json: recorded from the docker 20.10 CLI and docker-py 7) still passes.
The expected messages were checked against dockerd 20.10."""

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from server_fakes import FakeEngine

from tugboat.errors import InvalidArgument
from tugboat.server.body_types import BODY_TYPES, check_body

CLIENT_BODIES = json.loads((Path(__file__).parent / "client_bodies.json").read_text())
ROUTE_TYPES = [(r"^/containers/create$", "ContainerCreate"), (r"^/containers/[^/]+/update$", "ContainerUpdate"),
               (r"^/containers/[^/]+/exec$", "ExecCreate"), (r"^/exec/[^/]+/start$", "ExecStart"),
               (r"^/networks/create$", "NetworkCreate"), (r"^/networks/[^/]+/connect$", "NetworkConnect"),
               (r"^/networks/[^/]+/disconnect$", "NetworkDisconnect"), (r"^/volumes/create$", "VolumeCreate"),
               (r"^/auth$", "Auth"), (r"^/commit$", "Commit")]


def body_type(path: str) -> str:
    return next(name for rx, name in ROUTE_TYPES if re.match(rx, path))


def error(kind: str, body: Any) -> str | None:
    try:
        check_body(kind, body)
    except InvalidArgument as e:
        return str(e)
    return None


GO = "json: cannot unmarshal "


@pytest.mark.parametrize(("kind", "body", "message"), [
    ("ContainerCreate", {"Image": "busybox", "HostConfig": {"PortBindings": "x"}},
     "string into Go struct field HostConfig.HostConfig.PortBindings of type nat.PortMap"),
    ("ContainerCreate", {"Image": "busybox", "HostConfig": {"Mounts": [{"Type": "volume", "Target": "/x",
                                                                         "VolumeOptions": "bad"}]}},
     "string into Go struct field Mount.HostConfig.Mounts.VolumeOptions of type mount.VolumeOptions"),
    ("NetworkCreate", {"Name": "y", "IPAM": "bad"},
     "string into Go struct field NetworkCreateRequest.IPAM of type network.IPAM"),
    ("ContainerCreate", {"Image": 5}, "number into Go struct field ContainerConfigWrapper.Image of type string"),
    ("ContainerCreate", {"image": 5}, "number into Go struct field ContainerConfigWrapper.Image of type string"),
    ("ContainerCreate", {"Cmd": [1]}, "array into Go struct field ContainerConfigWrapper.Cmd of type string"),
    ("ContainerCreate", {"Cmd": {}}, "object into Go struct field ContainerConfigWrapper.Cmd of type string"),
    ("ContainerCreate", {"HostConfig": {"Memory": "1"}},
     "string into Go struct field HostConfig.HostConfig.Memory of type int64"),
    ("ContainerCreate", {"HostConfig": {"Memory": 1.5}},
     "number 1.5 into Go struct field HostConfig.HostConfig.Memory of type int64"),
    ("ContainerCreate", {"HostConfig": {"CpuShares": 99999999999999999999}},
     "number 99999999999999999999 into Go struct field HostConfig.HostConfig.CpuShares of type int64"),
    ("ContainerCreate", {"HostConfig": {"BlkioWeight": -1}},
     "number -1 into Go struct field HostConfig.HostConfig.BlkioWeight of type uint16"),
    ("ContainerCreate", {"Memory": "x"}, "string into Go struct field ContainerConfigWrapper.Memory of type int64"),
    ("ContainerCreate", {"Env": {"a": 1}}, "object into Go struct field ContainerConfigWrapper.Env of type []string"),
    ("ContainerCreate", {"Labels": {"a": 1}}, "number into Go struct field ContainerConfigWrapper.Labels of type string"),
    ("ContainerCreate", {"ExposedPorts": {"80/tcp": 1}},
     "number into Go struct field ContainerConfigWrapper.ExposedPorts of type struct {}"),
    ("ContainerCreate", {"Volumes": []},
     "array into Go struct field ContainerConfigWrapper.Volumes of type map[string]struct {}"),
    ("ContainerCreate", {"Tty": "true"}, "string into Go struct field ContainerConfigWrapper.Tty of type bool"),
    ("ContainerCreate", {"Healthcheck": {"Interval": "1s"}},
     "string into Go struct field HealthConfig.Healthcheck.Interval of type time.Duration"),
    ("ContainerCreate", {"NetworkingConfig": {"EndpointsConfig": {"bridge": {"Aliases": "x"}}}},
     "string into Go struct field EndpointSettings.NetworkingConfig.EndpointsConfig.Aliases of type []string"),
    ("ContainerCreate", {"NetworkingConfig": {"EndpointsConfig": []}}, "array into Go struct field "
     "NetworkingConfig.NetworkingConfig.EndpointsConfig of type map[string]*network.EndpointSettings"),
    ("ContainerCreate", {"HostConfig": {"PortBindings": {"80/tcp": [{"HostPort": 80}]}}},
     "number into Go struct field PortBinding.HostConfig.PortBindings.HostPort of type string"),
    ("ContainerCreate", {"HostConfig": {"PortBindings": {"80/tcp": {}}}},
     "object into Go struct field HostConfig.HostConfig.PortBindings of type []nat.PortBinding"),
    ("ContainerCreate", {"HostConfig": {"NetworkMode": 1}},
     "number into Go struct field HostConfig.HostConfig.NetworkMode of type container.NetworkMode"),
    ("ContainerCreate", {"HostConfig": {"Mounts": ["x"]}},
     "string into Go struct field HostConfig.HostConfig.Mounts of type mount.Mount"),
    ("ContainerCreate", {"HostConfig": {"Mounts": [{"TmpfsOptions": {"Mode": "x"}}]}},
     "string into Go struct field TmpfsOptions.HostConfig.Mounts.TmpfsOptions.Mode of type fs.FileMode"),
    ("ContainerCreate", {"HostConfig": {"Ulimits": [1]}},
     "number into Go struct field HostConfig.HostConfig.Ulimits of type units.Ulimit"),
    ("ContainerCreate", {"HostConfig": {"ConsoleSize": [-1]}},
     "number -1 into Go struct field HostConfig.HostConfig.ConsoleSize of type uint"),
    ("ContainerCreate", {"HostConfig": {"LogConfig": {"Config": {"a": True}}}},
     "bool into Go struct field LogConfig.HostConfig.LogConfig.Config of type string"),
    ("ContainerCreate", [1], "array into Go value of type runconfig.ContainerConfigWrapper"),
    ("ContainerCreate", "x", "string into Go value of type runconfig.ContainerConfigWrapper"),
    ("Commit", {"Cmd": [1]}, "array into Go struct field ContainerConfigWrapper.Cmd of type string"),
    ("ContainerUpdate", {"Memory": "x"}, "string into Go struct field UpdateConfig.Memory of type int64"),
    ("ContainerUpdate", {"RestartPolicy": {"MaximumRetryCount": "x"}},
     "string into Go struct field RestartPolicy.RestartPolicy.MaximumRetryCount of type int"),
    ("ContainerUpdate", [1], "array into Go value of type container.UpdateConfig"),
    ("ExecCreate", {"Cmd": "ls"}, "string into Go struct field ExecConfig.Cmd of type []string"),
    ("ExecStart", {"Detach": "x"}, "string into Go struct field ExecStartCheck.Detach of type bool"),
    ("NetworkConnect", {"Container": 1}, "number into Go struct field NetworkConnect.Container of type string"),
    ("NetworkDisconnect", {"Force": "x"}, "string into Go struct field NetworkDisconnect.Force of type bool"),
    ("VolumeCreate", {"Labels": []}, "array into Go struct field VolumeCreateBody.Labels of type map[string]string"),
    ("VolumeCreate", [1], "array into Go value of type volume.VolumeCreateBody"),
    ("Auth", {"username": 1}, "number into Go struct field AuthConfig.username of type string"),
])
def test_go_decoder_messages(kind, body, message):
    assert error(kind, body) == GO + message


def test_first_error_in_document_order():
    assert error("ContainerCreate", {"Tty": 1, "Image": 2}) == \
        GO + "number into Go struct field ContainerConfigWrapper.Tty of type bool"


@pytest.mark.parametrize(("kind", "body"), [
    ("ContainerCreate", {"Image": "busybox", "Cmd": "ls", "Entrypoint": "", "Shell": None}),
    ("ContainerCreate", {"Cmd": ["sh", None], "HostConfig": {"CapAdd": "NET_ADMIN", "CapDrop": ["ALL"]}}),
    ("ContainerCreate", {"HostConfig": None, "NetworkingConfig": None, "Env": None, "Labels": {"a": None}}),
    ("ContainerCreate", {"HostConfig": {"ConsoleSize": [1, 2, "ignored past the Go array's length"]}}),
    ("ContainerCreate", {"Memory": 0, "Unknown": {"any": ["thing"]}, "hostconfig": {"memory": 5}}),
    ("ContainerCreate", {"HostConfig": {"Memory": 2**63 - 1, "IOMaximumBandwidth": 2**64 - 1}}),
    ("ContainerUpdate", {"Init": "not a field of UpdateConfig"}),
    ("NetworkCreate", {"Name": "n", "ConfigFrom": {"Network": "x"}, "Scope": "local"}),
    ("ExecStart", {}),
])
def test_valid_shapes_pass(kind, body):
    assert error(kind, body) is None


def test_float_into_int_field_even_when_whole():
    assert error("ContainerCreate", {"StopTimeout": 1e3}) == \
        GO + "number 1000.0 into Go struct field ContainerConfigWrapper.StopTimeout of type int"


@pytest.mark.parametrize("recorded", CLIENT_BODIES, ids=lambda r: f"{r['client']}:{r['path']}")
def test_real_client_bodies_pass(recorded):
    assert error(body_type(recorded["path"]), recorded["body"]) is None


def test_every_checked_route_has_recorded_bodies():
    assert {body_type(r["path"]) for r in CLIENT_BODIES} == BODY_TYPES


# -- through the HTTP server -------------------------------------------------------------------


class _Service:
    """Any engine service: records calls, returns the canned result for a method (default {})."""

    def __init__(self, calls: list[tuple], results: dict[str, Any]):
        self._calls = calls
        self._results = results

    def __getattr__(self, name: str) -> Callable[..., Any]:
        def method(*args: Any, **kwargs: Any) -> Any:
            self._calls.append((name, args, kwargs))
            return self._results.get(name, {})
        return method


@pytest.fixture
def engine() -> FakeEngine:
    e = FakeEngine()
    calls: list[tuple] = []
    e.calls = calls   # type: ignore[attr-defined]
    e.containers = _Service(calls, {"create": {"Id": "c" * 64, "Warnings": []},   # type: ignore[assignment]
                                    "commit": "sha256:" + "d" * 64, "connect_network": None,
                                    "disconnect_network": None})
    e.networks = e.volumes = _Service(calls, {"create": {"Id": "n" * 64}})   # type: ignore[attr-defined]
    e.execs = _Service(calls, {"create": {"Id": "e" * 64}, "start": None})   # type: ignore[attr-defined]
    e.images = _Service(calls, {"login": {"Status": "Login Succeeded"}})   # type: ignore[assignment]
    e.commits = _Service(calls, {"commit": "sha256:" + "d" * 64})   # type: ignore[attr-defined]
    return e


def post(conn, path: str, body: Any) -> tuple[int, Any]:
    conn.request("POST", "/v1.41" + path, body=json.dumps(body), headers={"Content-Type": "application/json"})
    r = conn.getresponse()
    data = r.read()
    return r.status, (json.loads(data) if data else None)


@pytest.mark.parametrize(("path", "body", "message"), [
    ("/containers/create", {"Image": "busybox", "HostConfig": {"PortBindings": "x"}},
     "string into Go struct field HostConfig.HostConfig.PortBindings of type nat.PortMap"),
    ("/containers/create", {"Image": "busybox", "HostConfig": {"Mounts": [{"Type": "volume", "Target": "/x",
                                                                           "VolumeOptions": "bad"}]}},
     "string into Go struct field Mount.HostConfig.Mounts.VolumeOptions of type mount.VolumeOptions"),
    ("/networks/create", {"Name": "y", "IPAM": "bad"},
     "string into Go struct field NetworkCreateRequest.IPAM of type network.IPAM"),
    ("/containers/c1/update", {"Memory": "x"}, "string into Go struct field UpdateConfig.Memory of type int64"),
    ("/containers/c1/exec", {"Cmd": "ls"}, "string into Go struct field ExecConfig.Cmd of type []string"),
    ("/exec/e1/start", {"Detach": "x"}, "string into Go struct field ExecStartCheck.Detach of type bool"),
    ("/networks/n1/connect", {"Container": 1}, "number into Go struct field NetworkConnect.Container of type string"),
    ("/networks/n1/disconnect", {"Force": "x"},
     "string into Go struct field NetworkDisconnect.Force of type bool"),
    ("/volumes/create", {"Labels": []}, "array into Go struct field VolumeCreateBody.Labels of type map[string]string"),
    ("/auth", {"username": 1}, "number into Go struct field AuthConfig.username of type string"),
    ("/commit?container=c1", {"Cmd": [1]}, "array into Go struct field ContainerConfigWrapper.Cmd of type string"),
])
def test_routes_answer_400_before_the_engine(conn, engine, path, body, message):
    assert post(conn, path, body) == (400, {"message": GO + message})
    assert engine.calls == []


@pytest.mark.parametrize("recorded", CLIENT_BODIES, ids=lambda r: f"{r['client']}:{r['path']}")
def test_routes_take_real_client_bodies(conn, engine, recorded):
    path = recorded["path"] + ("?container=c1" if recorded["path"] == "/commit" else "")
    status, _ = post(conn, path, recorded["body"])
    assert status in (200, 201)
    assert len(engine.calls) >= 1
