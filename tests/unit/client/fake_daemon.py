"""A scripted HTTP/1.1 server on a unix socket: each test supplies a handler that sees the parsed
request and writes raw bytes back, so the client is tested against exact wire formats."""

from __future__ import annotations

import os
import socket
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    sock: socket.socket = field(repr=False)
    rfile: object = field(repr=False)


Handler = Callable[[Request], bytes | None]


def _read_request(rfile: Any) -> Request | None:
    line = rfile.readline()
    if not line:
        return None
    method, path, _ = line.decode().split(" ", 2)
    headers: dict[str, str] = {}
    while True:
        h = rfile.readline()
        if h in (b"\r\n", b""):
            break
        k, _, v = h.decode().partition(":")
        headers[k.strip().lower()] = v.strip()
    body = b""
    if headers.get("transfer-encoding") == "chunked":
        while True:
            size = int(rfile.readline().strip(), 16)
            if size == 0:
                rfile.readline()
                break
            body += rfile.read(size)
            rfile.readline()
    elif "content-length" in headers:
        body = rfile.read(int(headers["content-length"]))
    return Request(method, path, headers, body, None, rfile)  # type: ignore[arg-type]


class FakeDaemon:
    def __init__(self, handler: Handler, api_version: str = "1.41") -> None:
        self.handler = handler
        self.api_version = api_version
        self.dir = tempfile.mkdtemp(prefix="tug-fake-")
        self.path = os.path.join(self.dir, "d.sock")
        self.server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.server.bind(self.path)
        self.server.listen(8)
        self.requests: list[Request] = []
        self.connections = 0
        self._threads: list[threading.Thread] = []
        t = threading.Thread(target=self._accept, daemon=True)
        t.start()

    @property
    def host(self) -> str:
        return f"unix://{self.path}"

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.server.accept()
            except OSError:
                return
            self.connections += 1
            t = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            t.start()
            self._threads.append(t)

    def _serve(self, conn: socket.socket) -> None:
        with conn, conn.makefile("rb") as rfile:
            while True:
                try:
                    req = _read_request(rfile)
                except (OSError, ValueError):
                    return
                if req is None:
                    return
                req.sock = conn
                self.requests.append(req)
                if req.path == "/_ping":
                    conn.sendall(b"HTTP/1.1 200 OK\r\nApi-Version: " + self.api_version.encode()
                                 + b"\r\nContent-Length: 2\r\n\r\nOK")
                    continue
                out = self.handler(req)
                if out is None:
                    return
                conn.sendall(out)

    def close(self) -> None:
        self.server.close()
        os.unlink(self.path)
        os.rmdir(self.dir)
        for t in self._threads:
            t.join(2)


def json_response(body: bytes, status: str = "200 OK") -> bytes:
    return (f"HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
            .encode() + body)
