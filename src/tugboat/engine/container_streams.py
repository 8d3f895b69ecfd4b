"""Waiters and attach streams: the two ways a client follows a container's life.

Both are registered with the container *before* the event they wait for can happen
(wait before start, attach before start) so that `docker run` — create, attach, wait,
start — can never miss output or the exit, however the threads interleave.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterable, Iterator

NOT_RUNNING = "not-running"
NEXT_EXIT = "next-exit"
REMOVED = "removed"
CONDITIONS = (NOT_RUNNING, NEXT_EXIT, REMOVED)

_STDIN_CHUNK = 32 * 1024   # one SOCK_SEQPACKET packet; well below the default socket buffer
PENDING_STDIN_LIMIT = 1 << 20   # stdin buffered before start; then the writer waits for the start


class ContainerWaiter:
    """Released by the service with the exit code (and error message, if any)."""

    def __init__(self, condition: str, on_cancel: Callable[[ContainerWaiter], None] | None = None) -> None:
        self.condition = condition
        self._event = threading.Event()
        self._result: dict = {"StatusCode": 0, "Error": None}
        self._on_cancel = on_cancel

    def release(self, exit_code: int, error: str = "") -> None:
        if not self._event.is_set():
            self._result = {"StatusCode": exit_code, "Error": {"Message": error} if error else None}
            self._event.set()

    @property
    def done(self) -> bool:
        return self._event.is_set()

    def result(self, timeout: float | None = None) -> dict:
        """Block until released (or ``timeout`` seconds; then TimeoutError)."""
        if not self._event.wait(timeout):
            raise TimeoutError("container wait timed out")
        return dict(self._result)

    def cancel(self) -> None:
        """The client went away: forget this waiter and wake anyone blocked in result()."""
        if self._on_cancel is not None:
            self._on_cancel(self)
        self.release(-1, "wait cancelled")


class ContainerAttach:
    """An AttachStream: replayed log output, then the live stdio of the container.

    ``connect`` hands over the runtime's SOCK_SEQPACKET socket (b"\\x01"/b"\\x02" + data
    packets; an empty read means the output ended).  Stdin written before the
    connection exists is buffered and flushed on connect, so `docker run -i` input that
    races the start is not lost.  ``end`` finishes a stream that will never connect
    (the container exited, failed to start or was removed)."""

    def __init__(self, tty: bool, stdin: bool, stdout: bool, stderr: bool,
                 replay: Iterable[tuple[int, bytes]] = (), live: bool = True) -> None:
        self.tty = tty
        self._want = {1: stdout, 2: stderr}
        self._stdin = stdin
        self._replay = replay
        self._live = live
        self._cond = threading.Condition()
        self._sock: socket.socket | None = None
        self._ended = not live
        self._closed = False
        self._pending_stdin: list[bytes] = []
        self._pending_bytes = 0
        self._stdin_closed = False
        self._flushing = False

    # --- the service's side -----------------------------------------------------------------
    def connect(self, sock: socket.socket) -> None:
        """Called by start() before the process runs: stdin written so far is flushed from a
        thread of its own, because the container cannot read it until start() has returned."""
        with self._cond:
            if self._closed or self._ended:
                sock.close()
                return
            self._sock = sock
            pending, self._pending_stdin, self._pending_bytes = self._pending_stdin, [], 0
            close_stdin = self._stdin_closed
            self._flushing = bool(pending) or close_stdin
            self._cond.notify_all()
        if self._flushing:
            threading.Thread(target=self._flush, args=(sock, pending, close_stdin),
                             name="attach-stdin", daemon=True).start()

    def _flush(self, sock: socket.socket, pending: list[bytes], close_stdin: bool) -> None:
        try:
            for data in pending:
                self._send(sock, data)
            if close_stdin:
                sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        finally:
            with self._cond:
                self._flushing = False
                self._cond.notify_all()

    def end(self) -> None:
        with self._cond:
            self._ended = True
            self._cond.notify_all()

    @property
    def waiting(self) -> bool:
        """Still waiting to be connected at start."""
        with self._cond:
            return self._sock is None and not self._ended and not self._closed

    # --- the client's side ------------------------------------------------------------------
    def output(self) -> Iterator[tuple[int, bytes]]:
        for fd, data in self._replay:
            if self._want.get(fd):
                yield fd, data
        if not self._live:
            return
        with self._cond:
            while self._sock is None and not self._ended and not self._closed:
                self._cond.wait()
            sock = self._sock
        if sock is None:
            return
        try:
            while True:
                try:
                    packet = sock.recv(1 << 17)
                except OSError:
                    return
                if not packet:
                    return
                fd = packet[0]
                if self._want.get(fd) and len(packet) > 1:
                    yield fd, packet[1:]
        finally:
            self.close()   # output is over: nothing more can be written to this container's stdin

    def _stdin_socket(self, data: bytes | None) -> socket.socket | None:
        """The socket to write stdin to once earlier stdin has been flushed; None if the data was
        buffered (not connected yet) or the stream is over.  Blocks while the buffer is full."""
        with self._cond:
            while True:
                if self._closed or (self._ended and self._sock is None):
                    return None
                if self._sock is None:
                    if data is None:
                        self._stdin_closed = True
                        return None
                    if self._pending_bytes < PENDING_STDIN_LIMIT:
                        self._pending_stdin.append(bytes(data))
                        self._pending_bytes += len(data)
                        return None
                elif not self._flushing:
                    return self._sock
                self._cond.wait()

    def write_stdin(self, data: bytes) -> None:
        if not self._stdin or not data:
            return
        sock = self._stdin_socket(data)
        if sock is None:
            return
        try:
            self._send(sock, data)
        except OSError:
            pass

    def close_stdin(self) -> None:
        if not self._stdin:
            return
        sock = self._stdin_socket(None)
        if sock is None:
            return
        try:
            sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass

    def close(self) -> None:
        with self._cond:
            self._closed = True
            sock, self._sock = self._sock, None
            self._cond.notify_all()
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()

    @staticmethod
    def _send(sock: socket.socket, data: bytes) -> None:
        view = memoryview(data)
        for i in range(0, len(view), _STDIN_CHUNK):
            sock.sendall(view[i:i + _STDIN_CHUNK])
