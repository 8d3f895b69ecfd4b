"""One HTTP/1.1 connection: parse, route, call the handler, write its response.

Built on the stdlib ``http.server.BaseHTTPRequestHandler`` (request line and
header parsing, keep-alive loop, ``Expect: 100-continue``) because it hands us
the raw socket and its buffered reader: connection hijacking for attach needs
exactly that, which WSGI/ASGI frameworks hide.  Everything the base class would
answer in HTML (malformed request lines, oversized headers, unknown methods)
goes through ``send_error``, overridden to answer in dockerd's JSON.

Invariants: a handler exception never escapes (it becomes a mapped HTTP error, a
500 with a log line, or — once a stream has started — an in-band error line or a
cut connection); an unread request body is drained or the connection closed,
so the next request on a kept-alive connection is never parsed from body bytes.
"""

import logging
import select
import socket
import threading
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from tugboat.api.version import API_VERSION, ENGINE_VERSION
from tugboat.errors import InvalidArgument, TugboatError
from tugboat.server.errors import error_body, error_message, status_for
from tugboat.server.request import BodyReader, Request
from tugboat.server.responses import Hijack, Response, StreamResponse
from tugboat.server.router import Router, check_version, split_version

log = logging.getLogger("tugd.server")

SERVER_HEADER = f"Docker/{ENGINE_VERSION} (linux)"
_DRAIN_LIMIT = 1 << 20          # unread body bytes we will skip to keep a connection alive
_NO_BODY = (204, 304)


class App:
    """What every connection needs: the engine and the route table."""

    def __init__(self, engine: Any, router: Router):
        self.engine = engine
        self.router = router


class _DisconnectWatcher(threading.Thread):
    """Calls ``callback`` if the client closes while a stream is blocked (wait)."""

    def __init__(self, sock: socket.socket, callback: Any):
        super().__init__(name="tugd-disconnect-watch", daemon=True)
        self._sock, self._callback = sock, callback
        self._done = threading.Event()

    def run(self) -> None:
        while not self._done.is_set():
            try:
                readable, _, _ = select.select([self._sock], [], [], 0.2)
                if not readable:
                    continue
                gone = self._sock.recv(1, socket.MSG_PEEK) == b""
            except (OSError, ValueError):
                gone = True
            if gone and not self._done.is_set():
                try:
                    self._callback()
                except Exception:
                    log.exception("disconnect callback failed")
            return          # EOF handled, or the client sent more data: stop watching

    def stop(self) -> None:
        self._done.set()


class APIRequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # No HTTP/0.9: requests without a version (and junk) still get a status line.
    default_request_version = "HTTP/1.0"

    # -- base-class hooks --------------------------------------------------------
    def version_string(self) -> str:
        return SERVER_HEADER

    def address_string(self) -> str:
        return "unix"   # AF_UNIX peers have no address (the base class would IndexError)

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s " + format, self.address_string(), *args)

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """Protocol-level errors from the base class, answered in JSON; the connection
        closes because the stream position is unknown."""
        self.close_connection = True
        if message is None:
            message = self.responses.get(code, ("error",))[0]
        log.info("bad request: %d %s", code, message)
        try:
            self._send_full(Response(status=code, body=error_body(message)))
        except OSError:
            pass

    # -- dispatch ------------------------------------------------------------------
    def _dispatch(self) -> None:
        app: App = self.server.app  # type: ignore[attr-defined]
        body: BodyReader | None = None
        try:
            try:
                body = self._body_reader()
                url = urlsplit(self.path)
                version, path = split_version(unquote(url.path))
                route, params = app.router.match(self.command, path)
                check_version(version)
                req = Request(self.command, path, parse_qs(url.query, keep_blank_values=True),
                              self.headers, body, version=version, params=params)
                result = route.handler(app.engine, req)
            except Exception as e:
                self._send_exception(e)
            else:
                self._send_result(result)
        except OSError as e:
            log.debug("client went away: %s", e)
            self.close_connection = True
            return
        if body is None:
            self.close_connection = True
        elif not self.close_connection and not body.exhausted and not body.drain(_DRAIN_LIMIT):
            self.close_connection = True

    do_GET = do_HEAD = do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = _dispatch

    def _body_reader(self) -> BodyReader:
        te = (self.headers.get("Transfer-Encoding") or "").lower()
        if "chunked" in te:
            return BodyReader(self.rfile, chunked=True)
        raw = self.headers.get("Content-Length")
        if raw is None:
            return BodyReader(self.rfile, 0)
        try:
            length = int(raw.strip())
        except ValueError:
            length = -1
        if length < 0:
            raise InvalidArgument(f"invalid Content-Length: {raw!r}")
        return BodyReader(self.rfile, length)

    def _send_result(self, result: Any) -> None:
        if isinstance(result, Response):
            self._send_full(result)
        elif isinstance(result, StreamResponse):
            self._send_stream(result)
        elif isinstance(result, Hijack):
            self._hijack(result)
        else:
            self._send_exception(TypeError(f"handler returned {type(result).__name__}, not a response"))

    def _send_exception(self, exc: BaseException) -> None:
        status = status_for(exc)
        msg = error_message(exc)
        if status == 500:
            if isinstance(exc, TugboatError):
                log.error("%s %s: %s", self.command, self.path, msg)
            else:
                log.error("%s %s: unexpected error", self.command, self.path, exc_info=exc)
        else:
            log.debug("%s %s: %d %s", self.command, self.path, status, msg)
        if status == 304:
            self._send_full(Response(status=304, content_type=None))
        else:
            self._send_full(Response(status=status, body=error_body(msg)))

    # -- writers ---------------------------------------------------------------------
    def _common_headers(self, status: int, content_type: str | None, headers: dict[str, str]) -> None:
        self.send_response(status)     # adds Server and Date
        self.send_header("Api-Version", API_VERSION)
        self.send_header("Docker-Experimental", "false")
        self.send_header("Ostype", "linux")
        if content_type and status not in _NO_BODY:
            self.send_header("Content-Type", content_type)
        for k, v in headers.items():
            self.send_header(k, v)

    def _send_full(self, resp: Response) -> None:
        self._common_headers(resp.status, resp.content_type, resp.headers)
        if resp.status not in _NO_BODY:
            self.send_header("Content-Length", str(len(resp.body)))
        self.end_headers()
        if resp.body and self.command != "HEAD" and resp.status not in _NO_BODY:
            self.wfile.write(resp.body)

    def _send_stream(self, sr: StreamResponse) -> None:
        it = iter(sr.chunks)
        pending: list[bytes] = []
        if sr.prefetch:
            try:
                pending.append(next(it))
            except StopIteration:
                pass
            except Exception as e:
                _close(it)
                self._send_exception(e)
                return
        chunked = self.request_version != "HTTP/1.0"
        self._common_headers(sr.status, sr.content_type, sr.headers)
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
        else:
            self.send_header("Connection", "close")   # the body ends when we close
        self.end_headers()                             # headers go out now (wfile is unbuffered)
        watcher = None
        if sr.on_disconnect is not None:
            watcher = _DisconnectWatcher(self.connection, sr.on_disconnect)
            watcher.start()
        try:
            for chunk in pending:
                self._write_chunk(chunk, chunked)
            while True:
                try:
                    chunk = next(it)
                except StopIteration:
                    break
                except Exception as e:
                    self._stream_failed(sr, e, chunked)
                    return
                self._write_chunk(chunk, chunked)
            if chunked:
                self.wfile.write(b"0\r\n\r\n")
        finally:
            if watcher is not None:
                watcher.stop()
            _close(it)

    def _stream_failed(self, sr: StreamResponse, exc: BaseException, chunked: bool) -> None:
        if status_for(exc) == 500:
            log.error("%s %s: error mid-stream", self.command, self.path, exc_info=exc)
        else:
            log.info("%s %s: error mid-stream: %s", self.command, self.path, error_message(exc))
        if sr.on_error is None:
            self.close_connection = True    # binary stream: cut it, the client sees a truncated body
            return
        self._write_chunk(sr.on_error(exc), chunked)
        if chunked:
            self.wfile.write(b"0\r\n\r\n")

    def _write_chunk(self, data: bytes, chunked: bool) -> None:
        if not data:
            return          # an empty chunk would end the body
        if chunked:
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        else:
            self.wfile.write(data)

    def _hijack(self, h: Hijack) -> None:
        """Write the preamble moby writes after ``Hijack()`` and hand the socket over."""
        self.close_connection = True
        if h.upgrade:
            pre = (f"HTTP/1.1 101 UPGRADED\r\nContent-Type: {h.content_type}\r\n"
                   "Connection: Upgrade\r\nUpgrade: tcp\r\n\r\n")
        else:
            pre = f"HTTP/1.1 200 OK\r\nContent-Type: {h.content_type}\r\n\r\n"
        self.wfile.write(pre.encode() if h.preamble is None else h.preamble)
        try:
            h.pump(self.connection, self.rfile)
        except Exception:
            log.exception("%s %s: hijacked stream failed", self.command, self.path)


def _close(it: Any) -> None:
    close = getattr(it, "close", None)
    if close is not None:
        try:
            close()
        except Exception:
            log.exception("closing a response stream failed")
