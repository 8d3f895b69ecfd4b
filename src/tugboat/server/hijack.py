"""Pumping a hijacked attach connection.

After the preamble (see ``connection.APIRequestHandler._hijack``) the socket is a
raw bidirectional pipe, as in moby's attach:

* container -> client: ``AttachStream.output()`` items, raw bytes when the
  container has a TTY, 8-byte multiplexed frames otherwise;
* client -> container: bytes read from the connection's buffered reader (which
  may already hold stdin sent right after the request headers) go to
  ``write_stdin``; the client's half-close (EOF) is ``close_stdin()`` — that is
  how ``echo hi | docker run -i`` ends the container's stdin.

When output ends the connection is shut down for both directions: every byte
was already handed to the kernel by ``sendall`` (so the client gets all of it
before EOF) and SHUT_RD wakes the stdin thread, which is then joined so no
thread outlives the connection.  A client that goes away makes ``sendall`` fail;
the attach is then closed so the engine can release it.

Detach keys work as moby's escape proxy: only with a TTY, default ctrl-p,ctrl-q;
bytes that could start the sequence are held back until it completes (detach:
the attach is closed, the container's stdin stays open) or breaks (they are
forwarded).
"""

import logging
import socket
import threading
from collections.abc import Callable
from typing import Any

from tugboat.errors import InvalidArgument
from tugboat.server.errors import error_message
from tugboat.server.responses import STDERR, frame

log = logging.getLogger("tugd.server.attach")

_READ_SIZE = 32 * 1024


DEFAULT_DETACH_KEYS = "ctrl-p,ctrl-q"
# moby/term ASCII: "ctrl-@" is 0, "ctrl-a" 1, ... "ctrl-z" 26, then "ctrl-[" ... "ctrl-_".
_CTRL = {f"ctrl-{c}": i for i, c in enumerate("@abcdefghijklmnopqrstuvwxyz[\\]^_")}


def parse_detach_keys(spec: str) -> bytes:
    """moby/term.ToBytes: comma-separated single characters or ``ctrl-<x>`` names."""
    out = bytearray()
    for key in spec.split(","):
        if len(key) == 1:
            out += key.encode()
        elif key in _CTRL:
            out.append(_CTRL[key])
        else:
            raise InvalidArgument(f"Invalid detach keys ({spec}) provided")
    return bytes(out)


class DetachKeys:
    """Watches stdin for the detach sequence; ``feed`` returns the bytes to forward
    and whether the client detached."""

    def __init__(self, spec: str | None, tty: bool):
        keys = parse_detach_keys(spec) if spec else parse_detach_keys(DEFAULT_DETACH_KEYS)
        self.keys = keys if tty else b""      # moby only escapes TTY input
        self._held = bytearray()

    def feed(self, data: bytes) -> tuple[bytes, bool]:
        if not self.keys:
            return data, False
        out = bytearray()
        for b in data:
            if b == self.keys[len(self._held)]:
                self._held.append(b)
                if len(self._held) == len(self.keys):
                    self._held.clear()
                    return bytes(out), True
                continue
            out += self._held                  # the sequence broke: forward what was held
            self._held.clear()
            if b == self.keys[0]:
                self._held.append(b)
            else:
                out.append(b)
        return bytes(out), False


def attach_pump(stream: Any, stdin: bool, detach: DetachKeys) -> Callable[[socket.socket, Any], None]:
    """The ``Hijack.pump`` for an engine AttachStream."""

    def pump(sock: socket.socket, rfile: Any) -> None:
        finished = threading.Event()

        def read_stdin() -> None:
            try:
                while True:
                    data = rfile.read1(_READ_SIZE)
                    if not data:
                        break                       # half-close, or our own shutdown
                    if not stdin:
                        continue                    # not attached to stdin: discard
                    data, detached = detach.feed(data)
                    if data:
                        stream.write_stdin(data)
                    if detached:
                        stream.close()
                        return
            except (OSError, ValueError):
                pass
            except Exception:
                log.exception("writing to container stdin failed")
            end_stdin(stream, stdin, finished)

        run_attach(stream, sock, finished, read_stdin, "tugd-attach-stdin",
                   lambda: _copy_output(stream, sock))

    return pump


def end_stdin(stream: Any, stdin: bool, finished: threading.Event) -> None:
    """The client's input ended (EOF, a websocket close) while output still runs: the container's
    stdin is closed, as a half-close does; not when we ended the attach ourselves."""
    if stdin and not finished.is_set():
        try:
            stream.close_stdin()
        except Exception:
            log.exception("closing container stdin failed")


def run_attach(stream: Any, sock: socket.socket, finished: threading.Event, read_input: Callable[[], None],
               name: str, copy_output: Callable[[], None]) -> None:
    """read_input on its own thread while copy_output runs here; when output ends the attach is
    closed, the socket shut down both ways (which wakes read_input) and its thread joined.
    Shared by the raw hijacked attach and the websocket one."""
    reader = threading.Thread(target=read_input, name=name, daemon=True)
    reader.start()
    try:
        copy_output()
    finally:
        finished.set()
        try:
            stream.close()
        except Exception:
            log.exception("closing attach stream failed")
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        reader.join(timeout=5)


def _copy_output(stream: Any, sock: socket.socket) -> None:
    tty = bool(getattr(stream, "tty", False))
    try:
        for fd, data in stream.output():
            if data:
                sock.sendall(data if tty else frame(fd, data))
    except OSError as e:
        log.debug("attach client went away: %s", e)
    except Exception as e:
        # After the preamble the status is sent; tell the client in-band as moby does.
        log.error("attach stream failed", exc_info=e)
        msg = f"Error attaching: {error_message(e)}\n".encode()
        try:
            sock.sendall(msg if tty else frame(STDERR, msg))
        except OSError:
            pass
