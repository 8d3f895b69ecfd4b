"""GET /containers/{id}/attach/ws: the RFC 6455 handshake, output as binary frames carrying the raw
stream (no multiplexing, with or without a TTY), stdin from masked client frames, logs/stream, the
closing frame; driven by a hand-written websocket client (stdlib socket + the framing)."""

from __future__ import annotations

import base64
import hashlib
import os
import socket
import struct
import time
from typing import Any
from urllib.parse import urlparse

from .helpers import ok, wait_until

TEXT, BINARY, CLOSE, PING, PONG = 0x1, 0x2, 0x8, 0x9, 0xA


def client_frame(opcode: int, payload: bytes) -> bytes:
    """A masked client frame, written out here independently of the server's code."""
    key = os.urandom(4)
    n = len(payload)
    head = bytes([0x80 | opcode])
    if n < 126:
        head += bytes([0x80 | n])
    elif n < 65536:
        head += bytes([0x80 | 126]) + struct.pack(">H", n)
    else:
        head += bytes([0x80 | 127]) + struct.pack(">Q", n)
    return head + key + bytes(b ^ key[i % 4] for i, b in enumerate(payload))


class WSClient:
    def __init__(self, host: str, path: str) -> None:
        self.sock = socket.socket(socket.AF_UNIX)
        self.sock.settimeout(10)
        self.sock.connect(urlparse(host).path)
        self.key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall((f"GET /v1.41{path} HTTP/1.1\r\nHost: docker\r\nUpgrade: websocket\r\n"
                           f"Connection: Upgrade\r\nSec-WebSocket-Key: {self.key}\r\n"
                           "Sec-WebSocket-Version: 13\r\nOrigin: http://localhost\r\n\r\n").encode())
        self.buf = b""
        while b"\r\n\r\n" not in self.buf:
            chunk = self.sock.recv(4096)
            assert chunk, f"connection closed during the handshake: {self.buf!r}"
            self.buf += chunk
        self.head, _, self.buf = self.buf.partition(b"\r\n\r\n")

    def accepted(self) -> bool:
        want = base64.b64encode(hashlib.sha1((self.key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").encode())
                                .digest()).decode()
        lines = self.head.decode().split("\r\n")
        return lines[0] == "HTTP/1.1 101 Switching Protocols" and f"Sec-WebSocket-Accept: {want}" in lines

    def _take(self, n: int) -> bytes:
        while len(self.buf) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError
            self.buf += chunk
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def frame(self) -> tuple[int, bytes]:
        b0, b1 = self._take(2)
        assert b0 & 0x80 and not b1 & 0x80, "server frames are final and unmasked"
        n = b1 & 0x7F
        if n == 126:
            n = struct.unpack(">H", self._take(2))[0]
        elif n == 127:
            n = struct.unpack(">Q", self._take(8))[0]
        return b0 & 0x0F, self._take(n)

    def read_until(self, needle: bytes, timeout: float = 10) -> bytes:
        got = b""
        deadline = time.monotonic() + timeout
        while needle not in got:
            assert time.monotonic() < deadline, f"no {needle!r} in {got!r}"
            opcode, payload = self.frame()
            assert opcode == BINARY, (opcode, payload)
            got += payload
        return got

    def send(self, opcode: int, payload: bytes) -> None:
        self.sock.sendall(client_frame(opcode, payload))

    def close(self) -> None:
        self.sock.close()


def test_non_tty_output_stdin_and_close(tugd, tug, new_name):
    name = new_name("ws")
    ok(tug("run", "-d", "-i", "--name", name, "busybox", "sh", "-c",
           "echo ready; while read l; do echo out:$l; echo err:$l >&2; done; echo bye"))
    wait_until(lambda: "ready" in ok(tug("logs", name)).stdout, what="the container's first line")
    ws = WSClient(tugd.host, f"/containers/{name}/attach/ws?stdin=1&stdout=1&stderr=1&stream=1&logs=1")
    try:
        assert ws.accepted(), ws.head
        assert ws.read_until(b"ready\n") == b"ready\n"        # logs replayed, raw: no 8-byte headers
        ws.send(TEXT, b"one\n")
        got = ws.read_until(b"err:one\n")
        assert b"out:one\n" in got and not got.startswith(b"\x01")
        ws.send(BINARY, b"two\n")
        assert b"out:two\n" in ws.read_until(b"err:two\n")
        ws.send(PING, b"p")
        assert ws.frame() == (PONG, b"p")
    finally:
        ws.close()
    ok(tug("rm", "-f", name))


def test_tty_stdin_once_and_closing_frame(tugd, tug, new_name):
    name = new_name("wstty")
    ok(tug("create", "-t", "-i", "--name", name, "busybox", "sh", "-c", "read l; echo got:$l; exit 3"))
    ws = WSClient(tugd.host, f"/containers/{name}/attach/ws?stdin=1&stdout=1&stderr=1&stream=1")
    try:
        assert ws.accepted()
        ok(tug("start", name))
        ws.send(TEXT, b"hello\r")
        got = ws.read_until(b"got:hello")
        assert b"\r\n" in got                                  # the pty's line discipline: a TTY stream
        while True:                                            # output ends with a close frame (1000)
            opcode, payload = ws.frame()
            if opcode == CLOSE:
                assert payload == struct.pack(">H", 1000)
                break
            assert opcode == BINARY
    finally:
        ws.close()
    assert ok(tug("wait", name)).stdout.strip() == "3"
    ok(tug("rm", name))


def test_logs_only_and_errors(tugd, tug, new_name):
    name = new_name("wslogs")
    ok(tug("run", "--name", name, "busybox", "sh", "-c", "echo a; echo b >&2"))
    ws = WSClient(tugd.host, f"/containers/{name}/attach/ws?stdout=1&stderr=1&logs=1")
    try:
        got = b""
        while True:
            opcode, payload = ws.frame()
            if opcode == CLOSE:
                break
            got += payload
        assert sorted(got.splitlines()) == [b"a", b"b"]
    finally:
        ws.close()
    missing = WSClient(tugd.host, "/containers/no-such-container-ws/attach/ws?stdout=1")
    assert missing.head.startswith(b"HTTP/1.1 404 ")
    missing.close()
    plain = socket.socket(socket.AF_UNIX)
    plain.connect(urlparse(tugd.host).path)
    plain.sendall(f"GET /v1.41/containers/{name}/attach/ws?stdout=1 HTTP/1.1\r\nHost: d\r\n\r\n".encode())
    answer: Any = plain.recv(4096)
    plain.close()
    assert answer.startswith(b"HTTP/1.1 400 ")
    ok(tug("rm", name))
