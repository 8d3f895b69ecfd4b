"""The /networks routes (server/routes/networks.py) over HTTP and docker-py, backed by the real
NetworkService with fake kernel parts, and connect/disconnect handed to the container service."""

import json
import sys
from collections.abc import Iterator
from pathlib import Path

import docker
import docker.errors
import pytest
from server_fakes import FakeEngine

from tugboat.engine.network_record import NetworkSettingsConfig
from tugboat.engine.networks import NetworkService

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "engine"))
from _network_fakes import FakeFirewall, FakeLinks  # noqa: E402


@pytest.fixture
def engine(tmp_path: Path) -> FakeEngine:
    e = FakeEngine()
    e.networks = NetworkService(tmp_path / "network", NetworkSettingsConfig(),  # type: ignore[attr-defined]
                                FakeFirewall(), None, links=FakeLinks())
    return e


@pytest.fixture
def client(server, sock_path) -> Iterator[docker.DockerClient]:
    c = docker.DockerClient(base_url=f"unix://{sock_path}", version="1.41", timeout=10)
    yield c
    c.close()


def call(conn, method, path, body=None):
    conn.request(method, path, body=body, headers={"Content-Type": "application/json"} if body else {})
    r = conn.getresponse()
    data = r.read()
    return r.status, (json.loads(data) if data else None), r


def test_create_inspect_list_remove(conn):
    status, body, _ = call(conn, "POST", "/v1.41/networks/create", json.dumps({"Name": "n1", "CheckDuplicate": True}))
    assert status == 201 and set(body) == {"Id", "Warning"}
    nid = body["Id"]
    status, body, _ = call(conn, "POST", "/v1.41/networks/create", json.dumps({"Name": "n1", "CheckDuplicate": True}))
    assert (status, body) == (409, {"message": "network with name n1 already exists"})
    status, body, _ = call(conn, "GET", "/v1.41/networks/n1?verbose=true&scope=local")
    assert status == 200 and body["Id"] == nid and body["Containers"] == {}
    status, body, _ = call(conn, "GET", '/v1.41/networks?filters={"name":["n1"]}')
    assert status == 200 and [n["Name"] for n in body] == ["n1"]
    status, body, _ = call(conn, "GET", '/v1.41/networks?filters={"foo":["x"]}')
    assert (status, body) == (400, {"message": "Invalid filter 'foo'"})
    status, body, _ = call(conn, "DELETE", "/v1.41/networks/bridge")
    assert (status, body) == (403, {"message": "bridge is a pre-defined network and cannot be removed"})
    status, body, r = call(conn, "DELETE", "/v1.41/networks/n1")
    assert status == 204 and body is None
    status, body, _ = call(conn, "GET", "/v1.41/networks/n1")
    assert (status, body) == (404, {"message": "network n1 not found"})


def test_create_bodies(conn):
    status, body, _ = call(conn, "POST", "/v1.41/networks/create")
    assert (status, body) == (400, {"message": "got EOF while reading request body"})
    status, body, _ = call(conn, "POST", "/v1.41/networks/create", "[1]")
    assert status == 400 and "cannot unmarshal" in body["message"]
    status, body, _ = call(conn, "POST", "/v1.41/networks/create", json.dumps({"Name": "x", "Driver": "foo"}))
    assert (status, body) == (404, {"message": 'plugin "foo" not found'})


def test_prune_route(conn, engine):
    engine.networks.create({"Name": "p1"})
    status, body, _ = call(conn, "POST", '/v1.41/networks/prune?filters={"label":["none"]}')
    assert (status, body) == (200, {"NetworksDeleted": None})
    status, body, _ = call(conn, "POST", "/v1.41/networks/prune")
    assert (status, body) == (200, {"NetworksDeleted": ["p1"]})


def test_connect_disconnect_go_to_the_container_service(conn, engine):
    calls = []
    engine.containers.connect_network = lambda c, n, cfg: calls.append(("connect", c, n, cfg))
    engine.containers.disconnect_network = lambda c, n, force: calls.append(("disconnect", c, n, force))
    status, body, r = call(conn, "POST", "/v1.41/networks/bridge/connect", json.dumps(
        {"Container": "web", "EndpointConfig": {"Aliases": ["db"]}}))
    assert (status, body) == (200, None) and r.getheader("Content-Type") is None
    status, body, _ = call(conn, "POST", "/v1.41/networks/bridge/disconnect", json.dumps(
        {"Container": "web", "Force": True}))
    assert (status, body) == (200, None)
    assert calls == [("connect", "web", "bridge", {"Aliases": ["db"]}), ("disconnect", "web", "bridge", True)]
    status, body, _ = call(conn, "POST", "/v1.41/networks/bridge/connect")
    assert (status, body) == (400, {"message": "got EOF while reading request body"})


def test_docker_py_networks(client):
    net = client.networks.create("dp1", labels={"a": "b"}, internal=True,
                                 ipam=docker.types.IPAMConfig(pool_configs=[
                                     docker.types.IPAMPool(subnet="10.201.0.0/24", gateway="10.201.0.254")]))
    assert net.name == "dp1" and net.attrs["Internal"] is True
    got = client.networks.get(net.id)
    assert got.attrs["IPAM"]["Config"] == [{"Subnet": "10.201.0.0/24", "Gateway": "10.201.0.254"}]
    assert got.attrs["Labels"] == {"a": "b"}
    assert sorted(n.name for n in client.networks.list()) == ["bridge", "dp1", "host", "none"]
    assert [n.name for n in client.networks.list(names=["dp1"])] == ["dp1"]
    with pytest.raises(docker.errors.APIError) as e:
        client.networks.create("dp2", ipam=docker.types.IPAMConfig(pool_configs=[
            docker.types.IPAMPool(subnet="10.201.0.0/16")]))
    assert e.value.status_code == 403 and "Pool overlaps" in str(e.value)
    with pytest.raises(docker.errors.NotFound):
        client.networks.get("nope")
    assert client.networks.prune() == {"NetworksDeleted": ["dp1"]}
    with pytest.raises(docker.errors.NotFound):
        net.remove()
