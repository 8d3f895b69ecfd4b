"""RFC 6455 websockets for ``GET /containers/{id}/attach/ws`` (moby's wsContainersAttach).

dockerd serves the websocket attach with golang.org/x/net/websocket: the handshake answers
``101 Switching Protocols`` with ``Sec-WebSocket-Accept``; every write of container output is one
unmasked *binary* frame (API >= 1.28) carrying the raw stream — never the 8-byte multiplexed
framing, stdout and stderr interleaved, with or without a TTY; text or binary frames from the
client (masked, as RFC 6455 requires of clients) are the container's stdin; a close frame from the
client ends stdin, a ping is answered with a pong.  When the output ends the server sends a close
frame (1000) and shuts the connection down.

The frame functions are also what the tests' hand-written client uses (with ``mask=True``).
"""

from __future__ import annotations

import base64
import hashlib
import logging
import os
import socket
import struct
import threading
from typing import Any

from tugboat.errors import InvalidArgument
from tugboat.server.hijack import end_stdin, run_attach

log = logging.getLogger("tugd.server.websocket")

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
CONTINUATION, TEXT, BINARY, CLOSE, PING, PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA
NORMAL_CLOSURE = 1000
MAX_FRAME = 32 << 20        # a client frame bigger than this is refused (dockerd has no need for more)


class WebSocketError(Exception):
    """A protocol violation by the peer: the connection is dropped."""


def accept_key(key: str) -> str:
    return base64.b64encode(hashlib.sha1((key + GUID).encode()).digest()).decode()


def handshake(headers: Any) -> bytes:
    """The 101 answer to a client's opening handshake (InvalidArgument when it is not one)."""
    upgrade = (headers.get("Upgrade") or "").lower()
    connection = [t.strip().lower() for t in (headers.get("Connection") or "").split(",")]
    key = headers.get("Sec-WebSocket-Key") or ""
    if upgrade != "websocket" or "upgrade" not in connection or not key:
        raise InvalidArgument("not websocket protocol")       # x/net/websocket's ErrNotWebSocket
    if (headers.get("Sec-WebSocket-Version") or "").strip() != "13":
        raise InvalidArgument("websocket: unsupported protocol version")
    return ("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Accept: {accept_key(key.strip())}\r\n\r\n").encode()


def encode_frame(opcode: int, payload: bytes, mask: bool = False) -> bytes:
    """One final frame; ``mask`` for a client's frames."""
    n = len(payload)
    head = bytearray([0x80 | opcode])
    bit = 0x80 if mask else 0
    if n < 126:
        head.append(bit | n)
    elif n < 1 << 16:
        head.append(bit | 126)
        head += struct.pack(">H", n)
    else:
        head.append(bit | 127)
        head += struct.pack(">Q", n)
    if not mask:
        return bytes(head) + payload
    key = os.urandom(4)
    return bytes(head) + key + _unmask(payload, key)


def _unmask(data: bytes, key: bytes) -> bytes:
    if not data:
        return b""
    n = len(data)
    whole = (key * (n // 4 + 1))[:n]
    return (int.from_bytes(data, "big") ^ int.from_bytes(whole, "big")).to_bytes(n, "big")


def _read_exact(rfile: Any, n: int) -> bytes:
    buf = bytearray()
    while len(buf) < n:
        chunk = rfile.read(n - len(buf))
        if not chunk:
            raise EOFError("connection closed inside a frame")
        buf += chunk
    return bytes(buf)


def read_frame(rfile: Any, require_mask: bool = True) -> tuple[bool, int, bytes] | None:
    """(fin, opcode, payload) of the next frame, None at a clean end of the connection."""
    first = rfile.read(1)
    if not first:
        return None
    b0, b1 = first[0], _read_exact(rfile, 1)[0]
    if b0 & 0x70:
        raise WebSocketError("reserved bits set without an extension")
    masked, n = bool(b1 & 0x80), b1 & 0x7F
    if require_mask and not masked:
        raise WebSocketError("client frame is not masked")
    if n == 126:
        n = struct.unpack(">H", _read_exact(rfile, 2))[0]
    elif n == 127:
        n = struct.unpack(">Q", _read_exact(rfile, 8))[0]
    if n > MAX_FRAME:
        raise WebSocketError(f"frame of {n} bytes is too large")
    key = _read_exact(rfile, 4) if masked else b""
    payload = _read_exact(rfile, n)
    return bool(b0 & 0x80), b0 & 0x0F, _unmask(payload, key) if masked else payload


class _Sender:
    """Frames written from two threads (output and pong/close answers) must not interleave."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.lock = threading.Lock()
        self.closed = False

    def send(self, opcode: int, payload: bytes) -> None:
        with self.lock:
            if self.closed:
                return
            self.sock.sendall(encode_frame(opcode, payload))
            if opcode == CLOSE:
                self.closed = True


def attach_pump(stream: Any, stdin: bool, detach: Any) -> Any:
    """The Hijack pump of an attach over a websocket: the engine's AttachStream both ways."""

    def pump(sock: socket.socket, rfile: Any) -> None:
        sender = _Sender(sock)
        finished = threading.Event()

        def read_client() -> None:
            closing = False
            try:
                while True:
                    frame = read_frame(rfile)
                    if frame is None:
                        break
                    _fin, opcode, payload = frame
                    if opcode == CLOSE:
                        sender.send(CLOSE, payload[:2])
                        closing = True
                        break
                    if opcode == PING:
                        sender.send(PONG, payload)
                        continue
                    if opcode not in (TEXT, BINARY, CONTINUATION) or not stdin or not payload:
                        continue
                    data, detached = detach.feed(payload)
                    if data:
                        stream.write_stdin(data)
                    if detached:
                        stream.close()
                        return
            except (OSError, ValueError, EOFError, WebSocketError) as e:
                log.debug("websocket attach: client side ended: %s", e)
            except Exception:
                log.exception("writing to container stdin failed")
            end_stdin(stream, stdin, finished)
            if closing:           # the client said goodbye: no more output for it
                stream.close()

        def copy_output() -> None:
            try:
                for _fd, data in stream.output():
                    if data:
                        sender.send(BINARY, data)
                sender.send(CLOSE, struct.pack(">H", NORMAL_CLOSURE))
            except OSError as e:
                log.debug("websocket attach client went away: %s", e)

        run_attach(stream, sock, finished, read_client, "tugd-attach-ws-stdin", copy_output)

    return pump
