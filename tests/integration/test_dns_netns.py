"""The embedded DNS server in real network namespaces (root): 127.0.0.11:53 inside, answered per
namespace, forwarding done from tugd's own namespace, nothing left after detach.

Needs no tugd: each namespace is held by an `unshare --net sleep` process (no pin to unmount: killing
it removes everything); queries are sent from inside with nsenter (busybox nslookup, and dnspython
from the venv).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import dns.message
import dns.rrset
import pytest

from tugboat.network.dns import EmbeddedDNS

QUERY = """
import sys, dns.message, dns.query
q = dns.message.make_query(sys.argv[2], sys.argv[3])
send = dns.query.tcp if sys.argv[1] == "tcp" else dns.query.udp
r = send(q, "127.0.0.11", timeout=float(sys.argv[4]))
print(r.rcode(), " ".join(sorted(rd.to_text() for rrset in r.answer for rd in rrset)))
"""


class Resolver:
    def __init__(self) -> None:
        self.names = {"a": {"web": ["10.78.0.2"]}, "b": {"web": ["10.78.1.2", "10.78.1.3"]}}
        self.ups: dict[str, list[str]] = {}

    def lookup(self, key: str, name: str) -> list[str] | None:
        return self.names.get(key, {}).get(name)

    def reverse(self, key: str, ip: str) -> str | None:
        return "web.mynet" if key == "a" and ip == "10.78.0.2" else None

    def upstreams(self, key: str) -> list[str]:
        return self.ups.get(key, [])


@dataclass
class Namespace:
    """A network namespace held by a process of its own (no pin, no mount: gone with the process)."""

    proc: subprocess.Popen

    @property
    def path(self) -> Path:
        return Path(f"/proc/{self.proc.pid}/ns/net")

    def run(self, *argv: str, timeout: float = 30) -> subprocess.CompletedProcess:
        return subprocess.run(["nsenter", f"--net={self.path}", *argv], capture_output=True, text=True,
                              timeout=timeout)


def query(ns: Namespace, name: str, rdtype: str = "A", proto: str = "udp", timeout: float = 3) -> str:
    out = ns.run(sys.executable, "-c", QUERY, proto, name, rdtype, str(timeout))
    return out.stdout.strip() if out.returncode == 0 else f"failed: {out.stderr.strip().splitlines()[-1:]}"


@pytest.fixture
def setup() -> Iterator[tuple[EmbeddedDNS, Resolver, Callable[..., Namespace]]]:
    resolver = Resolver()
    server = EmbeddedDNS(resolver)
    namespaces: list[Namespace] = []

    def new_namespace(lo_up: bool = True) -> Namespace:
        ns = Namespace(subprocess.Popen(["unshare", "--net", "sleep", "300"]))
        namespaces.append(ns)
        for _ in range(100):   # unshare has switched once its namespace differs from ours
            if os.readlink(ns.path) != os.readlink("/proc/self/ns/net"):
                break
            time.sleep(0.02)
        assert not lo_up or ns.run("ip", "link", "set", "lo", "up").returncode == 0
        return ns

    try:
        yield server, resolver, new_namespace
    finally:
        server.close()
        for ns in namespaces:
            ns.proc.kill()
            ns.proc.wait()


def test_each_namespace_gets_its_own_answers_at_127_0_0_11(setup):
    server, _, new_namespace = setup
    a, b = new_namespace(), new_namespace()
    server.attach("a", a.path)
    server.attach("b", b.path)
    assert query(a, "web.") == "0 10.78.0.2"
    assert query(b, "web.") == "0 10.78.1.2 10.78.1.3"
    assert query(b, "web.", proto="tcp") == "0 10.78.1.2 10.78.1.3"
    assert query(a, "2.0.78.10.in-addr.arpa.", "PTR") == "0 web.mynet."
    out = a.run("/bin/busybox", "nslookup", "web", "127.0.0.11").stdout
    assert "Address: 10.78.0.2" in out
    # the sockets are in the namespaces, none in the host's
    host = subprocess.run(["ss", "-Htulnp"], capture_output=True, text=True, check=True).stdout
    assert not [line for line in host.splitlines() if "127.0.0.11:53" in line and f"pid={os.getpid()}," in line]


def test_forwarding_runs_from_the_host_namespace(setup):
    server, resolver, new_namespace = setup
    ns = new_namespace()
    # an upstream only the host namespace can reach: 127.0.0.1 of the host
    upstream = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    upstream.bind(("127.0.0.1", 0))
    upstream.settimeout(5)

    def serve_one() -> None:
        wire, addr = upstream.recvfrom(65535)
        response = dns.message.make_response(dns.message.from_wire(wire))
        response.answer.append(dns.rrset.from_text("example.com.", 30, "IN", "A", "93.184.216.34"))
        upstream.sendto(response.to_wire(), addr)

    t = threading.Thread(target=serve_one)
    t.start()
    try:
        resolver.ups["k"] = [f"127.0.0.1:{upstream.getsockname()[1]}"]
        server.attach("k", ns.path)
        assert query(ns, "example.com.") == "0 93.184.216.34"
    finally:
        t.join()
        upstream.close()


def test_detach_and_reattach(setup):
    server, _, new_namespace = setup
    ns = new_namespace()
    server.attach("a", ns.path)
    server.attach("a", ns.path)                     # again: replaces the sockets (same address)
    assert query(ns, "web.") == "0 10.78.0.2"
    server.detach("a")
    assert query(ns, "web.", timeout=1).startswith("failed")
    assert query(ns, "web.", proto="tcp", timeout=1).startswith("failed")
    assert ns.run("ss", "-Htuln").stdout.strip() == ""


def test_attach_to_a_missing_namespace_fails(setup):
    server, _, _ = setup
    with pytest.raises(FileNotFoundError, match="127.0.0.11:53 in /run/tt-dns-no-such-netns"):
        server.attach("x", Path("/run/tt-dns-no-such-netns"))


def test_attach_brings_lo_up(setup):
    # sockets bound to 127.0.0.11 while lo is down would answer from 127.0.0.1, which clients reject
    server, _, new_namespace = setup
    ns = new_namespace(lo_up=False)
    server.attach("a", ns.path)
    assert "UP" in ns.run("ip", "-brief", "link", "show", "lo").stdout
    assert query(ns, "web.") == "0 10.78.0.2"
