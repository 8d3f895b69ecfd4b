"""Who can reach whom, end to end with real containers: an --internal network, two user networks and
a container connected to both, the default bridge (icc, no names, the host), --network container:<id>,
and published UDP ports and port ranges.

Every negative check ("cannot reach") is preceded by a positive one on the same server, so that it
fails for the isolation and not because the server was not up yet; negative checks time out in 2 s.

Not asserted, because the engines differ on purpose: dockerd 20.10 gives a container on an --internal
network a default route via the bridge's gateway, so it reaches the host's own addresses (INPUT is not
filtered) and its embedded DNS forwards to upstreams reachable that way; Tugboat gives it no default
route (docs/NETWORKING.md, EndpointLink.gateway) and forwards nothing.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from .helpers import ok
from .test_networking import free_port, host_address, http_get, subnet_of

WEB = "mkdir -p /www && echo hello from $(hostname) > /www/index.html && exec httpd -f -p 80 -h /www"


def web(tug: Any, name: str, *args: str) -> str:
    """A busybox httpd on port 80 answering "hello from <hostname>"; its name."""
    ok(tug("run", "-d", "--name", name, *args, "busybox", "sh", "-c", WEB))
    return name


def idle(tug: Any, name: str, *args: str) -> str:
    ok(tug("run", "-d", "--name", name, *args, "busybox", "sleep", "300"))
    return name


def ip_on(dclient: Any, name: str, net: str = "bridge") -> str:
    return str(dclient.api.inspect_container(name)["NetworkSettings"]["Networks"][net]["IPAddress"])


def fetch(tug: Any, client: str, target: str, port: int = 80) -> str:
    """GET http://target:port/ from inside `client`, retried for up to ~6 s (httpd may not listen yet).
    `timeout 3`: this busybox's own `wget -T` crashes (SIGSEGV)."""
    p = tug("exec", client, "sh", "-c", f"for i in $(seq 30); do timeout 3 wget -qO- http://{target}:{port}/ && exit 0; "
                                        "sleep 0.2; done; exit 1")
    assert p.returncode == 0, f"{client} could not reach {target}:{port}: {p.stderr}"
    return str(p.stdout)


def connects(tug: Any, client: str, target: str, port: int = 80) -> bool:
    """Does a TCP connection from `client` to target:port succeed within 2 s?"""
    return tug("exec", client, "sh", "-c", f"echo | nc -w 2 {target} {port}", timeout=30).returncode == 0


@pytest.fixture
def network(tug: Any, token: str) -> Iterator[Callable[..., str]]:
    """network("hint", *flags) -> a user network created now, removed after the test."""
    made: list[str] = []

    def make(hint: str, *args: str) -> str:
        made.append(f"tt{token}-{hint}-{len(made)}")
        ok(tug("network", "create", *args, made[-1]))
        return made[-1]

    yield make
    for name in made:
        tug("network", "rm", name)


@pytest.fixture
def host_listener() -> Iterator[tuple[str, int, list[str]]]:
    """A TCP listener on the host's address (eth0): (address, port, peers that connected)."""
    host = host_address()
    listener = socket.socket()
    listener.bind((host, 0))
    listener.listen(8)
    listener.settimeout(0.2)
    peers: list[str] = []
    done = threading.Event()

    def serve() -> None:
        while not done.is_set():
            try:
                conn, peer = listener.accept()
            except (TimeoutError, OSError):
                continue
            peers.append(peer[0])
            conn.close()
    t = threading.Thread(target=serve, daemon=True)
    t.start()
    try:
        yield host, listener.getsockname()[1], peers
    finally:
        done.set()
        t.join(5)
        listener.close()


def test_internal_network_reaches_only_its_own(tug: Any, dclient: Any, network: Any, new_name: Any) -> None:
    """--internal: peers by IP and by name (embedded DNS); nothing on another network or the default bridge;
    an outside name is not resolved."""
    net = network("internal", "--internal")
    other = network("outside")
    a = web(tug, new_name("a"), "--network", net)
    b = idle(tug, new_name("b"), "--network", net)
    far = web(tug, new_name("far"), "--network", other)
    bridged = web(tug, new_name("bridged"))
    a_ip = ip_on(dclient, a, net)
    assert fetch(tug, b, a_ip).startswith("hello from")
    assert fetch(tug, b, a).startswith("hello from")                       # by name, 127.0.0.11
    assert f"Address: {a_ip}" in ok(tug("exec", b, "nslookup", a)).stdout
    probe = idle(tug, new_name("probe"), "--network", other)             # the servers are up ...
    assert fetch(tug, probe, far).startswith("hello from")
    bridge_probe = idle(tug, new_name("bprobe"))
    assert fetch(tug, bridge_probe, ip_on(dclient, bridged)).startswith("hello from")
    assert not connects(tug, b, ip_on(dclient, far, other))              # ... but not from inside
    assert not connects(tug, b, ip_on(dclient, bridged))
    assert not connects(tug, probe, a_ip) and not connects(tug, bridge_probe, a_ip)   # nor in from outside
    assert http_get(f"http://{a_ip}/").startswith("hello from")          # the host itself reaches in
    gateway = dclient.api.inspect_container(b)["NetworkSettings"]["Networks"][net]["Gateway"]
    assert gateway and f"default via {gateway} dev eth0" in ok(tug("exec", b, "ip", "route")).stdout  # as dockerd
    started = time.monotonic()
    miss = tug("exec", b, "nslookup", "example.com", timeout=60)
    assert miss.returncode != 0 and "Address: " not in miss.stdout.split("example.com", 1)[-1]
    assert time.monotonic() - started < 20


def test_two_networks_are_isolated_until_connected(tug: Any, dclient: Any, network: Any, new_name: Any) -> None:
    net_a, net_b = network("a"), network("b")
    a = web(tug, new_name("a"), "--network", net_a)
    b = web(tug, new_name("b"), "--network", net_b)
    c = idle(tug, new_name("c"), "--network", net_a)
    b_ip = ip_on(dclient, b, net_b)
    assert subnet_of(tug, net_a) != subnet_of(tug, net_b)
    assert fetch(tug, c, a).startswith("hello from")
    assert fetch(tug, b, b_ip).startswith("hello from")                  # b serves ...
    assert not connects(tug, c, b_ip)                                     # ... but not to network A
    assert not connects(tug, a, b_ip)
    assert not connects(tug, b, ip_on(dclient, a, net_a))
    ok(tug("network", "connect", net_b, c))
    assert fetch(tug, c, b_ip).startswith("hello from")                  # eth1, on B's own subnet
    assert fetch(tug, c, b).startswith("hello from")                     # and B's name
    assert fetch(tug, c, ip_on(dclient, a, net_a)).startswith("hello from")
    assert not connects(tug, a, b_ip)                                     # a itself is still on A only


def test_default_bridge_icc_no_names_and_the_host(tug: Any, dclient: Any, new_name: Any,
                                                   host_listener: tuple[str, int, list[str]]) -> None:
    """On the default bridge containers reach each other by IP but not by name (no embedded DNS), and
    the host's own address."""
    a = web(tug, new_name("a"))
    b = idle(tug, new_name("b"))
    a_ip = ip_on(dclient, a)
    assert fetch(tug, b, a_ip) == f"hello from {dclient.api.inspect_container(a)['Config']['Hostname']}\n"
    resolv = ok(tug("exec", b, "cat", "/etc/resolv.conf")).stdout
    assert "127.0.0.11" not in resolv
    assert tug("exec", b, "nslookup", a, timeout=60).returncode != 0
    assert tug("exec", b, "timeout", "3", "wget", "-qO-", f"http://{a}/", timeout=60).returncode != 0
    host, port, peers = host_listener
    assert connects(tug, b, host, port)
    deadline = time.monotonic() + 5
    while not peers and time.monotonic() < deadline:
        time.sleep(0.05)
    assert peers == [ip_on(dclient, b)]       # delivered on the host itself: no NAT of the source


def test_container_network_mode_shares_the_namespace(tug: Any, dclient: Any, new_name: Any) -> None:
    a = new_name("owner")
    ok(tug("run", "-d", "--name", a, "busybox", "sh", "-c",
           "mkdir /www && echo shared > /www/index.html && exec httpd -f -p 127.0.0.1:8080 -h /www"))
    b = idle(tug, new_name("guest"), "--network", f"container:{a}")
    addrs = ok(tug("exec", a, "ip", "-o", "addr")).stdout
    assert ok(tug("exec", b, "ip", "-o", "addr")).stdout == addrs
    assert f"inet {ip_on(dclient, a)}/" in addrs and " eth0 " in addrs
    assert fetch(tug, b, "127.0.0.1", 8080) == "shared\n"
    owner, guest = dclient.api.inspect_container(a), dclient.api.inspect_container(b)
    assert guest["HostConfig"]["NetworkMode"] == f"container:{owner['Id']}"
    assert guest["NetworkSettings"]["Networks"] == {} and guest["NetworkSettings"]["IPAddress"] == ""
    # dockerd gives the guest the owner's host name (and /etc/hosts, resolv.conf), not a UTS namespace
    hostname = owner["Config"]["Hostname"]
    assert guest["Config"]["Hostname"] == hostname
    seen = ok(tug("exec", b, "sh", "-c", "hostname; cat /etc/hostname; echo $HOSTNAME")).stdout
    assert seen.splitlines() == [hostname] * 3
    assert ok(tug("exec", b, "cat", "/etc/hosts")).stdout == ok(tug("exec", a, "cat", "/etc/hosts")).stdout


def test_container_network_mode_refuses_its_own_network_options(tug: Any, new_name: Any) -> None:
    """What belongs to the joined namespace cannot be set again (dockerd's create-time errors)."""
    a = idle(tug, new_name("owner"))
    for flags, what in ((["-p", "80:80"], "port publishing and the container type network mode"),
                        (["--expose", "80"], "port exposing and the container type network mode"),
                        (["--hostname", "x"], "hostname and the network mode"),
                        (["--dns", "192.0.2.53"], "dns and the network mode"),
                        (["--add-host", "h:192.0.2.9"], "custom host-to-IP mapping and the network mode"),
                        (["--link", f"{a}:x"], "container type network can't be used with links")):
        p = tug("create", "--name", new_name("bad"), *flags, "--network", f"container:{a}", "busybox", "true")
        assert p.returncode == 1 and f"Error response from daemon: conflicting options: {what}" in p.stderr, \
            (flags, p.stderr)
    assert ok(tug("ps", "-a", "-q", "--filter", "name=-bad-")).stdout == ""


UDP_ECHO = ("use IO::Socket::INET; my $s = IO::Socket::INET->new(LocalPort => 53, Proto => 'udp') or die $!; "
            "while ($s->recv(my $m, 512)) { $s->send(qq(echo $m)) }")


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("0.0.0.0", 0))
        return int(s.getsockname()[1])


def udp_ask(address: str, port: int, message: bytes, timeout: float = 15) -> bytes:
    """Send to address:port until an answer comes (the server may not be up yet)."""
    deadline = time.monotonic() + timeout
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(0.3)
        while True:
            s.sendto(message, (address, port))
            try:
                return s.recv(512)
            except (TimeoutError, ConnectionRefusedError):
                if time.monotonic() > deadline:
                    raise


def test_publish_udp(tug: Any, debian_image: str, new_name: Any) -> None:
    """-p HOST:53/udp: a datagram from the host to 127.0.0.1:HOST (and to its eth0 address) reaches the
    server and its answer comes back (a perl echo server: busybox here has no UDP server)."""
    port = free_udp_port()
    name = new_name("udp")
    ok(tug("run", "-d", "--name", name, "-p", f"{port}:53/udp", debian_image, "perl", "-e", UDP_ECHO))
    assert udp_ask("127.0.0.1", port, b"ping") == b"echo ping"
    assert udp_ask(host_address(), port, b"pong") == b"echo pong"
    assert [line for line in ok(tug("port", name)).stdout.splitlines() if "[::]" not in line] == \
        [f"53/udp -> 0.0.0.0:{port}"]
    assert ok(tug("port", name, "53/udp")).stdout.splitlines()[0] == f"0.0.0.0:{port}"


def free_port_pair() -> int:
    """A TCP port p with p + 1 free too."""
    for _ in range(100):
        p = free_port()
        if p >= 65535:
            continue
        with socket.socket() as s:
            try:
                s.bind(("0.0.0.0", p + 1))
            except OSError:
                continue
            return p
    raise AssertionError("no two consecutive free ports")


def test_publish_port_range(cli: Any, new_name: Any) -> None:
    first = free_port_pair()
    second = first + 1
    name = new_name("range")
    ok(cli("run", "-d", "--name", name, "-p", f"{first}-{second}:{first}-{second}", "busybox", "sh", "-c",
           f"mkdir /www && echo ranged > /www/index.html && httpd -p {first} -h /www && "
           f"exec httpd -f -p {second} -h /www"))
    assert [line for line in ok(cli("port", name)).stdout.splitlines() if "[::]" not in line] == \
        [f"{first}/tcp -> 0.0.0.0:{first}", f"{second}/tcp -> 0.0.0.0:{second}"]
    assert ok(cli("port", name, str(second))).stdout.splitlines()[0] == f"0.0.0.0:{second}"
    ps = ok(cli("ps", "--filter", f"name={name}", "--format", "{{.Ports}}")).stdout.strip()
    assert ps.split(", ")[0] == f"0.0.0.0:{first}-{second}->{first}-{second}/tcp"
    assert http_get(f"http://127.0.0.1:{first}/") == "ranged\n"
    assert http_get(f"http://127.0.0.1:{second}/") == "ranged\n"
