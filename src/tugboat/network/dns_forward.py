"""Forwarding of the queries the embedded DNS server cannot answer itself to upstream resolvers.

Runs in a worker thread of the server (blocking sockets with deadlines), in tugd's own network
namespace, so that upstreams only reachable from the host (a 127.0.0.53-style stub in the host's
resolv.conf) work for containers as they do with dockerd's host-loopback forwarding.

The policy is libnetwork's (resolver.go, Docker 20.10): at most three upstreams, tried in order over
the client's own protocol; SERVFAIL, REFUSED, any other error and a non-authoritative NXDOMAIN move
on to the next one (RFC 8020: an authoritative NXDOMAIN is final); a truncated UDP answer is relayed
as it is, so that the client retries over TCP. When no upstream answers well, the last answer
received is relayed; when none answered at all, there is nothing to relay.
"""

from __future__ import annotations

import logging
import secrets
import socket
import time

import dns.exception
import dns.flags
import dns.message
import dns.rcode

log = logging.getLogger(__name__)

MAX_UPSTREAMS = 3      # libnetwork's maxExtDNS
TIMEOUT = 2.0          # seconds per upstream (connect + query + answer)
DNS_PORT = 53
_HEADER = 12


def upstream_address(upstream: str) -> tuple[socket.AddressFamily, tuple] | None:
    """Family and socket address of "1.2.3.4", "1.2.3.4:5353", "fe80::1%eth0", "[::1]:5353"; None if invalid."""
    host, port = upstream, DNS_PORT
    if upstream.startswith("["):
        host, sep, rest = upstream[1:].partition("]")
        if not sep or (rest and not rest.startswith(":")):
            return None
        if rest:
            if not rest[1:].isdigit():
                return None
            port = int(rest[1:])
    elif upstream.count(":") == 1:
        host, _, text = upstream.partition(":")
        if not text.isdigit():
            return None
        port = int(text)
    if not 0 < port < 65536:
        return None
    try:
        info = socket.getaddrinfo(host, port, type=socket.SOCK_DGRAM, flags=socket.AI_NUMERICHOST)
    except (socket.gaierror, UnicodeError, ValueError):
        return None
    family, _, _, _, sockaddr = info[0]
    return family, sockaddr


def forward(query: dns.message.Message, wire: bytes, upstreams: list[str], tcp: bool,
            timeout: float = TIMEOUT) -> bytes | None:
    """The upstream answer to ``wire`` (the client's query, parsed as ``query``) to relay to the client,
    with the client's ID; None when no upstream answered."""
    last: bytes | None = None
    for upstream in upstreams[:MAX_UPSTREAMS]:
        address = upstream_address(upstream)
        if address is None:
            log.warning("embedded DNS: ignoring invalid upstream %r", upstream)
            continue
        qid = secrets.token_bytes(2)   # a fresh ID upstream: a spoofed answer must guess it
        try:
            answer = _exchange(qid + wire[2:], address, tcp, timeout)
        except OSError as e:
            log.debug("embedded DNS: upstream %s failed: %s", upstream, e)
            continue
        truncated = _acceptable(query, qid, answer)
        if truncated is None:
            log.debug("embedded DNS: upstream %s sent an answer that does not match the query", upstream)
            continue
        last = wire[:2] + answer[2:]
        if truncated or _final(answer):
            return last
    return last


def _acceptable(query: dns.message.Message, qid: bytes, answer: bytes) -> bool | None:
    """None if ``answer`` is no answer to the query; else whether it is a truncated one (relayed as is)."""
    if len(answer) < _HEADER or answer[:2] != qid:
        return None
    flags = int.from_bytes(answer[2:4], "big")
    try:
        parsed = dns.message.from_wire(answer, ignore_trailing=True)
    except dns.exception.DNSException:
        # a truncated answer may be cut anywhere; the header is what matters
        return True if flags & dns.flags.QR and flags & dns.flags.TC else None
    if not parsed.flags & dns.flags.QR or parsed.question != query.question:
        return None
    return bool(parsed.flags & dns.flags.TC)


def _final(answer: bytes) -> bool:
    """An answer that ends the search: NOERROR, or NXDOMAIN from an authoritative server."""
    flags = int.from_bytes(answer[2:4], "big")
    rcode = dns.rcode.from_flags(flags, 0)
    return rcode == dns.rcode.NOERROR or (rcode == dns.rcode.NXDOMAIN and bool(flags & dns.flags.AA))


def _exchange(wire: bytes, address: tuple[socket.AddressFamily, tuple], tcp: bool, timeout: float) -> bytes:
    family, sockaddr = address
    deadline = time.monotonic() + timeout
    with socket.socket(family, socket.SOCK_STREAM if tcp else socket.SOCK_DGRAM) as s:
        s.settimeout(timeout)
        s.connect(sockaddr)
        if tcp:
            s.sendall(len(wire).to_bytes(2, "big") + wire)
            size = int.from_bytes(_recv_exactly(s, 2, deadline), "big")
            return _recv_exactly(s, size, deadline)
        s.send(wire)
        while True:   # the socket is connected: only the upstream's datagrams arrive
            s.settimeout(_remaining(deadline))
            data = s.recv(65535)
            if data[:2] == wire[:2]:
                return data


def _recv_exactly(s: socket.socket, size: int, deadline: float) -> bytes:
    buf = bytearray()
    while len(buf) < size:
        s.settimeout(_remaining(deadline))
        chunk = s.recv(size - len(buf))
        if not chunk:
            raise ConnectionResetError("upstream closed the connection")
        buf += chunk
    return bytes(buf)


def _remaining(deadline: float) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise TimeoutError("upstream did not answer in time")
    return left
