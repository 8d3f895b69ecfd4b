"""docker-py 7 against the server with a fake engine: the wire details it relies on
(version=auto, 201/204 codes, chunked wait, multiplexed logs, 101 attach)."""

import threading
import time
from collections.abc import Iterator

import docker
import docker.errors
import pytest
from server_fakes import LogEntry


@pytest.fixture
def client(server, sock_path) -> Iterator[docker.APIClient]:
    c = docker.APIClient(base_url=f"unix://{sock_path}", version="auto", timeout=10)
    yield c
    c.close()


def test_ping_version(client):
    assert client.ping() is True
    assert client.api_version == "1.41"
    assert client.version()["Version"] == "20.10.99-tugboat"


def test_create_start_wait_logs(client, engine):
    created = client.create_container("busybox", command=["echo", "hi"], name="web", labels={"a": "1"})
    cid = created["Id"]
    name, body, _platform = engine.containers.calls[-1][1:]
    assert name == "web" and body["Image"] == "busybox" and body["Cmd"] == ["echo", "hi"]
    assert "HostConfig" in body or "Labels" in body
    client.start(cid)
    assert engine.containers.items[cid].running
    assert [c["Id"] for c in client.containers()] == [cid]
    assert engine.containers.calls[-1][0:3] == ("list", False, -1)
    engine.containers.items[cid].logs.extend([LogEntry("stdout", b"hi\n", 1), LogEntry("stderr", b"e\n", 2)])
    assert client.logs(cid) == b"hi\ne\n"
    assert client.logs(cid, stderr=False) == b"hi\n"

    def finish() -> None:
        while not engine.containers.waiters:
            time.sleep(0.01)
        engine.containers.waiters[-1].status = 7
        engine.containers.waiters[-1].done.set()

    threading.Thread(target=finish, daemon=True).start()
    assert client.wait(cid) == {"StatusCode": 7, "Error": None}


def test_errors_surface_as_docker_errors(client):
    with pytest.raises(docker.errors.NotFound, match="No such container: nope"):
        client.inspect_container("nope")
    with pytest.raises(docker.errors.APIError) as ei:
        client.inspect_container("boom")
    assert ei.value.response.status_code == 500


def test_logs_stream_follow(client, engine):
    cid = client.create_container("busybox", tty=True)["Id"]
    stream = client.logs(cid, stream=True, follow=True)
    engine.containers.follow_queue.put(LogEntry("stdout", b"one\n", 1))
    assert b"".join(next(stream) for _ in range(4)) == b"one\n"   # docker-py reads TTY logs bytewise
    engine.containers.follow_queue.put(None)
    assert list(stream) == []


def test_attach_logs(client, engine):
    cid = client.create_container("busybox")["Id"]

    def feed() -> None:
        while not engine.containers.attaches:
            time.sleep(0.01)
        a = engine.containers.attaches[-1]
        a.out.put((1, b"out\n"))
        a.out.put((2, b"err\n"))
        a.out.put(None)

    threading.Thread(target=feed, daemon=True).start()
    assert client.attach(cid, stdout=True, stderr=True, stream=False, logs=True) == b"out\nerr\n"
