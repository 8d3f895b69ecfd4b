"""Decoding of docker's multiplexed stdout/stderr stream (attach, logs without a TTY).

Each frame is an 8-byte header [stream, 0, 0, 0, size (big-endian uint32)] and `size` payload
bytes; stream 0 is stdin (echoed), 1 stdout, 2 stderr. With a TTY the stream is raw bytes.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

STDOUT = 1
STDERR = 2


class Demuxer:
    """Incremental frame decoder: feed() arbitrary byte slices, get (stream, payload) pairs."""

    def __init__(self) -> None:
        self._buf = bytearray()

    def feed(self, data: bytes) -> Iterator[tuple[int, bytes]]:
        self._buf += data
        while len(self._buf) >= 8:
            stream = self._buf[0]
            size = int.from_bytes(self._buf[4:8], "big")  # not struct: its import costs ~1.5 ms
            if len(self._buf) < 8 + size:
                return
            payload = bytes(self._buf[8:8 + size])
            del self._buf[:8 + size]
            yield (STDOUT if stream == 0 else stream, payload)

    @property
    def pending(self) -> int:
        return len(self._buf)


def demux(chunks: Iterable[bytes]) -> Iterator[tuple[int, bytes]]:
    d = Demuxer()
    for c in chunks:
        yield from d.feed(c)


def frame(stream: int, payload: bytes) -> bytes:
    """Encode one frame (tests and fakes use it)."""
    return bytes((stream, 0, 0, 0)) + len(payload).to_bytes(4, "big") + payload
