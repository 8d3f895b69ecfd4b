"""APIServer: bind tugd's unix sockets and serve each in a background thread.

``socketserver.ThreadingUnixStreamServer`` gives one thread per connection,
which suits the API: most calls are short, a few (logs -f, wait, attach) block
for the life of a container and must not hold up the others.  Connection
threads are daemon threads and are not joined on close (attach may last
forever); ``shutdown`` instead shuts their sockets down so they end promptly.
"""

import contextlib
import grp
import logging
import os
import socket
import socketserver
import stat
import sys
import threading
from pathlib import Path
from typing import Any

from tugboat.errors import TugboatError
from tugboat.server.connection import APIRequestHandler, App
from tugboat.server.router import Router
from tugboat.server.routes import all_routes

log = logging.getLogger("tugd.server")

SOCKET_GROUP = "docker"
SOCKET_MODE = 0o660


class _UnixServer(socketserver.ThreadingUnixStreamServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = False
    # socketserver's default backlog is 5; on a unix socket a full backlog makes connect() fail
    # at once (EAGAIN), so a burst of clients would see "Cannot connect". Go's listener, and so
    # dockerd, uses the kernel's maximum.
    request_queue_size = socket.SOMAXCONN

    def __init__(self, path: str, app: App):
        self.app = app
        self._conns: set[socket.socket] = set()
        self._conns_lock = threading.Lock()
        super().__init__(path, APIRequestHandler, bind_and_activate=False)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._conns_lock:
            self._conns.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._conns_lock:
            self._conns.discard(request)
        super().shutdown_request(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Never print to stderr and never stop serving: log and drop this connection. A client
        # that went away mid-request (ctrl-c, a dropped `run -d` wait) is normal, not an error.
        exc = sys.exc_info()[1]
        if isinstance(exc, (ConnectionResetError, BrokenPipeError)):
            log.debug("client went away: %s", exc)
            return
        log.exception("error while serving a connection")

    def close_connections(self) -> None:
        with self._conns_lock:
            conns = list(self._conns)
        for c in conns:
            with contextlib.suppress(OSError):
                c.shutdown(socket.SHUT_RDWR)


def _prepare_path(path: str) -> None:
    """Create the parent directory and remove a stale socket; refuse to take over a
    socket somebody is still serving, or to delete something that is not a socket."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    try:
        st = p.lstat()
    except FileNotFoundError:
        return
    if not stat.S_ISSOCK(st.st_mode):
        raise TugboatError(f"cannot listen on {path}: it exists and is not a socket")
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        probe.settimeout(1)
        probe.connect(path)
    except OSError:
        p.unlink(missing_ok=True)      # nobody answers: stale
        return
    finally:
        probe.close()
    raise TugboatError(f"cannot listen on {path}: another daemon is serving it")


def _set_permissions(path: str) -> None:
    os.chmod(path, SOCKET_MODE)
    try:
        gid = grp.getgrnam(SOCKET_GROUP).gr_gid
    except KeyError:
        return
    try:
        os.chown(path, -1, gid)
    except PermissionError:
        log.warning("cannot give %s to group %s (not root)", path, SOCKET_GROUP)


class APIServer:
    """The Docker Engine API on unix sockets, routed to ``engine``."""

    def __init__(self, engine: Any, socket_paths: list[str]):
        self.socket_paths = list(socket_paths)
        self._app = App(engine, Router(all_routes()))
        self._servers: list[_UnixServer] = []
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        try:
            for path in self.socket_paths:
                _prepare_path(path)
                srv = _UnixServer(path, self._app)
                self._servers.append(srv)
                try:
                    srv.server_bind()
                    _set_permissions(path)
                    srv.server_activate()
                except OSError as e:
                    raise TugboatError(f"cannot listen on {path}: {e.strerror or e}") from e
                t = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.1},
                                     name=f"tugd-api {path}", daemon=True)
                t.start()
                self._threads.append(t)
        except BaseException:
            self.shutdown()
            raise

    def shutdown(self) -> None:
        """Stop accepting, end open connections, remove the socket files."""
        for srv, t in zip(self._servers, self._threads, strict=False):
            srv.shutdown()
            t.join(timeout=5)
        for srv in self._servers:
            srv.close_connections()
            srv.server_close()
            with contextlib.suppress(OSError):
                os.unlink(srv.server_address if isinstance(srv.server_address, str) else "")
        self._servers.clear()
        self._threads.clear()
