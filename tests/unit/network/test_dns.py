"""The embedded DNS server on 127.0.0.1 high ports (no namespaces, no root): local answers as dockerd
gives them, forwarding to fake upstreams, TCP, garbage, detach and close."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import dns.flags
import dns.message
import dns.query
import dns.rcode
import dns.rdatatype
import dns.rrset
import pytest

from tugboat.network import dns_forward
from tugboat.network.dns import EmbeddedDNS, _bind

Handler = Callable[[dns.message.Message], dns.message.Message | None]


@dataclass
class FakeResolver:
    names: dict[str, dict[str, list[str]]] = field(default_factory=dict)     # key -> name -> ips
    ptrs: dict[str, dict[str, str]] = field(default_factory=dict)             # key -> ip -> name
    ups: dict[str, list[str]] = field(default_factory=dict)                   # key -> upstreams
    asked: list[str] = field(default_factory=list)
    fail: bool = False

    def lookup(self, key: str, name: str) -> list[str] | None:
        self.asked.append(name)
        if self.fail:
            raise RuntimeError("resolver broke")
        return self.names.get(key, {}).get(name)

    def reverse(self, key: str, ip: str) -> str | None:
        return self.ptrs.get(key, {}).get(ip)

    def upstreams(self, key: str) -> list[str]:
        return self.ups.get(key, [])


class FakeUpstream:
    """A DNS server on 127.0.0.1 (UDP and TCP, one port) answering with ``handler``; None = silence."""

    def __init__(self, handler: Handler, delay: float = 0.0) -> None:
        self.handler, self.delay = handler, delay
        self.ids: list[int] = []
        self.udp, self.tcp = bind_pair()
        self.udp.settimeout(0.1)
        self.tcp.settimeout(0.1)
        self.address = f"127.0.0.1:{self.udp.getsockname()[1]}"
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self._serve_udp), threading.Thread(target=self._serve_tcp)]
        for t in self.threads:
            t.start()

    def _reply(self, wire: bytes) -> bytes | None:
        query = dns.message.from_wire(wire)
        self.ids.append(query.id)
        time.sleep(self.delay)
        response = self.handler(query)
        return None if response is None else response.to_wire()

    def _serve_udp(self) -> None:
        while not self.stop.is_set():
            try:
                wire, addr = self.udp.recvfrom(65535)
            except TimeoutError:
                continue
            reply = self._reply(wire)
            if reply is not None:
                self.udp.sendto(reply, addr)

    def _serve_tcp(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.tcp.accept()
            except TimeoutError:
                continue
            with conn:
                conn.settimeout(2)
                size = int.from_bytes(conn.recv(2), "big")
                reply = self._reply(conn.recv(size))
                if reply is not None:
                    conn.sendall(len(reply).to_bytes(2, "big") + reply)

    def close(self) -> None:
        self.stop.set()
        for t in self.threads:
            t.join()
        self.udp.close()
        self.tcp.close()


def bind_pair() -> tuple[socket.socket, socket.socket]:
    """UDP + listening TCP socket on one free 127.0.0.1 port."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        try:
            return _bind(("127.0.0.1", port))
        except OSError:
            continue
    raise RuntimeError("no free port pair")


def answer_with(ip: str, rcode: dns.rcode.Rcode = dns.rcode.NOERROR, aa: bool = False) -> Handler:
    def handler(query: dns.message.Message) -> dns.message.Message:
        response = dns.message.make_response(query)
        response.set_rcode(rcode)
        if aa:
            response.flags |= dns.flags.AA
        if rcode == dns.rcode.NOERROR:
            response.answer.append(dns.rrset.from_text(query.question[0].name, 30, "IN", "A", ip))
        return response
    return handler


@dataclass
class Server:
    dns: EmbeddedDNS
    resolver: FakeResolver
    port: int
    upstreams: list[FakeUpstream]

    def attach(self, key: str = "c1") -> int:
        udp, tcp = bind_pair()
        self.dns._serve(key, udp, tcp)
        return int(udp.getsockname()[1])

    def upstream(self, handler: Handler, delay: float = 0.0) -> str:
        up = FakeUpstream(handler, delay)
        self.upstreams.append(up)
        return up.address

    def udp(self, name: str, rdtype: str = "A", port: int | None = None, timeout: float = 2.0,
            **kw: object) -> dns.message.Message:
        query = dns.message.make_query(name, rdtype, **kw)  # type: ignore[arg-type]
        response = dns.query.udp(query, "127.0.0.1", port=port or self.port, timeout=timeout)
        assert response.id == query.id
        return response

    def tcp(self, name: str, rdtype: str = "A") -> dns.message.Message:
        return dns.query.tcp(dns.message.make_query(name, rdtype), "127.0.0.1", port=self.port, timeout=2)


@pytest.fixture
def server() -> Iterator[Server]:
    resolver = FakeResolver(
        names={"c1": {"web": ["10.78.0.2"], "db": ["10.78.0.3", "10.78.0.4", "10.78.0.5", "10.78.0.6"]},
               "c2": {"web": ["10.79.0.9"]}},
        ptrs={"c1": {"10.78.0.2": "web.mynet"}},
    )
    embedded = EmbeddedDNS(resolver)
    s = Server(embedded, resolver, 0, [])
    s.port = s.attach("c1")
    yield s
    embedded.close()
    for up in s.upstreams:
        up.close()


def addresses(response: dns.message.Message) -> list[str]:
    return [rd.address for rrset in response.answer for rd in rrset]


def test_a_record_answered_as_dockerd(server: Server):
    r = server.udp("WEB.")
    assert r.rcode() == dns.rcode.NOERROR
    assert r.flags & dns.flags.RA and r.flags & dns.flags.QR
    assert addresses(r) == ["10.78.0.2"]
    assert r.answer[0].ttl == 600
    assert r.answer[0].name.to_text() == "WEB."          # the name as asked
    assert server.resolver.asked == ["web"]               # lower case, no trailing dot


def test_several_addresses_all_answered_in_shuffled_order(server: Server):
    orders = {tuple(addresses(server.udp("db."))) for _ in range(20)}
    assert all(sorted(o) == ["10.78.0.3", "10.78.0.4", "10.78.0.5", "10.78.0.6"] for o in orders)
    assert len(orders) > 1


def test_answers_depend_on_the_key(server: Server):
    port2 = server.attach("c2")
    assert addresses(server.udp("web.", port=port2)) == ["10.79.0.9"]
    assert addresses(server.udp("web.")) == ["10.78.0.2"]


def test_aaaa_and_mx_of_a_known_name_are_empty_noerror_and_never_forwarded(server: Server):
    up = server.upstream(answer_with("1.1.1.1"))
    server.resolver.ups["c1"] = [up]
    for rdtype in ("AAAA", "MX"):
        r = server.udp("web.", rdtype)
        assert r.rcode() == dns.rcode.NOERROR and r.answer == []
    assert server.upstreams[0].ids == []


def test_ptr_of_a_known_address(server: Server):
    r = server.udp("2.0.78.10.in-addr.arpa.", "PTR")
    assert r.rcode() == dns.rcode.NOERROR
    assert [rd.target.to_text() for rd in r.answer[0]] == ["web.mynet."]
    assert r.answer[0].ttl == 600


def test_unknown_ptr_is_forwarded(server: Server):
    def ptr_handler(query: dns.message.Message) -> dns.message.Message:
        response = dns.message.make_response(query)
        response.answer.append(dns.rrset.from_text(query.question[0].name, 30, "IN", "PTR", "elsewhere."))
        return response
    server.resolver.ups["c1"] = [server.upstream(ptr_handler)]
    r = server.udp("9.9.9.9.in-addr.arpa.", "PTR")
    assert [rd.target.to_text() for rd in r.answer[0]] == ["elsewhere."]


def test_unknown_name_is_forwarded_with_a_fresh_upstream_id_and_relayed_with_the_clients(server: Server):
    server.resolver.ups["c1"] = [server.upstream(answer_with("93.184.216.34"))]
    query = dns.message.make_query("example.com.", "A")
    r = dns.query.udp(query, "127.0.0.1", port=server.port, timeout=3)
    assert r.id == query.id
    assert addresses(r) == ["93.184.216.34"]
    assert r.answer[0].ttl == 30                           # the upstream's answer, untouched
    assert len(server.upstreams[0].ids) == 1 and server.upstreams[0].ids != [query.id]


def test_other_types_of_known_names_are_forwarded(server: Server):
    def txt(query: dns.message.Message) -> dns.message.Message:
        response = dns.message.make_response(query)
        response.set_rcode(dns.rcode.NXDOMAIN)
        response.flags |= dns.flags.AA
        return response
    server.resolver.ups["c1"] = [server.upstream(txt)]
    assert server.udp("web.", "TXT").rcode() == dns.rcode.NXDOMAIN


def test_forwarding_moves_on_from_failing_upstreams(server: Server):
    dead = FakeUpstream(answer_with("1.1.1.1"))   # a closed port: refused at once
    dead.close()
    server.resolver.ups["c1"] = [
        dead.address,
        server.upstream(answer_with("", dns.rcode.SERVFAIL)),
        server.upstream(answer_with("", dns.rcode.NXDOMAIN)),     # not authoritative: next one
    ]
    server.resolver.ups["c1"].append(server.upstream(answer_with("1.2.3.4")))
    # only three upstreams are ever tried (libnetwork's maxExtDNS): the last response is relayed
    assert server.udp("example.com.", timeout=5).rcode() == dns.rcode.NXDOMAIN
    server.resolver.ups["c1"] = server.resolver.ups["c1"][1:]
    assert addresses(server.udp("example.com.", timeout=5)) == ["1.2.3.4"]


def test_silent_upstream_times_out_and_the_next_one_answers(server: Server):
    server.resolver.ups["c1"] = [server.upstream(lambda q: None), server.upstream(answer_with("5.6.7.8"))]
    start = time.monotonic()
    assert addresses(server.udp("example.com.", timeout=5)) == ["5.6.7.8"]
    assert dns_forward.TIMEOUT <= time.monotonic() - start < dns_forward.TIMEOUT + 1.5


def test_no_upstreams_or_no_answer_means_no_reply_as_dockerd(server: Server):
    with pytest.raises(dns.exception.Timeout):
        server.udp("example.com.", timeout=1)                   # --internal network: no upstreams
    dead = FakeUpstream(answer_with("1.1.1.1"))
    dead.close()
    server.resolver.ups["c1"] = [dead.address]
    with pytest.raises(dns.exception.Timeout):
        server.udp("example.com.", timeout=1)


def test_a_slow_upstream_holds_up_no_other_query(server: Server):
    server.resolver.ups["c1"] = [server.upstream(answer_with("5.6.7.8"), delay=1.5)]
    result: list[dns.message.Message] = []
    slow = threading.Thread(target=lambda: result.append(server.udp("example.com.", timeout=5)))
    slow.start()
    time.sleep(0.2)
    start = time.monotonic()
    assert addresses(server.udp("web.")) == ["10.78.0.2"]
    assert time.monotonic() - start < 0.5
    slow.join()
    assert addresses(result[0]) == ["5.6.7.8"]


def test_tcp_queries_local_and_forwarded(server: Server):
    server.resolver.ups["c1"] = [server.upstream(answer_with("5.6.7.8"))]
    assert addresses(server.tcp("web.")) == ["10.78.0.2"]
    assert addresses(server.tcp("example.com.")) == ["5.6.7.8"]


def test_several_queries_on_one_tcp_connection_sent_in_pieces(server: Server):
    q1, q2 = dns.message.make_query("web.", "A"), dns.message.make_query("db.", "A")
    data = b"".join(len(w).to_bytes(2, "big") + w for w in (q1.to_wire(), q2.to_wire()))
    with socket.create_connection(("127.0.0.1", server.port), timeout=2) as s:
        s.sendall(data[:5])
        time.sleep(0.1)
        s.sendall(data[5:])
        answers = [dns.query.receive_tcp(s, time.time() + 2)[0] for _ in range(2)]
    assert [a.id for a in answers] == [q1.id, q2.id]
    assert addresses(answers[0]) == ["10.78.0.2"] and len(addresses(answers[1])) == 4


def test_big_answer_truncated_over_udp_complete_over_tcp(server: Server):
    many = [f"10.78.1.{i}" for i in range(1, 101)]
    server.resolver.names["c1"]["many"] = many
    r = server.udp("many.")
    assert r.flags & dns.flags.TC and 0 < len(addresses(r)) < 100
    assert len(r.to_wire()) <= 512
    assert sorted(addresses(server.tcp("many."))) == sorted(many)
    assert len(addresses(server.udp("many.", use_edns=0, payload=4096))) == 100


def test_garbage_is_dropped_and_the_server_keeps_serving(server: Server):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(0.5)
        for junk in (b"", b"\x00", b"\xff" * 11, bytes(range(256)) * 4):
            s.sendto(junk, ("127.0.0.1", server.port))
        response = dns.message.make_response(dns.message.make_query("web.", "A"))   # QR set: dropped
        s.sendto(response.to_wire(), ("127.0.0.1", server.port))
        with pytest.raises(TimeoutError):
            s.recv(65535)
    with socket.create_connection(("127.0.0.1", server.port), timeout=2) as c:
        c.sendall(b"\x00\x05abcde\x00\x00")       # a junk frame and an empty one
    assert addresses(server.udp("web.")) == ["10.78.0.2"]


def test_no_question_gets_formerr_and_other_opcodes_notimp(server: Server):
    query = dns.message.make_query("web.", "A")
    query.question = []
    r = dns.query.udp(query, "127.0.0.1", port=server.port, timeout=2, ignore_unexpected=True)
    assert r.rcode() == dns.rcode.FORMERR
    notify = dns.message.make_query("web.", "SOA")
    notify.set_opcode(dns.opcode.NOTIFY)
    assert dns.query.udp(notify, "127.0.0.1", port=server.port, timeout=2).rcode() == dns.rcode.NOTIMP


def test_a_failing_resolver_drops_the_query_only(server: Server):
    server.resolver.fail = True
    with pytest.raises(dns.exception.Timeout):
        server.udp("web.", timeout=0.5)
    server.resolver.fail = False
    assert addresses(server.udp("web.")) == ["10.78.0.2"]


def test_detach_closes_the_sockets_and_tcp_connections(server: Server):
    conn = socket.create_connection(("127.0.0.1", server.port), timeout=2)
    time.sleep(0.1)
    server.dns.detach("c1")
    server.dns.detach("c1")                  # idempotent
    assert conn.recv(1) == b""               # the open connection is closed
    conn.close()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", server.port), timeout=2)
    for sock in _bind(("127.0.0.1", server.port)):     # the port is free again (UDP and TCP)
        sock.close()


def test_attach_again_replaces_the_old_sockets(server: Server):
    old = server.dns._listeners["c1"]
    server.port = server.attach("c1")
    assert old.udp.fileno() == -1 and old.tcp.fileno() == -1
    assert addresses(server.udp("web.")) == ["10.78.0.2"]


def test_close_stops_the_thread_and_refuses_attach(server: Server):
    server.dns.close()
    assert not server.dns._thread.is_alive()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", server.port), timeout=2)
    with pytest.raises(RuntimeError):
        server.attach("c3")
    server.dns.close()                       # idempotent


def test_idle_tcp_connections_are_closed(server: Server, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr("tugboat.network.dns.TCP_IDLE", 0.2)
    with socket.create_connection(("127.0.0.1", server.port), timeout=3) as c:
        assert c.recv(1) == b""


@pytest.mark.parametrize(("text", "expected"), [
    ("1.2.3.4", ("1.2.3.4", 53)),
    ("1.2.3.4:5353", ("1.2.3.4", 5353)),
    ("[::1]:5353", ("::1", 5353)),
    ("::1", ("::1", 53)),
    ("nameserver", None),
    ("1.2.3.4:x", None),
    ("1.2.3.4:0", None),
    ("[::1]x", None),
])
def test_upstream_addresses(text: str, expected: tuple[str, int] | None):
    address = dns_forward.upstream_address(text)
    assert (address and address[1][:2]) == expected
