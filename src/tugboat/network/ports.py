"""Host port reservations for published ports.

A published port is iptables DNAT, so nothing in tugd listens on it; what keeps another process
(or another container) from taking the same port is a socket bound to it, held for as long as the
port is published (dockerd does the same with ``"userland-proxy": false``: its "dummy proxy").
The socket is bound, never listening, without SO_REUSEADDR; traffic to the port is DNATed before
it would reach it.

Errors are dockerd 20.10's (default configuration, userland proxy on):
- the port is held by a reservation of ours (another container): its port allocator's
  "Bind for 0.0.0.0:8080 failed: port is already allocated";
- the port is taken by some other process: the bind error of its proxy,
  "Error starting userland proxy: listen tcp4 0.0.0.0:8080: bind: address already in use".
The engine prefixes them as dockerd does ("driver failed programming external connectivity on
endpoint <name> (<id>): ...").
"""

from __future__ import annotations

import errno
import ipaddress
import os
import socket
import threading
from pathlib import Path

from tugboat import errors

PORT_RANGE_FILE = Path("/proc/sys/net/ipv4/ip_local_port_range")
FALLBACK_RANGE = (49153, 65535)   # dockerd's when the kernel's range cannot be read


def ephemeral_range() -> tuple[int, int]:
    try:
        low, high = (int(x) for x in PORT_RANGE_FILE.read_text().split())
        return low, high
    except (OSError, ValueError):
        return FALLBACK_RANGE


class PortReservations:
    """Bound sockets keyed by (proto, host_ip, host_port). Thread-safe."""

    def __init__(self) -> None:
        self._held: dict[tuple[str, str, int], socket.socket] = {}
        self._lock = threading.Lock()
        self._last: dict[str, int] = {}   # per proto: where the search for a free port goes on

    def reserve(self, proto: str, host_ip: str, host_port: int) -> int:
        """Hold ``host_ip:host_port``; 0 picks a free port of the ephemeral range. The port held."""
        if proto not in ("tcp", "udp"):
            raise errors.InvalidArgument(f"invalid proto '{proto}'")
        if not 0 <= host_port <= 65535:
            raise errors.InvalidArgument(f"invalid host port {host_port}")
        ip = str(ipaddress.ip_address(host_ip or "0.0.0.0"))
        with self._lock:
            if host_port:
                self._take(proto, ip, host_port)
                return host_port
            return self._take_any(proto, ip)

    def release(self, proto: str, host_ip: str, host_port: int) -> None:
        """Give the port back; nothing if it is not held."""
        ip = str(ipaddress.ip_address(host_ip or "0.0.0.0"))
        with self._lock:
            sock = self._held.pop((proto, ip, host_port), None)
        if sock is not None:
            sock.close()

    def held(self) -> list[tuple[str, str, int]]:
        with self._lock:
            return sorted(self._held)

    def _ours(self, proto: str, port: int) -> bool:
        return any(p == proto and hp == port for p, _ip, hp in self._held)

    def _take(self, proto: str, ip: str, port: int) -> None:
        allocated = errors.Conflict(f"Bind for {ip}:{port} failed: port is already allocated")
        if (proto, ip, port) in self._held:
            raise allocated
        try:
            sock = self._bind(proto, ip, port)
        except OSError as e:
            if e.errno == errno.EADDRINUSE and self._ours(proto, port):
                raise allocated from None
            v4 = ipaddress.ip_address(ip).version == 4
            where = f"{proto}4 {ip}" if v4 else f"{proto}6 [{ip}]"
            reason = os.strerror(e.errno or 0)
            msg = f"Error starting userland proxy: listen {where}:{port}: bind: {reason[:1].lower()}{reason[1:]}"
            raise (errors.Conflict if e.errno == errno.EADDRINUSE else errors.TugboatError)(msg) from None
        self._held[(proto, ip, port)] = sock

    def _take_any(self, proto: str, ip: str) -> int:
        low, high = ephemeral_range()
        span = high - low + 1
        start = self._last.get(proto, high)
        for i in range(1, span + 1):
            port = low + (start - low + i) % span
            if self._ours(proto, port):
                continue
            try:
                sock = self._bind(proto, ip, port)
            except OSError as e:
                if e.errno == errno.EADDRINUSE:
                    continue
                raise errors.TugboatError(f"Error starting userland proxy: listen {proto} {ip}:0: "
                                          f"bind: {os.strerror(e.errno or 0).lower()}") from None
            self._held[(proto, ip, port)] = sock
            self._last[proto] = port
            return port
        raise errors.Conflict("all ports are allocated")   # dockerd's portallocator

    @staticmethod
    def _bind(proto: str, ip: str, port: int) -> socket.socket:
        """A socket bound to ip:port (OSError if that fails: in use, not a local address)."""
        v6 = ipaddress.ip_address(ip).version == 6
        kind = socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM
        sock = socket.socket(socket.AF_INET6 if v6 else socket.AF_INET, kind)
        try:
            if v6:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            sock.bind((ip, port))
        except OSError:
            sock.close()
            raise
        return sock
