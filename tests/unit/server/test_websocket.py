"""server/websocket.py: the RFC 6455 handshake and framing used by GET /containers/{id}/attach/ws."""

from __future__ import annotations

import io
import struct
from email.message import Message

import pytest

from tugboat.errors import InvalidArgument
from tugboat.server import websocket as ws


def headers(**kv: str) -> Message:
    m = Message()
    for k, v in kv.items():
        m[k.replace("_", "-")] = v
    return m


def test_accept_key_rfc_example():
    assert ws.accept_key("dGhlIHNhbXBsZSBub25jZQ==") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="


def test_handshake():
    ok = headers(Upgrade="websocket", Connection="keep-alive, Upgrade", Sec_WebSocket_Key="dGhlIHNhbXBsZSBub25jZQ==",
                 Sec_WebSocket_Version="13")
    assert ws.handshake(ok) == (b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                                b"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n")
    with pytest.raises(InvalidArgument, match="not websocket protocol"):
        ws.handshake(headers(Connection="Upgrade"))
    with pytest.raises(InvalidArgument, match="version"):
        ws.handshake(headers(Upgrade="websocket", Connection="Upgrade", Sec_WebSocket_Key="x",
                             Sec_WebSocket_Version="8"))


@pytest.mark.parametrize("size", [0, 5, 125, 126, 65535, 65536, 70000])
def test_frames_round_trip(size):
    payload = bytes(range(256)) * (size // 256) + bytes(size % 256)
    masked = ws.encode_frame(ws.BINARY, payload, mask=True)
    assert ws.read_frame(io.BytesIO(masked)) == (True, ws.BINARY, payload)
    plain = ws.encode_frame(ws.TEXT, payload)
    assert plain[1] & 0x80 == 0
    assert ws.read_frame(io.BytesIO(plain), require_mask=False) == (True, ws.TEXT, payload)


def test_protocol_errors():
    with pytest.raises(ws.WebSocketError, match="not masked"):
        ws.read_frame(io.BytesIO(ws.encode_frame(ws.TEXT, b"x")))
    with pytest.raises(ws.WebSocketError, match="reserved"):
        ws.read_frame(io.BytesIO(b"\xc1\x80" + b"\0" * 4))
    with pytest.raises(ws.WebSocketError, match="too large"):
        ws.read_frame(io.BytesIO(b"\x82\xff" + struct.pack(">Q", 1 << 40)))
    with pytest.raises(EOFError):
        ws.read_frame(io.BytesIO(ws.encode_frame(ws.TEXT, b"hello", mask=True)[:-2]))
    assert ws.read_frame(io.BytesIO(b"")) is None
