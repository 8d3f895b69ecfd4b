"""Moving container output to the terminal: demux stdout/stderr frames, write raw TTY bytes, and
stream tar archives to files without holding them in memory."""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator
    from typing import Any


def _write(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        n = os.write(fd, view)
        view = view[n:]


def copy_output(chunks: Iterable[bytes], tty: bool, out_fd: int | None = None, err_fd: int | None = None) -> None:
    """Write a logs/attach stream: raw if the container has a TTY, else demultiplexed frames."""
    sys.stdout.flush()
    out = sys.stdout.fileno() if out_fd is None else out_fd
    err = sys.stderr.fileno() if err_fd is None else err_fd
    if tty:
        for c in chunks:
            _write(out, c)
        return
    from tugboat.client.streams import STDERR, Demuxer
    d = Demuxer()
    for c in chunks:
        for stream, payload in d.feed(c):
            _write(err if stream == STDERR else out, payload)


def write_stream(ctx: Any, chunks: Iterable[bytes], path: str | None) -> int:
    """Save/export: to `path` (written to a temp file then renamed, as docker does) or stdout."""
    if not path:
        sys.stdout.flush()
        fd = sys.stdout.fileno()
        for c in chunks:
            _write(fd, c)
        return 0
    tmp = os.path.join(os.path.dirname(os.path.abspath(path)), f".tug_temp_{os.getpid()}")
    try:
        with open(tmp, "wb") as f:
            for c in chunks:
                f.write(c)
        os.replace(tmp, path)
    except OSError as e:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        ctx.eprint(f"failed to save: {e}")
        return 1
    return 0


def socket_chunks(sock: Any) -> Iterator[bytes]:
    """What a hijacked connection sends, until the daemon closes it (or it breaks)."""
    while True:
        try:
            data = sock.recv(65536)
        except OSError:
            return
        if not data:
            return
        yield data


def relay_attached(sock: Any, tty: bool, restore: Callable[[], None] | None) -> None:
    """An attached container's (or exec's) output to our stdout/stderr until the daemon ends it;
    then the terminal is restored and the connection closed (attach, exec and run share this)."""
    try:
        copy_output(socket_chunks(sock), tty)
    finally:
        if restore is not None:
            restore()
        sock.close()
