"""What handlers return, and the wire encodings of Docker's streams.

Handlers never touch the socket.  They return one of three values and the
connection (``server/connection.py``) writes it:

* ``Response`` — a complete body with Content-Length;
* ``StreamResponse`` — an iterator of byte chunks, sent with chunked transfer
  encoding and flushed per item (logs, export/save, load/import progress, wait);
* ``Hijack`` — take over the raw connection after an HTTP preamble (attach).

``frame`` is Docker's multiplexed stdio framing for containers without a TTY,
``json_lines`` dockerd's progress stream, in which a failure after the first
line becomes an ``{"errorDetail":...}`` line instead of a dead connection.
"""

import json
import struct
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from tugboat.server.errors import stream_error_line

STDOUT = 1
STDERR = 2


def frame(stream: int, data: bytes) -> bytes:
    """8-byte header [stream, 0, 0, 0, big-endian uint32 length] + payload."""
    return struct.pack(">BxxxI", stream, len(data)) + data


@dataclass
class Response:
    status: int = 200
    body: bytes = b""
    content_type: str | None = "application/json"
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class StreamResponse:
    """A chunked response.

    ``prefetch``: pull the first chunk before sending the status line, so that an
    engine generator failing at once (No such image, ...) still gets a proper
    HTTP error — dockerd's ``if !output.Flushed() { return err }``.  Off for
    responses whose headers must go out before the first chunk exists (wait,
    logs --follow).
    ``on_error``: encodes an exception raised after the headers went out as a
    final chunk (JSON streams); None means the stream is binary and the
    connection is cut instead, so the client sees a truncated body.
    ``on_disconnect``: called if the client goes away while the stream is
    blocked (e.g. cancel a waiter).
    """

    chunks: Iterable[bytes]
    status: int = 200
    content_type: str | None = "application/json"
    headers: dict[str, str] = field(default_factory=dict)
    prefetch: bool = True
    on_error: Callable[[BaseException], bytes] | None = None
    on_disconnect: Callable[[], None] | None = None


@dataclass
class Hijack:
    """Take over the connection: the server writes the preamble (101 UPGRADED when the
    client asked for ``Upgrade``, else 200), then calls ``pump(conn)`` with the raw
    socket and the buffered reader holding any bytes already received."""

    pump: Callable[[Any, Any], None]
    upgrade: bool
    content_type: str = "application/vnd.docker.raw-stream"
    preamble: bytes | None = None   # the whole answer instead (a websocket's 101 Switching Protocols)


def json_response(obj: Any, status: int = 200) -> Response:
    return Response(status=status, body=json.dumps(obj).encode() + b"\n")


def no_content() -> Response:
    return Response(status=204, content_type=None)


def json_lines(items: Iterable[dict]) -> Iterator[bytes]:
    for item in items:
        yield json.dumps(item).encode() + b"\r\n"


def json_stream(items: Iterable[dict]) -> StreamResponse:
    """dockerd's JSON progress stream (load, import, later pull/push/build)."""
    return StreamResponse(chunks=json_lines(items), on_error=stream_error_line)
