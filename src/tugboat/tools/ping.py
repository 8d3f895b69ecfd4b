"""Ask an engine's ``/_ping`` over its unix socket; optionally wait until it answers.

    python -m tugboat.tools.ping [HOST] [--wait SECONDS] [--pid PID]

HOST is ``unix:///path`` or a socket path (default: $TUG_HOST, $DOCKER_HOST, then tugd's default).
Exit 0 once the engine answered ``OK``; 1 if it did not within the time (or at once without
``--wait``); 2 if ``--pid`` is given and that process died while waiting (the daemon failed to start).
Used by scripts/demo.sh, the integration tests and the benchmark; needs only the standard library.
"""

from __future__ import annotations

import argparse
import os
import socket
import sys
import time

DEFAULT_HOST = "unix:///run/tugboat/tugboat.sock"


def socket_path(host: str) -> str:
    if host.startswith("unix://"):
        return host[len("unix://"):]
    if host.startswith("/"):
        return host
    raise ValueError(f"only unix:// hosts are supported: {host}")


def ping(host: str, timeout: float = 2.0) -> bool:
    """True if GET /_ping on ``host`` answers 200 OK."""
    try:
        path = socket_path(host)
    except ValueError:
        return False
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(timeout)
            s.connect(path)
            s.sendall(b"GET /_ping HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
            data = b""
            while b"\r\n" not in data and len(data) < 4096:
                chunk = s.recv(4096)
                if not chunk:
                    break
                data += chunk
    except OSError:
        return False
    status = data.split(b"\r\n", 1)[0].split()
    return len(status) >= 2 and status[1] == b"200"


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def wait_for(host: str, timeout: float, pid: int | None = None) -> int:
    """0 when it answers, 1 on timeout, 2 if process ``pid`` is gone first."""
    deadline = time.monotonic() + timeout
    while True:
        if ping(host):
            return 0
        if pid is not None and not _alive(pid):
            return 2
        if time.monotonic() >= deadline:
            return 1
        time.sleep(0.1)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="ping", description="GET /_ping on an engine's unix socket")
    p.add_argument("host", nargs="?",
                   default=os.environ.get("TUG_HOST") or os.environ.get("DOCKER_HOST") or DEFAULT_HOST)
    p.add_argument("--wait", type=float, default=0.0, metavar="SECONDS", help="keep trying this long")
    p.add_argument("--pid", type=int, help="give up as soon as this process (the daemon) has exited")
    ns = p.parse_args(argv)
    rc = wait_for(ns.host, ns.wait, ns.pid)
    if rc == 1:
        print(f"ping: no answer from {ns.host}" + (f" within {ns.wait:g}s" if ns.wait else ""), file=sys.stderr)
    elif rc == 2:
        print(f"ping: process {ns.pid} exited before {ns.host} answered", file=sys.stderr)
    return rc


if __name__ == "__main__":
    sys.exit(main())
