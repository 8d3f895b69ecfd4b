"""Just enough HTTP/1.1 for a local daemon: keep-alive, Content-Length and chunked bodies both ways.

Why not http.client: importing it pulls in email.parser, ssl and friends (~17 ms), a third of
`tug`'s start-up budget. The daemon speaks well-formed HTTP/1.1 over a local socket, so a small
reader over a buffered socket file is all the CLI needs.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable
    from typing import Any


class ProtocolError(OSError):
    """The peer closed the connection or sent something that is not HTTP/1.1."""


class Reader:
    """Buffered reads over a socket (what socket.makefile gives, without importing `socket`)."""

    def __init__(self, sock: Any) -> None:
        self._sock = sock
        self._buf = bytearray()
        self._eof = False

    def _fill(self) -> bool:
        if self._eof:
            return False
        data = self._sock.recv(65536)
        if not data:
            self._eof = True
            return False
        self._buf += data
        return True

    def readline(self, limit: int = 65537) -> bytes:
        while True:
            i = self._buf.find(b"\n")
            if i >= 0 or len(self._buf) >= limit:
                end = min(i + 1 if i >= 0 else len(self._buf), limit)
                line = bytes(self._buf[:end])
                del self._buf[:end]
                return line
            if not self._fill():
                line = bytes(self._buf)
                self._buf.clear()
                return line

    def read1(self, n: int = 65536) -> bytes:
        """Up to n bytes: what is buffered, else one recv."""
        if not self._buf:
            self._fill()
        data = bytes(self._buf[:n])
        del self._buf[:n]
        return data

    def read(self, n: int) -> bytes:
        while len(self._buf) < n and self._fill():
            pass
        data = bytes(self._buf[:n])
        del self._buf[:n]
        return data

    def close(self) -> None:
        self._buf.clear()


class RawResponse:
    """Status, lower-cased headers and a body reader that knows where the body ends."""

    def __init__(self, conn: Connection, method: str) -> None:
        self._conn = conn
        rf = conn.rfile
        assert rf is not None
        line = rf.readline(65537)
        if not line:
            raise ProtocolError("server closed the connection")
        parts = line.decode("latin-1").rstrip("\r\n").split(" ", 2)
        if len(parts) < 2 or not parts[0].startswith("HTTP/"):
            raise ProtocolError(f"bad status line {line!r}")
        self.version = parts[0]
        self.status = int(parts[1])
        self.reason = parts[2] if len(parts) > 2 else ""
        self.headers: dict[str, str] = {}
        while True:
            h = rf.readline(65537)
            if h in (b"\r\n", b"\n", b""):
                break
            k, _, v = h.decode("latin-1").partition(":")
            self.headers[k.strip().lower()] = v.strip()
        te = self.headers.get("transfer-encoding", "").lower()
        self.chunked = "chunked" in te
        cl = self.headers.get("content-length")
        self.length: int | None = int(cl) if cl is not None and not self.chunked else None
        conn_hdr = self.headers.get("connection", "").lower()
        self.will_close = "close" in conn_hdr or (self.version == "HTTP/1.0" and "keep-alive" not in conn_hdr)
        if method == "HEAD" or self.status in (204, 304) or 100 <= self.status < 200:
            self.length = 0
            self.chunked = False
        if not self.chunked and self.length is None:
            self.will_close = True  # body runs until EOF
        self._chunk_left = 0
        self._done = self.length == 0

    def isclosed(self) -> bool:
        return self._done

    def getheader(self, name: str, default: str | None = None) -> str | None:
        return self.headers.get(name.lower(), default)

    def read1(self, n: int = 65536) -> bytes:
        """Up to n bytes, as soon as some are available; b"" at the end of the body."""
        if self._done:
            return b""
        rf = self._conn.rfile
        assert rf is not None
        if self.chunked:
            if self._chunk_left == 0:
                size_line = rf.readline(1026)
                if not size_line:
                    raise ProtocolError("connection closed inside chunked body")
                size = int(size_line.split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    while rf.readline(65537) not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    self._done = True
                    return b""
                self._chunk_left = size
            data = rf.read1(min(n, self._chunk_left))
            if not data:
                raise ProtocolError("connection closed inside chunked body")
            self._chunk_left -= len(data)
            if self._chunk_left == 0:
                rf.readline(3)  # CRLF after the chunk
            return data
        if self.length is not None:
            data = rf.read1(min(n, self.length))
            if not data:
                raise ProtocolError("connection closed before end of body")
            self.length -= len(data)
            if self.length == 0:
                self._done = True
            return data
        data = rf.read1(n)
        if not data:
            self._done = True
        return data

    def read(self) -> bytes:
        if self.length is not None and not self.chunked:
            rf = self._conn.rfile
            assert rf is not None
            data = rf.read(self.length)
            if len(data) < self.length:
                raise ProtocolError("connection closed before end of body")
            self.length = 0
            self._done = True
            return data
        parts: list[bytes] = []
        while True:
            d = self.read1(1 << 20)
            if not d:
                return b"".join(parts)
            parts.append(d)

    def close(self) -> None:
        self._conn.close()
        self._done = True


class Connection:
    """One persistent connection; `factory` returns a connected socket."""

    def __init__(self, factory: Callable[[], Any]) -> None:
        self._factory = factory
        self.sock: Any = None
        self.rfile: Any = None

    def connect(self) -> None:
        self.sock = self._factory()
        self.rfile = Reader(self.sock)

    def request(self, method: str, url: str, headers: dict[str, str], body: Any = None) -> RawResponse:
        self.send(method, url, headers, body)
        return RawResponse(self, method)

    def send(self, method: str, url: str, headers: dict[str, str], body: Any = None) -> None:
        """Send a request; read the answer later with RawResponse(conn, method)."""
        if self.sock is None:
            self.connect()
        assert self.sock is not None
        head = [f"{method} {url} HTTP/1.1", "Host: api"]
        stream: Iterable[bytes] | None = None
        data = b""
        if body is None:
            if method in ("POST", "PUT"):
                head.append("Content-Length: 0")
        elif isinstance(body, (bytes, bytearray, str)):
            data = body.encode() if isinstance(body, str) else bytes(body)
            head.append(f"Content-Length: {len(data)}")
        else:
            stream = body.read_chunks() if hasattr(body, "read_chunks") else body
            head.append("Transfer-Encoding: chunked")
        head += [f"{k}: {v}" for k, v in headers.items()]
        payload = ("\r\n".join(head) + "\r\n\r\n").encode("latin-1")
        if stream is None:
            self.sock.sendall(payload + data)
        else:
            self.sock.sendall(payload)
            for chunk in stream:
                if chunk:
                    self.sock.sendall(b"%x\r\n" % len(chunk) + chunk + b"\r\n")
            self.sock.sendall(b"0\r\n\r\n")

    def close(self) -> None:
        if self.rfile is not None:
            self.rfile.close()
            self.rfile = None
        if self.sock is not None:
            try:
                self.sock.close()
            except OSError:
                pass
            self.sock = None


def quote(s: str, safe: str = "") -> str:
    """urllib.parse.quote without importing urllib (RFC 3986 unreserved characters kept)."""
    keep = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~" + safe)
    out = []
    for ch in s:
        if ch in keep:
            out.append(ch)
        else:
            out.extend(f"%{b:02X}" for b in ch.encode("utf-8"))
    return "".join(out)


def urlencode(pairs: list[tuple[str, str]]) -> str:
    return "&".join(f"{quote(k)}={quote(v)}" for k, v in pairs)
