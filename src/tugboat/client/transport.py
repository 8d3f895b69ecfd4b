"""HTTP to the daemon over AF_UNIX (or TCP) with nothing but the standard library.

Why not requests/urllib3 (or even http.client): `tug` start-up time is benchmarked against
`docker`, and those imports cost tens of milliseconds. http11.py speaks keep-alive and chunked
encoding over any socket; hijacking (attach) keeps the socket after a 101 response.
"""

from __future__ import annotations

import os

from tugboat.client import jsonlite
from tugboat.client.errors import APIError, DaemonUnreachable
from tugboat.client.http11 import Connection, ProtocolError, RawResponse, urlencode

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator
    from typing import Any

DEFAULT_HOST = "unix:///run/tugboat/tugboat.sock"
MAX_API_VERSION = "1.41"
USER_AGENT = "Tugboat-Client/0.1.0 (linux)"


def resolve_host(flag: str | None = None) -> str:
    """`-H` wins, then TUG_HOST, then DOCKER_HOST, then tugd's default socket."""
    return flag or os.environ.get("TUG_HOST") or os.environ.get("DOCKER_HOST") or DEFAULT_HOST


def _version_tuple(v: str) -> tuple[int, ...]:
    try:
        return tuple(int(p) for p in v.split("."))
    except ValueError:
        return (0,)


class Response:
    """A response whose body may still be streaming; the connection goes back to the pool once read."""

    def __init__(self, transport: Transport, conn: Connection, resp: RawResponse) -> None:
        self._transport = transport
        self._conn: Connection | None = conn
        self.raw = resp
        self.status = resp.status
        self.headers = resp.headers

    def _done(self) -> None:
        if self._conn is not None:
            conn, self._conn = self._conn, None
            if self.raw.isclosed() and not self.raw.will_close and conn.sock is not None:
                self._transport._release(conn)
            else:
                conn.close()

    def read(self) -> bytes:
        try:
            return self.raw.read()
        except ProtocolError as e:
            raise DaemonUnreachable(self._transport.host, str(e)) from e
        finally:
            self._done()

    def json(self) -> Any:
        data = self.read()
        return jsonlite.loads(data) if data.strip() else None

    def iter_chunks(self, size: int = 32768) -> Iterator[bytes]:
        """Bytes as they arrive (read1 returns what one chunk/recv gives, without waiting for `size`)."""
        try:
            while True:
                data = self.raw.read1(size)
                if not data:
                    return
                yield data
        finally:
            self._done()

    def iter_json(self) -> Iterator[Any]:
        """Newline- or concatenation-separated JSON messages (pull/load/import progress)."""
        buf = ""
        for chunk in self.iter_chunks():
            buf += chunk.decode("utf-8", "replace")
            while True:
                buf = buf.lstrip()
                if not buf:
                    break
                try:
                    obj, end = jsonlite.raw_decode(buf)
                except ValueError:
                    break
                buf = buf[end:]
                yield obj
        if buf.strip():
            yield jsonlite.loads(buf)

    def close(self) -> None:
        self.raw.close()
        self._done()


class Hijacked:
    """The raw socket of an upgraded connection; reads go through the buffered file that may
    already hold bytes received right after the response headers."""

    def __init__(self, sock: Any, rfile: Any) -> None:
        self.sock = sock
        self._rfile = rfile

    def recv(self, n: int = 65536) -> bytes:
        return bytes(self._rfile.read1(n))

    def sendall(self, data: bytes) -> None:
        self.sock.sendall(data)

    def close_write(self) -> None:
        """Half-close: the daemon sees EOF on the container's stdin, output keeps flowing."""
        try:
            self.sock.shutdown(1)  # SHUT_WR
        except OSError:
            pass

    def close(self) -> None:
        try:
            self._rfile.close()
        finally:
            self.sock.close()


class Transport:
    """Pooled keep-alive connections to one daemon, with lazy API version negotiation."""

    def __init__(self, host: str | None = None, version: str | None = None,
                 timeout: float | None = None) -> None:
        self.host = resolve_host(host)
        self.timeout = timeout
        self._idle: list[Connection] = []
        # DOCKER_API_VERSION pins the version and skips the /_ping negotiation, as in docker's CLI
        self._version = version or os.environ.get("TUG_API_VERSION") or os.environ.get("DOCKER_API_VERSION") or None
        self.server_version_header: str | None = None
        if self.host.startswith("unix://"):
            self._unix: str | None = self.host[len("unix://"):]
            self._tcp: tuple[str, int] = ("", 0)
        elif self.host.startswith(("tcp://", "http://")):
            self._unix = None
            hostport = self.host.split("://", 1)[1].rstrip("/")
            h, _, p = hostport.rpartition(":")
            self._tcp = (h or hostport, int(p) if h and p.isdigit() else 2375)
        else:
            raise DaemonUnreachable(self.host, f"unsupported protocol in host {self.host!r}")

    # -- connections ------------------------------------------------------------------------------------
    def _new_conn(self, timeout: float | None = None) -> Connection:
        return Connection(self._raw_socket)

    def _release(self, conn: Connection) -> None:
        self._idle.append(conn)

    def _raw_socket(self) -> Any:
        """A connected socket. For unix sockets the C-level _socket type is enough (the `socket`
        module costs ~5 ms to import: enum, selectors); TCP hosts use socket.create_connection."""
        if self._unix is not None:
            import _socket
            s = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
            try:
                s.connect(self._unix)
            except BaseException:
                s.close()
                raise
            return s
        import socket
        return socket.create_connection(self._tcp)

    def close(self) -> None:
        while self._idle:
            self._idle.pop().close()

    # -- version negotiation ------------------------------------------------------------------------------
    @property
    def version(self) -> str:
        """min(daemon's API version, 1.41), asked once via GET /_ping like the docker CLI does."""
        if self._version is None:
            resp = self._send("GET", "/_ping", None, {}, versioned=False)
            resp.read()
            server = resp.headers.get("api-version") or MAX_API_VERSION
            self.server_version_header = server
            self._version = min(server, MAX_API_VERSION, key=_version_tuple)
        return self._version

    def url(self, path: str, params: dict[str, Any] | None = None, versioned: bool = True) -> str:
        url = f"/v{self.version}{path}" if versioned else path
        if params:
            clean: list[tuple[str, str]] = []
            for k, v in params.items():
                if v is None:
                    continue
                if isinstance(v, bool):
                    v = "1" if v else "0"
                if isinstance(v, (list, tuple)):
                    clean.extend((k, str(x)) for x in v)  # repeated keys (import's `changes`)
                else:
                    clean.append((k, str(v)))
            if clean:
                url += "?" + urlencode(clean)
        return url

    # -- requests -------------------------------------------------------------------------------------
    def _send(self, method: str, path: str, body: Any, headers: dict[str, str], versioned: bool = True,
              params: dict[str, Any] | None = None, timeout: float | None = None) -> Response:
        url = self.url(path, params, versioned)
        hdrs = {"User-Agent": USER_AGENT, **headers}
        payload: Any = body
        if isinstance(body, (dict, list)):
            payload = jsonlite.dumps(body).encode()
            hdrs.setdefault("Content-Type", "application/json")
        elif body is None and method in ("POST", "PUT"):
            payload = b""
        streaming_body = payload is not None and not isinstance(payload, (bytes, str))
        for attempt in (0, 1):
            reused = bool(self._idle)
            conn = self._idle.pop() if reused else self._new_conn(timeout)
            try:
                resp = conn.request(method, url, hdrs, payload)
            except (ProtocolError, BrokenPipeError, ConnectionResetError) as e:
                conn.close()
                # An idle keep-alive connection the daemon closed: retry once on a fresh one.
                if reused and attempt == 0 and not streaming_body:
                    continue
                raise DaemonUnreachable(self.host, str(e)) from e
            except OSError as e:
                conn.close()
                raise DaemonUnreachable(self.host, str(e)) from e
            return Response(self, conn, resp)
        raise AssertionError("unreachable")

    def request(self, method: str, path: str, params: dict[str, Any] | None = None, body: Any = None,
                headers: dict[str, str] | None = None, timeout: float | None = None) -> Response:
        """Send a request; raise APIError for any non-2xx status (after reading the daemon's message).

        `body` may be a dict/list (sent as JSON), bytes, a file object or an iterable of bytes (the two
        last are sent with chunked transfer encoding, so stdin can be streamed without buffering).
        """
        resp = self._send(method, path, body, headers or {}, params=params, timeout=timeout)
        if resp.status >= 400:
            raise APIError.from_body(resp.status, resp.read())
        return resp

    def get_json(self, path: str, params: dict[str, Any] | None = None) -> Any:
        return self.request("GET", path, params).json()

    def post_json(self, path: str, params: dict[str, Any] | None = None, body: Any = None) -> Any:
        return self.request("POST", path, params, body).json()

    def hijack(self, method: str, path: str, params: dict[str, Any] | None = None,
               body: bytes = b"") -> Hijacked:
        """Upgrade a request to a raw bidirectional stream (attach/exec start), as docker's CLI does."""
        url = self.url(path, params)
        conn = self._new_conn()
        hdrs = {"User-Agent": USER_AGENT, "Connection": "Upgrade", "Upgrade": "tcp",
                "Content-Type": "application/json"}
        try:
            resp = conn.request(method, url, hdrs, body)
        except OSError as e:
            conn.close()
            raise DaemonUnreachable(self.host, str(e)) from e
        if resp.status >= 400:
            try:
                data = resp.read()
            except OSError:
                data = b""
            conn.close()
            raise APIError.from_body(resp.status, data)
        assert conn.sock is not None
        return Hijacked(conn.sock, conn.rfile)


def chunks_of(f: Any, size: int = 65536) -> Iterable[bytes]:
    """A binary file as an iterable of blocks (sent with chunked transfer encoding)."""
    while True:
        data = f.read(size)
        if not data:
            return
        yield data
