"""A tiny raw HTTP client for tests that must see exactly when bytes arrive
(wait headers before the body, hijacked attach), and http.client over AF_UNIX."""

import http.client
import socket


class RawConn:
    def __init__(self, path: str, timeout: float = 5):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.connect(path)
        self.buf = b""

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> "RawConn":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def send_request(self, method: str, path: str, headers: dict[str, str] | None = None,
                     body: bytes = b"") -> None:
        lines = [f"{method} {path} HTTP/1.1", "Host: docker"]
        for k, v in (headers or {}).items():
            lines.append(f"{k}: {v}")
        if body:
            lines.append(f"Content-Length: {len(body)}")
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode() + body)

    def _fill(self) -> bool:
        got = self.sock.recv(65536)
        self.buf += got
        return bool(got)

    def read_head(self) -> tuple[str, dict[str, str]]:
        while b"\r\n\r\n" not in self.buf:
            if not self._fill():
                raise EOFError(f"connection closed before headers: {self.buf!r}")
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        status, *rest = head.decode().split("\r\n")
        headers = {}
        for line in rest:
            k, _, v = line.partition(":")
            headers[k.strip().lower()] = v.strip()
        return status, headers

    def read_exact(self, n: int) -> bytes:
        while len(self.buf) < n:
            if not self._fill():
                raise EOFError(f"wanted {n} bytes, have {self.buf!r}")
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def read_line(self) -> bytes:
        while b"\r\n" not in self.buf:
            if not self._fill():
                raise EOFError(f"no line in {self.buf!r}")
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def read_chunk(self) -> bytes:
        """One chunk of a chunked body; b"" for the terminating chunk."""
        size = int(self.read_line().split(b";")[0], 16)
        data = self.read_exact(size)
        assert self.read_line() == b""
        return data

    def read_chunked_body(self) -> bytes:
        out = b""
        while True:
            c = self.read_chunk()
            if not c:
                return out
            out += c

    def read_to_eof(self) -> bytes:
        while self._fill():
            pass
        out, self.buf = self.buf, b""
        return out


class UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path: str, timeout: float = 10):
        super().__init__("localhost", timeout=timeout)
        self._path = path

    def connect(self) -> None:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(self.timeout)
        s.connect(self._path)
        self.sock = s


def raw_exchange(path: str, data: bytes, timeout: float = 5) -> bytes:
    """Send raw bytes, read until the server closes (or the timeout)."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    try:
        s.connect(path)
        s.sendall(data)
        out = b""
        while True:
            try:
                got = s.recv(65536)
            except TimeoutError:
                break
            if not got:
                break
            out += got
        return out
    finally:
        s.close()
