"""The embedded DNS server Docker runs at 127.0.0.11 in every container on a user-defined network.

One thread serves every container. Attaching a container (a *key*) binds a UDP and a TCP socket to
127.0.0.11:53 inside its network namespace: a socket stays in the namespace it was created in, so a
short-lived thread enters the namespace, binds, and dies. 127.0.0.0/8 is on ``lo``, so no NAT rule is
needed (dockerd listens on a random port and redirects 53 to it with iptables).

Answers follow libnetwork's resolver.go in Docker 20.10:
- A: every address the resolver knows for the name, shuffled (Docker's round robin), TTL 600;
- AAAA and MX for a name the resolver knows: NOERROR without answers (the networks are IPv4 only;
  an MX-less name is an "implicit MX", RFC 5321 5.1), so such queries never leak out;
- PTR for an in-addr.arpa name: the resolver's name for the address;
- anything else goes to the resolver's upstreams (dns_forward, in worker threads in tugd's own
  namespace, so that a slow upstream holds up no other query). Without upstreams (an --internal
  network) or without an answer from them there is no reply at all, as with dockerd: the client
  times out.
Garbage is dropped; a query with no single question gets FORMERR, another opcode NOTIMP.
"""

from __future__ import annotations

import functools
import ipaddress
import logging
import queue
import random
import selectors
import socket
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import dns.flags
import dns.message
import dns.name
import dns.opcode
import dns.rcode
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rdtypes.ANY.PTR
import dns.rdtypes.IN.A
import dns.rrset

from tugboat.network import dns_forward, netns

log = logging.getLogger(__name__)

LISTEN_ADDRESS = ("127.0.0.11", 53)
TTL = 600                  # libnetwork's respTTL
UDP_MIN_SIZE = 512         # a UDP answer may always be this big; larger only if EDNS says so
TCP_MAX_SIZE = 65535
TCP_IDLE = 5.0             # seconds a TCP connection may sit without a complete query
MAX_TCP_CONNS = 32         # per container
MAX_TCP_BACKLOG = 256 * 1024   # bytes of answers a TCP client may leave unread
MAX_FORWARDS = 256         # forwarded queries in flight, all containers together
FORWARD_WORKERS = 16
_IN_ADDR_ARPA = dns.name.from_text("in-addr.arpa.")


class Resolver(Protocol):
    """What the engine knows about names, per attached container (``key``)."""

    def lookup(self, key: str, name: str) -> list[str] | None:
        """IPv4 addresses of ``name`` (lower case, no trailing dot); None: not ours, forward the query."""

    def reverse(self, key: str, ip: str) -> str | None:
        """The name of ``ip`` (dotted IPv4) for a PTR answer; None: not ours, forward the query."""

    def upstreams(self, key: str) -> list[str]:
        """Resolvers to forward to ("1.2.3.4", "[::1]:5353", ...); [] (internal network): no forwarding."""


@dataclass(eq=False)
class _Listener:
    """The sockets of one attached container."""

    key: str
    udp: socket.socket
    tcp: socket.socket
    conns: set[_Conn] = field(default_factory=set)
    closed: bool = False


@dataclass(eq=False)
class _Conn:
    """A client's TCP connection: length-prefixed queries in, length-prefixed answers out."""

    sock: socket.socket
    listener: _Listener
    deadline: float
    inbuf: bytearray = field(default_factory=bytearray)
    outbuf: bytearray = field(default_factory=bytearray)
    pending: int = 0           # forwarded queries whose answers are still to come
    closed: bool = False


_Target = tuple | _Conn         # where an answer goes: a UDP client's address or a TCP connection


class EmbeddedDNS:
    """The server: ``attach`` a container's namespace, ``detach`` it, ``close`` everything. Thread-safe."""

    def __init__(self, resolver: Resolver) -> None:
        self._resolver = resolver
        self._lock = threading.Lock()           # listeners, selector registrations, counters
        self._admin = threading.Lock()          # one attach/detach/close at a time
        self._listeners: dict[str, _Listener] = {}
        self._closed = False
        self._forwards = 0
        self._answers: queue.SimpleQueue[tuple[_Listener, _Target, bytes | None]] = queue.SimpleQueue()
        self._selector = selectors.DefaultSelector()
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self._selector.register(self._wake_r, selectors.EVENT_READ, None)
        self._pool = ThreadPoolExecutor(max_workers=FORWARD_WORKERS, thread_name_prefix="tugd-dns-forward")
        self._thread = threading.Thread(target=self._run, name="tugd-dns", daemon=True)
        self._thread.start()

    # ------------------------------------------------------------------------------------------
    # public API

    def attach(self, key: str, netns: Path) -> None:
        """Serve UDP and TCP 127.0.0.11:53 for ``key`` in the network namespace at ``netns`` (brings its
        ``lo`` up if it is not); replaces the sockets of an earlier attach of ``key``."""
        with self._admin:
            self._detach(key)
            try:
                udp, tcp = _bind_in(Path(netns), LISTEN_ADDRESS)
            except OSError as e:   # same errno (so the same OSError subclass), with what we tried
                raise OSError(e.errno, f"embedded DNS server at {LISTEN_ADDRESS[0]}:{LISTEN_ADDRESS[1]}"
                                       f" in {netns}: {e.strerror}") from e
            self._serve(key, udp, tcp)

    def detach(self, key: str) -> None:
        """Close the sockets (and TCP connections) of ``key``; nothing if it is not attached."""
        with self._admin:
            self._detach(key)

    def close(self) -> None:
        """Stop the server thread and close every socket. Idempotent."""
        with self._admin:
            with self._lock:
                if self._closed:
                    return
                self._closed = True
                for listener in self._listeners.values():
                    self._close_listener(listener)
                self._listeners.clear()
            self._wake()
            if threading.current_thread() is not self._thread:
                self._thread.join()
            self._pool.shutdown(wait=False, cancel_futures=True)

    # ------------------------------------------------------------------------------------------
    # listeners

    def _serve(self, key: str, udp: socket.socket, tcp: socket.socket) -> None:
        """Serve on bound sockets (``tcp`` listening): attach's second half, and the tests' way in."""
        udp.setblocking(False)
        tcp.setblocking(False)
        listener = _Listener(key, udp, tcp)
        with self._lock:
            if self._closed:
                udp.close()
                tcp.close()
                raise RuntimeError("the embedded DNS server is closed")
            old = self._listeners.pop(key, None)
            if old is not None:
                self._close_listener(old)
            self._listeners[key] = listener
            self._selector.register(udp, selectors.EVENT_READ, functools.partial(self._on_udp, listener))
            self._selector.register(tcp, selectors.EVENT_READ, functools.partial(self._on_accept, listener))

    def _detach(self, key: str) -> None:
        with self._lock:
            listener = self._listeners.pop(key, None)
            if listener is not None:
                self._close_listener(listener)

    def _close_listener(self, listener: _Listener) -> None:
        """With the lock held."""
        listener.closed = True
        for conn in list(listener.conns):
            self._close_conn(conn)
        for sock in (listener.udp, listener.tcp):
            self._unregister(sock)
            sock.close()

    def _close_conn(self, conn: _Conn) -> None:
        """With the lock held."""
        if conn.closed:
            return
        conn.closed = True
        conn.listener.conns.discard(conn)
        self._unregister(conn.sock)
        conn.sock.close()

    def _unregister(self, sock: socket.socket) -> None:
        try:
            self._selector.unregister(sock)
        except (KeyError, ValueError):
            pass

    def _wake(self) -> None:
        try:
            self._wake_w.send(b"\0")
        except OSError:
            pass   # a wake-up is pending already (buffer full) or we are closing

    # ------------------------------------------------------------------------------------------
    # the server thread

    def _run(self) -> None:
        try:
            while not self._closed:
                for sk, mask in self._selector.select(timeout=1.0):
                    if sk.data is None:
                        _drain(self._wake_r)
                    else:
                        _safely(sk.data, mask)
                _safely(self._deliver_forwarded)
                _safely(self._expire_conns)
        finally:
            with self._lock:
                for listener in self._listeners.values():
                    self._close_listener(listener)
                self._listeners.clear()
                self._selector.close()
                self._wake_r.close()
                self._wake_w.close()

    def _on_udp(self, listener: _Listener, mask: int) -> None:
        for _ in range(64):   # a batch, then the other sockets get their turn
            try:
                wire, addr = listener.udp.recvfrom(65535)
            except OSError:   # nothing more to read (EAGAIN), or detached meanwhile
                return
            reply = self._handle(listener, wire, addr, tcp=False)
            if reply is not None:
                _send_udp(listener, addr, reply)

    def _on_accept(self, listener: _Listener, mask: int) -> None:
        for _ in range(16):
            try:
                sock, _ = listener.tcp.accept()
            except OSError:
                return
            sock.setblocking(False)
            conn = _Conn(sock, listener, time.monotonic() + TCP_IDLE)
            with self._lock:
                if listener.closed or len(listener.conns) >= MAX_TCP_CONNS:
                    sock.close()
                    continue
                listener.conns.add(conn)
                self._selector.register(sock, selectors.EVENT_READ, functools.partial(self._on_conn, conn))

    def _on_conn(self, conn: _Conn, mask: int) -> None:
        if mask & selectors.EVENT_WRITE:
            self._flush(conn)
        if not mask & selectors.EVENT_READ or conn.closed:
            return
        try:
            data = conn.sock.recv(65537)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if not data:
            with self._lock:
                self._close_conn(conn)
            return
        conn.inbuf += data
        conn.deadline = time.monotonic() + TCP_IDLE
        while len(conn.inbuf) >= 2 and not conn.closed:
            size = int.from_bytes(conn.inbuf[:2], "big")
            if len(conn.inbuf) < 2 + size:
                break
            wire = bytes(conn.inbuf[2:2 + size])
            del conn.inbuf[:2 + size]
            reply = self._handle(conn.listener, wire, conn, tcp=True)
            if reply is not None:
                self._send_tcp(conn, reply)

    def _send_tcp(self, conn: _Conn, wire: bytes) -> None:
        conn.outbuf += len(wire).to_bytes(2, "big") + wire
        self._flush(conn)

    def _flush(self, conn: _Conn) -> None:
        try:
            sent = conn.sock.send(conn.outbuf)
            del conn.outbuf[:sent]
        except (BlockingIOError, InterruptedError):
            pass
        except OSError:
            conn.outbuf.clear()
        with self._lock:
            if conn.closed:
                return
            if len(conn.outbuf) > MAX_TCP_BACKLOG:   # a client that does not read its answers
                self._close_conn(conn)
                return
            events = selectors.EVENT_READ | (selectors.EVENT_WRITE if conn.outbuf else 0)
            self._selector.modify(conn.sock, events, self._selector.get_key(conn.sock).data)

    def _expire_conns(self) -> None:
        now = time.monotonic()
        with self._lock:
            for listener in self._listeners.values():
                for conn in list(listener.conns):
                    if conn.deadline < now and not conn.pending and not conn.outbuf:
                        self._close_conn(conn)

    # ------------------------------------------------------------------------------------------
    # queries

    def _handle(self, listener: _Listener, wire: bytes, target: _Target, tcp: bool) -> bytes | None:
        """The answer to send now, or None (dropped, or forwarded: the answer comes later)."""
        try:
            query = dns.message.from_wire(wire)
        except Exception:   # garbage of any kind
            return None
        if query.flags & dns.flags.QR:
            return None
        if query.opcode() != dns.opcode.QUERY:
            return _error(query, dns.rcode.NOTIMP)
        if len(query.question) != 1:
            return _error(query, dns.rcode.FORMERR)
        try:
            response = self._answer(listener.key, query)
            if response is not None:
                size = TCP_MAX_SIZE if tcp else max(UDP_MIN_SIZE, query.payload if query.edns >= 0 else 0)
                return response.to_wire(max_size=size, prefer_truncation=True)
            upstreams = self._resolver.upstreams(listener.key)
        except Exception:
            log.exception("embedded DNS: cannot answer %s for %s", query.question[0], listener.key)
            return None
        if upstreams:
            self._forward(listener, target, query, wire, upstreams, tcp)
        return None

    def _answer(self, key: str, query: dns.message.Message) -> dns.message.Message | None:
        """Our own answer to ``query``, None if it is not ours to answer."""
        question = query.question[0]
        qname, rdtype = question.name, question.rdtype
        if question.rdclass != dns.rdataclass.IN or qname == dns.name.root:
            return None
        if rdtype in (dns.rdatatype.A, dns.rdatatype.AAAA, dns.rdatatype.MX):
            addresses = self._resolver.lookup(key, qname.to_text(omit_final_dot=True).lower())
            if addresses is None:
                return None
            response = dns.message.make_response(query, recursion_available=True)
            if rdtype == dns.rdatatype.A:
                for ip in random.sample(addresses, len(addresses)):
                    # one RRset per address: a UDP answer too big loses addresses one by one (TC set)
                    rdata = dns.rdtypes.IN.A.A(dns.rdataclass.IN, dns.rdatatype.A, ip)
                    response.answer.append(dns.rrset.from_rdata(qname, TTL, rdata))
            return response
        if rdtype == dns.rdatatype.PTR:
            address = _ptr_address(qname)
            host = self._resolver.reverse(key, address) if address is not None else None
            if not host:
                return None
            response = dns.message.make_response(query, recursion_available=True)
            ptr = dns.rdtypes.ANY.PTR.PTR(dns.rdataclass.IN, dns.rdatatype.PTR, dns.name.from_text(host))
            response.answer.append(dns.rrset.from_rdata(qname, TTL, ptr))
            return response
        return None

    def _forward(self, listener: _Listener, target: _Target, query: dns.message.Message, wire: bytes,
                 upstreams: list[str], tcp: bool) -> None:
        with self._lock:
            if self._closed:
                return
            if self._forwards >= MAX_FORWARDS:
                log.warning("embedded DNS: %d queries in flight to upstreams, dropping one", MAX_FORWARDS)
                return
            self._forwards += 1
        if isinstance(target, _Conn):
            target.pending += 1
        try:
            self._pool.submit(self._forward_job, listener, target, query, wire, upstreams, tcp)
        except RuntimeError:   # closed meanwhile
            with self._lock:
                self._forwards -= 1

    def _forward_job(self, listener: _Listener, target: _Target, query: dns.message.Message, wire: bytes,
                     upstreams: list[str], tcp: bool) -> None:
        answer: bytes | None = None
        try:
            answer = dns_forward.forward(query, wire, upstreams, tcp)
        except Exception:
            log.exception("embedded DNS: forwarding %s failed", query.question[0])
        finally:
            with self._lock:
                self._forwards -= 1
            self._answers.put((listener, target, answer))
            self._wake()

    def _deliver_forwarded(self) -> None:
        while True:
            try:
                listener, target, answer = self._answers.get_nowait()
            except queue.Empty:
                return
            if isinstance(target, _Conn):
                target.pending -= 1
                if answer is not None and not target.closed:
                    self._send_tcp(target, answer)
            elif answer is not None and not listener.closed:
                _send_udp(listener, target, answer)


def _safely(step: Callable[..., None], *args: object) -> None:
    try:
        step(*args)
    except Exception:   # a bug must cost one query, not the server
        log.exception("embedded DNS: unexpected failure")


def _error(query: dns.message.Message, rcode: dns.rcode.Rcode) -> bytes | None:
    try:
        response = dns.message.make_response(query, recursion_available=True)
        response.set_rcode(rcode)
        return response.to_wire(max_size=UDP_MIN_SIZE, prefer_truncation=True)
    except Exception:
        return None


def _ptr_address(qname: dns.name.Name) -> str | None:
    """"4.3.2.1.in-addr.arpa." -> "1.2.3.4"; None for anything else."""
    if not qname.is_subdomain(_IN_ADDR_ARPA):
        return None
    labels = qname.relativize(_IN_ADDR_ARPA).labels
    if len(labels) != 4:
        return None
    try:
        return str(ipaddress.IPv4Address(".".join(label.decode("ascii") for label in reversed(labels))))
    except (ValueError, UnicodeDecodeError):
        return None


def _send_udp(listener: _Listener, addr: tuple, wire: bytes) -> None:
    try:
        listener.udp.sendto(wire, addr)
    except OSError:
        pass   # a full buffer or a socket closed by detach: the client retries


def _drain(sock: socket.socket) -> None:
    try:
        while sock.recv(4096):
            pass
    except OSError:
        pass


def _bind(address: tuple[str, int]) -> tuple[socket.socket, socket.socket]:
    """A bound UDP socket and a listening TCP socket on ``address``, in the calling thread's namespace."""
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        udp.bind(address)
        tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        tcp.bind(address)
        tcp.listen(64)
    except BaseException:
        udp.close()
        tcp.close()
        raise
    return udp, tcp


def _bind_in(path: Path, address: tuple[str, int]) -> tuple[socket.socket, socket.socket]:
    """``_bind`` inside the namespace pinned at ``path``, by a thread of its own: should returning to
    our namespace ever fail, only that thread (which then ends) is left in the wrong one."""
    result: list[tuple[socket.socket, socket.socket]] = []
    failure: list[BaseException] = []

    def run() -> None:
        try:
            with netns.entered(path):
                # lo must be up first: sockets bound to 127.0.0.11 while it is down answer from 127.0.0.1
                netns.loopback_up()
                result.append(_bind(address))
        except BaseException as e:  # handed to the caller
            failure.append(e)

    thread = threading.Thread(target=run, name="tugd-dns-bind", daemon=True)
    thread.start()
    thread.join()
    if failure:
        raise failure[0]
    return result[0]
