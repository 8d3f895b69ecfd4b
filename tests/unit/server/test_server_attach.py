"""Hijacked attach: preamble, TTY and multiplexed output, stdin pumping, half-close."""

import json
import socket
import struct

from server_http_helpers import RawConn, UnixHTTPConnection


def create(sock_path, tty):
    c = UnixHTTPConnection(sock_path)
    try:
        c.request("POST", "/containers/create", body=json.dumps({"Image": "b", "Tty": tty, "OpenStdin": True}))
        return json.loads(c.getresponse().read())["Id"]
    finally:
        c.close()


UPGRADE = {"Upgrade": "tcp", "Connection": "Upgrade"}
ATTACH_Q = "stream=1&stdin=1&stdout=1&stderr=1"


def test_attach_tty_upgrade_stdin_and_half_close(server, engine, sock_path):
    cid = create(sock_path, tty=True)
    with RawConn(sock_path) as rc:
        rc.send_request("POST", f"/v1.41/containers/{cid}/attach?{ATTACH_Q}&detachKeys=ctrl-a", UPGRADE)
        status, headers = rc.read_head()
        assert status == "HTTP/1.1 101 UPGRADED"
        assert headers == {"content-type": "application/vnd.docker.raw-stream", "connection": "Upgrade",
                           "upgrade": "tcp"}
        att = engine.containers.attaches[-1]
        assert engine.containers.calls[-1] == ("attach", cid, True, True, True, True, False)
        att.out.put((1, b"$ "))
        assert rc.read_exact(2) == b"$ "                 # raw bytes, no framing with a TTY
        rc.sock.sendall(b"echo hi\n")
        assert rc.read_exact(8) == b"echo hi\n"          # the fake echoes stdin like a terminal
        rc.sock.shutdown(socket.SHUT_WR)                 # client half-close = stdin EOF
        assert att.stdin_closed.wait(3)
        assert bytes(att.stdin) == b"echo hi\n"
        att.out.put((1, b"bye\n"))                       # output still flows after the half-close
        att.out.put(None)
        assert rc.read_to_eof() == b"bye\n"              # every byte, then the server closes
        assert att.closed.wait(3)


def test_attach_preamble_exact(server, engine, sock_path):
    cid = create(sock_path, tty=True)
    with RawConn(sock_path) as rc:
        rc.send_request("POST", f"/containers/{cid}/attach?stream=1&stdout=1", UPGRADE)
        expected = (b"HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.raw-stream\r\n"
                    b"Connection: Upgrade\r\nUpgrade: tcp\r\n\r\n")
        assert rc.read_exact(len(expected)) == expected
        engine_att = engine.containers.attaches[-1]
        engine_att.out.put(None)
        assert rc.read_to_eof() == b""
    with RawConn(sock_path) as rc:
        rc.send_request("POST", f"/containers/{cid}/attach?stream=1&stdout=1")
        expected = b"HTTP/1.1 200 OK\r\nContent-Type: application/vnd.docker.raw-stream\r\n\r\n"
        assert rc.read_exact(len(expected)) == expected
        engine.containers.attaches[-1].out.put((1, b"x"))
        engine.containers.attaches[-1].out.put(None)
        assert rc.read_to_eof() == b"x"


def test_attach_multiplexed(server, engine, sock_path):
    cid = create(sock_path, tty=False)
    with RawConn(sock_path) as rc:
        rc.send_request("POST", f"/containers/{cid}/attach?{ATTACH_Q}", UPGRADE)
        status, _ = rc.read_head()
        assert status == "HTTP/1.1 101 UPGRADED"
        att = engine.containers.attaches[-1]
        rc.sock.sendall(b"line1\n")
        att.out.put((1, b"hello\n"))
        att.out.put((2, b"oops\n"))
        assert rc.read_exact(8 + 6) == b"\x01\x00\x00\x00" + struct.pack(">I", 6) + b"hello\n"
        assert rc.read_exact(8 + 5) == b"\x02\x00\x00\x00" + struct.pack(">I", 5) + b"oops\n"
        rc.sock.shutdown(socket.SHUT_WR)
        assert att.stdin_closed.wait(3)
        assert bytes(att.stdin) == b"line1\n"
        att.out.put(None)
        assert rc.read_to_eof() == b""


def test_attach_without_stdin_ignores_input(server, engine, sock_path):
    cid = create(sock_path, tty=False)
    with RawConn(sock_path) as rc:
        rc.send_request("POST", f"/containers/{cid}/attach?stream=1&stdout=1&stderr=1", UPGRADE)
        rc.read_head()
        att = engine.containers.attaches[-1]
        rc.sock.sendall(b"ignored")
        rc.sock.shutdown(socket.SHUT_WR)
        att.out.put((1, b"a"))
        att.out.put(None)
        assert rc.read_to_eof() == b"\x01\x00\x00\x00\x00\x00\x00\x01a"
        assert bytes(att.stdin) == b"" and not att.stdin_closed.is_set()


def test_attach_errors_before_hijack_are_http(conn):
    conn.request("POST", "/containers/nosuch/attach?stream=1&stdout=1", headers=UPGRADE)
    r = conn.getresponse()
    assert r.status == 404 and json.loads(r.read()) == {"message": "No such container: nosuch"}


def test_client_gone_during_attach(server, engine, sock_path):
    cid = create(sock_path, tty=True)
    rc = RawConn(sock_path)
    rc.send_request("POST", f"/containers/{cid}/attach?stream=1&stdout=1", UPGRADE)
    rc.read_head()
    att = engine.containers.attaches[-1]
    rc.close()
    att.out.put((1, b"x" * 300_000))                   # the write fails: the attach is released
    assert att.closed.wait(3)
    c = UnixHTTPConnection(sock_path)
    try:
        c.request("GET", "/_ping")
        assert c.getresponse().read() == b"OK"
    finally:
        c.close()


def test_detach_keys_tty(server, engine, sock_path):
    cid = create(sock_path, tty=True)
    with RawConn(sock_path) as rc:
        rc.send_request("POST", f"/containers/{cid}/attach?stream=1&stdin=1&stdout=1", UPGRADE)
        rc.read_head()
        att = engine.containers.attaches[-1]
        rc.sock.sendall(b"ab\x10")             # ctrl-p held back until the sequence completes or breaks
        rc.sock.sendall(b"x\x10\x11")          # broken, then the full default ctrl-p,ctrl-q
        assert att.closed.wait(3)
        assert rc.read_to_eof() == b"ab\x10x"  # the fake echoes what reached stdin; then the server closes
        assert bytes(att.stdin) == b"ab\x10x"
        assert not att.stdin_closed.is_set()   # detaching leaves the container's stdin open


def test_custom_detach_keys_and_invalid(server, engine, sock_path, conn):
    cid = create(sock_path, tty=True)
    with RawConn(sock_path) as rc:
        rc.send_request("POST", f"/containers/{cid}/attach?stream=1&stdin=1&stdout=1&detachKeys=ctrl-a,q",
                        UPGRADE)
        rc.read_head()
        att = engine.containers.attaches[-1]
        rc.sock.sendall(b"\x10\x11\x01q")
        assert att.closed.wait(3)
        assert bytes(att.stdin) == b"\x10\x11"
    conn.request("POST", f"/containers/{cid}/attach?stream=1&stdin=1&detachKeys=ctrl-bogus", headers=UPGRADE)
    r = conn.getresponse()
    assert r.status == 400
    assert json.loads(r.read()) == {"message": "Invalid detach keys (ctrl-bogus) provided"}


def test_no_detach_without_tty(server, engine, sock_path):
    cid = create(sock_path, tty=False)
    with RawConn(sock_path) as rc:
        rc.send_request("POST", f"/containers/{cid}/attach?stream=1&stdin=1&stdout=1", UPGRADE)
        rc.read_head()
        att = engine.containers.attaches[-1]
        rc.sock.sendall(b"\x10\x11")
        rc.sock.shutdown(socket.SHUT_WR)
        assert att.stdin_closed.wait(3)
        assert bytes(att.stdin) == b"\x10\x11" and not att.closed.is_set()
        att.out.put(None)
        assert rc.read_to_eof() == b""
