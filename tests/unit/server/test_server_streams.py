"""Streaming responses: logs, export/save, load/import progress, wait."""

import json
import struct
import threading
import time

import pytest
from server_fakes import LogEntry
from server_http_helpers import RawConn, UnixHTTPConnection

from tugboat.server.responses import frame

T0 = 1_700_000_000_123_456_000   # 2023-11-14T22:13:20.123456Z


def demux(data: bytes) -> list[tuple[int, bytes]]:
    out = []
    while data:
        fd, n = struct.unpack(">BxxxI", data[:8])
        out.append((fd, data[8:8 + n]))
        data = data[8 + n:]
    return out


def make_container(conn, engine, tty=False, logs=()):
    conn.request("POST", "/containers/create?name=c1", body=json.dumps({"Image": "b", "Tty": tty}))
    r = conn.getresponse()
    cid = json.loads(r.read())["Id"]
    engine.containers.items[cid].logs.extend(logs)
    return cid


def test_frame():
    assert frame(1, b"hi") == b"\x01\x00\x00\x00\x00\x00\x00\x02hi"
    assert frame(2, b"") == b"\x02\x00\x00\x00\x00\x00\x00\x00"


LOGS = [LogEntry("stdout", b"out1\n", T0), LogEntry("stderr", b"err1\n", T0 + 1),
        LogEntry("stdout", b"out2\n", T0 + 2)]


def test_logs_multiplexed(conn, engine):
    cid = make_container(conn, engine, tty=False, logs=LOGS)
    conn.request("GET", f"/v1.41/containers/{cid}/logs?stdout=1&stderr=1")
    r = conn.getresponse()
    assert r.status == 200 and r.getheader("Transfer-Encoding") == "chunked"
    assert demux(r.read()) == [(1, b"out1\n"), (2, b"err1\n"), (1, b"out2\n")]
    conn.request("GET", f"/containers/{cid}/logs?stderr=true")
    assert demux(conn.getresponse().read()) == [(2, b"err1\n")]


def test_logs_tty_raw_with_timestamps(conn, engine):
    cid = make_container(conn, engine, tty=True, logs=LOGS)
    conn.request("GET", f"/containers/{cid}/logs?stdout=1&stderr=1&timestamps=1")
    body = conn.getresponse().read()
    assert body.splitlines() == [b"2023-11-14T22:13:20.123456000Z out1",
                                 b"2023-11-14T22:13:20.123456001Z err1",
                                 b"2023-11-14T22:13:20.123456002Z out2"]


def test_logs_params(conn, engine):
    cid = make_container(conn, engine)
    conn.request("GET", f"/containers/{cid}/logs?stdout=1&since=1700000000.5&until=1700000001&tail=10")
    conn.getresponse().read()
    assert engine.containers.calls[-1] == ("logs", cid, True, False, False, 1_700_000_000_500_000_000,
                                           1_700_000_001_000_000_000, 10)
    conn.request("GET", f"/containers/{cid}/logs?stdout=1&tail=all")
    conn.getresponse().read()
    assert engine.containers.calls[-1][-1] == -1
    conn.request("GET", f"/containers/{cid}/logs?stdout=1&since=yesterday")
    assert conn.getresponse().status == 400


def test_logs_needs_a_stream(conn, engine):
    cid = make_container(conn, engine)
    conn.request("GET", f"/containers/{cid}/logs")
    r = conn.getresponse()
    assert r.status == 400
    assert json.loads(r.read()) == {"message": "Bad parameters: you must choose at least one stream"}


def test_logs_follow_streams_and_flushes(server, conn, engine, sock_path):
    cid = make_container(conn, engine, logs=LOGS[:1])
    with RawConn(sock_path) as rc:
        rc.send_request("GET", f"/containers/{cid}/logs?stdout=1&follow=1")
        status, headers = rc.read_head()
        assert status == "HTTP/1.1 200 OK" and headers["transfer-encoding"] == "chunked"
        assert demux(rc.read_chunk()) == [(1, b"out1\n")]
        engine.containers.follow_queue.put(LogEntry("stdout", b"live\n", T0))
        assert demux(rc.read_chunk()) == [(1, b"live\n")]       # flushed per item
        engine.containers.follow_queue.put(None)
        assert rc.read_chunk() == b""


def test_logs_follow_headers_before_first_line(conn, engine, sock_path):
    cid = make_container(conn, engine)
    with RawConn(sock_path, timeout=2) as rc:
        rc.send_request("GET", f"/containers/{cid}/logs?stdout=1&follow=1")
        status, _ = rc.read_head()           # no log line exists yet
        assert status.startswith("HTTP/1.1 200")
        engine.containers.follow_queue.put(None)
        assert rc.read_chunk() == b""


def test_export_and_binary_midstream_error(conn, engine, sock_path):
    conn.request("POST", "/containers/create?name=brokenbox", body=json.dumps({"Image": "b"}))
    conn.getresponse().read()
    cid = make_container(conn, engine)
    conn.request("GET", f"/containers/{cid}/export")
    r = conn.getresponse()
    assert r.getheader("Content-Type") == "application/x-tar"
    assert r.read() == b"tar-part-1tar-part-2"
    # mid-stream failure on a binary stream: the body is cut, never silently complete
    with RawConn(sock_path) as rc:
        rc.send_request("GET", "/containers/brokenbox/export")
        status, _ = rc.read_head()
        assert status.startswith("HTTP/1.1 200")
        assert rc.read_chunk() == b"tar-part-1"
        assert rc.read_to_eof() == b""       # closed without the terminating chunk
    conn.close()
    conn.request("GET", "/_ping")
    assert conn.getresponse().read() == b"OK"


def test_save(conn, engine):
    conn.request("GET", "/images/get?names=a:1&names=localhost:5000/b")
    r = conn.getresponse()
    assert r.status == 200 and r.read() == b"a:1|localhost:5000/b"
    conn.request("GET", "/v1.41/images/busybox:latest/get")
    assert conn.getresponse().read() == b"busybox:latest"
    conn.request("GET", "/images/nosuch:1/get")     # error before the first byte: a real 404
    r = conn.getresponse()
    assert r.status == 404 and json.loads(r.read()) == {"message": "No such image: nosuch:1"}


def test_load_json_lines_and_errors(conn, engine):
    conn.request("POST", "/images/load", body=b"tar-bytes", headers={"Content-Type": "application/x-tar"})
    r = conn.getresponse()
    assert r.status == 200 and r.getheader("Content-Type") == "application/json"
    assert [json.loads(x) for x in r.read().splitlines()] == [{"stream": "Loaded image: busybox:latest\n"}]
    assert engine.images.calls[-1] == ("load", True)          # dockerd's default: quiet
    conn.request("POST", "/images/load?quiet=0", body=b"bad-late")
    r = conn.getresponse()
    assert r.status == 200
    lines = [json.loads(x) for x in r.read().splitlines()]
    assert lines[-1] == {"errorDetail": {"message": "unexpected EOF"}, "error": "unexpected EOF"}
    assert engine.images.calls[-1] == ("load", False)
    conn.request("POST", "/images/load", body=b"bad-early")    # fails before any output: plain 400
    r = conn.getresponse()
    assert r.status == 400 and json.loads(r.read()) == {"message": "invalid tar header"}
    conn.request("GET", "/_ping")
    assert conn.getresponse().read() == b"OK"


def test_wait_headers_before_result(conn, engine, sock_path):
    cid = make_container(conn, engine)
    with RawConn(sock_path) as rc:
        rc.send_request("POST", f"/v1.41/containers/{cid}/wait?condition=next-exit")
        status, headers = rc.read_head()          # arrives while the waiter still blocks
        assert status == "HTTP/1.1 200 OK"
        assert headers["content-type"] == "application/json"
        assert headers["transfer-encoding"] == "chunked"
        waiter = engine.containers.waiters[-1]
        assert engine.containers.calls[-1] == ("wait", cid, "next-exit")
        waiter.status = 3
        waiter.done.set()
        body = rc.read_chunked_body()
        assert json.loads(body) == {"StatusCode": 3, "Error": None}


def test_wait_default_condition_and_errors(conn, engine):
    conn.request("POST", "/containers/nosuch/wait")
    r = conn.getresponse()
    assert r.status == 404 and json.loads(r.read()) == {"message": "No such container: nosuch"}
    cid = make_container(conn, engine)
    def release() -> None:
        while not engine.containers.waiters:
            time.sleep(0.01)
        engine.containers.waiters[-1].done.set()

    threading.Thread(target=release, daemon=True).start()
    conn.request("POST", f"/containers/{cid}/wait")
    r = conn.getresponse()
    assert json.loads(r.read()) == {"StatusCode": 0, "Error": None}
    assert engine.containers.calls[-1] == ("wait", cid, "not-running")


def test_wait_client_disconnect_cancels(conn, engine, sock_path):
    cid = make_container(conn, engine)
    rc = RawConn(sock_path)
    rc.send_request("POST", f"/containers/{cid}/wait")
    rc.read_head()
    waiter = engine.containers.waiters[-1]
    rc.close()
    assert waiter.cancelled.wait(3)
    c2 = UnixHTTPConnection(sock_path)
    try:
        c2.request("GET", "/_ping")
        assert c2.getresponse().read() == b"OK"
    finally:
        c2.close()


@pytest.mark.parametrize("n", [3])
def test_concurrent_blocking_streams_do_not_block_others(conn, engine, sock_path, n):
    cid = make_container(conn, engine)
    conns = [RawConn(sock_path) for _ in range(n)]
    try:
        for rc in conns:
            rc.send_request("POST", f"/containers/{cid}/wait")
            rc.read_head()
        t = time.monotonic()
        c2 = UnixHTTPConnection(sock_path)
        c2.request("GET", "/_ping")
        assert c2.getresponse().read() == b"OK"
        c2.close()
        assert time.monotonic() - t < 1
        for w in engine.containers.waiters:
            w.done.set()
        for rc in conns:
            assert json.loads(rc.read_chunked_body())["StatusCode"] == 0
    finally:
        for rc in conns:
            rc.close()
