"""The stdlib-only transport: version negotiation, keep-alive, chunked bodies both ways, errors,
and connection hijacking, against a scripted unix-socket daemon."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from tugboat.client import APIError, Client, DaemonUnreachable
from tugboat.client.streams import STDERR, STDOUT, demux, frame
from tugboat.client.transport import resolve_host

from .fake_daemon import FakeDaemon, Request, json_response


@pytest.fixture
def daemon() -> Iterator[FakeDaemon]:
    d = FakeDaemon(lambda r: json_response(b"[]"))
    yield d
    d.close()


def test_negotiates_min_of_server_and_141(daemon: FakeDaemon) -> None:
    daemon.api_version = "1.45"
    c = Client(daemon.host)
    assert c.containers.list() == []
    assert daemon.requests[0].path == "/_ping"
    assert daemon.requests[1].path == "/v1.41/containers/json"
    c.close()
    daemon.api_version = "1.40"
    c = Client(daemon.host)
    c.containers.list(all=True)
    assert daemon.requests[-1].path == "/v1.40/containers/json?all=1"
    c.close()


def test_keep_alive_reuses_one_connection(daemon: FakeDaemon) -> None:
    c = Client(daemon.host)
    for _ in range(5):
        c.images.list()
    c.close()
    assert daemon.connections == 1


def test_error_carries_status_and_daemon_message() -> None:
    d = FakeDaemon(lambda r: json_response(b'{"message":"No such container: x"}', "404 Not Found"))
    c = Client(d.host)
    try:
        with pytest.raises(APIError) as e:
            c.containers.inspect("x")
        assert e.value.status == 404 and e.value.message == "No such container: x"
    finally:
        c.close()
        d.close()


def test_chunked_response_streams_json_lines() -> None:
    msgs = [b'{"status":"a"}\n', b'{"status":"b"}\n{"stream":"c"}']

    def handler(r: Request) -> bytes:
        body = b"".join(b"%x\r\n%s\r\n" % (len(m), m) for m in msgs) + b"0\r\n\r\n"
        return b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + body

    d = FakeDaemon(handler)
    c = Client(d.host)
    try:
        got = list(c.images.create({"fromImage": "x"}).iter_json())
        assert got == [{"status": "a"}, {"status": "b"}, {"stream": "c"}]
        assert len(c.transport._idle) == 1  # the connection went back to the pool
    finally:
        c.close()
        d.close()


def test_streamed_upload_is_chunked() -> None:
    d = FakeDaemon(lambda r: json_response(b'{"stream":"Loaded image: x:y\\n"}'))
    c = Client(d.host)
    try:
        c.images.load(iter([b"abc", b"", b"defg"])).read()
        req = d.requests[-1]
        assert req.headers["transfer-encoding"] == "chunked"
        assert req.body == b"abcdefg"
        c.containers.create({"Image": "busybox"}, name="web")
        req = d.requests[-1]
        assert req.path == "/v1.41/containers/create?name=web"
        assert json.loads(req.body) == {"Image": "busybox"}
    finally:
        c.close()
        d.close()


def test_hijack_bidirectional_with_half_close() -> None:
    def handler(r: Request) -> None:
        assert r.headers["upgrade"] == "tcp" and r.headers["connection"] == "Upgrade"
        # headers and the first frame in one write: the client must not lose the leftover bytes
        r.sock.sendall(b"HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.raw-stream\r\n"
                       b"Connection: Upgrade\r\nUpgrade: tcp\r\n\r\n" + frame(STDOUT, b"hello\n"))
        data = b""
        while chunk := r.sock.recv(100):  # until the client half-closes
            data += chunk
        r.sock.sendall(frame(STDERR, b"got " + data))
        return None

    d = FakeDaemon(handler)
    c = Client(d.host)
    try:
        h = c.containers.attach("x", stdin=True)
        h.sendall(b"input")
        h.close_write()
        chunks = []
        while data := h.recv():
            chunks.append(data)
        h.close()
        assert list(demux(chunks)) == [(STDOUT, b"hello\n"), (STDERR, b"got input")]
        assert "stdin=1" in d.requests[-1].path
    finally:
        c.close()
        d.close()


def test_unreachable_message() -> None:
    c = Client("unix:///nonexistent/tug.sock")
    with pytest.raises(DaemonUnreachable) as e:
        c.containers.list()
    assert str(e.value) == ("Cannot connect to the Docker daemon at unix:///nonexistent/tug.sock. "
                            "Is the docker daemon running?")


def test_host_precedence(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TUG_HOST", raising=False)
    monkeypatch.delenv("DOCKER_HOST", raising=False)
    assert resolve_host() == "unix:///run/tugboat/tugboat.sock"
    monkeypatch.setenv("DOCKER_HOST", "unix:///d.sock")
    assert resolve_host() == "unix:///d.sock"
    monkeypatch.setenv("TUG_HOST", "unix:///t.sock")
    assert resolve_host() == "unix:///t.sock"
    assert resolve_host("unix:///flag.sock") == "unix:///flag.sock"


def test_demux_handles_split_frames() -> None:
    data = frame(STDOUT, b"abc") + frame(STDERR, b"de")
    pieces = [data[i:i + 3] for i in range(0, len(data), 3)]
    assert list(demux(pieces)) == [(STDOUT, b"abc"), (STDERR, b"de")]


def test_api_version_from_environment_skips_ping(daemon: FakeDaemon, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKER_API_VERSION", "1.40")
    c = Client(daemon.host)
    c.containers.list()
    c.close()
    assert [r.path for r in daemon.requests] == ["/v1.40/containers/json"]


def test_jsonlite_round_trip() -> None:
    from tugboat.client import jsonlite
    obj = {"a": [1, 2.5, None, True, "é\n"], "b": {}}
    assert jsonlite.loads(jsonlite.dumps(obj)) == obj
    assert jsonlite.loads(b' {"x": 1}\n') == {"x": 1}
    assert jsonlite.raw_decode('{"a":1}{"b":2}') == ({"a": 1}, 7)
    with pytest.raises(ValueError):
        jsonlite.loads("{} x")
    with pytest.raises(ValueError):
        jsonlite.loads("nope")


def test_run_waiter_survives_a_daemon_that_holds_back_wait_headers() -> None:
    import time

    from tugboat.cli.commands.run import _Waiter
    from tugboat.cli.context import Context

    def handler(r: Request) -> bytes:
        time.sleep(0.4)  # headers only once the container exited
        return json_response(b'{"StatusCode":3,"Error":null}')

    d = FakeDaemon(handler)
    ctx = Context(d.host)
    try:
        w = _Waiter(ctx, "abc", "next-exit")
        w.HEADER_WAIT = 0.1
        t0 = time.monotonic()
        w.begin()
        assert time.monotonic() - t0 < 0.35 and w.resp is None
        assert w.result() == {"StatusCode": 3, "Error": None}
        assert d.requests[-1].path == "/v1.41/containers/abc/wait?condition=next-exit"
    finally:
        ctx.close()
        w.t.close()
        d.close()
