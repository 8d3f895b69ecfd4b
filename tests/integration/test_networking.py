"""Containers on networks, end to end: addresses and routes on the default bridge, NAT, published
ports (-p, -P, `port`, a taken port), user-defined networks with the embedded DNS, --link, network
connect/disconnect on a running container, --network none/host, and a tugd killed with -9.

The private tugd has a bridge, subnets and iptables chains of its own (tests/integration/conftest.py:
bridge tt<token> whose veths are tt<token>*, chains TT<token>-*), so what a test leaves is countable.
"""

from __future__ import annotations

import ipaddress
import json
import socket
import subprocess
import threading
import time
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from tugboat.network.links import links_with_prefix

from .helpers import ok, wait_until

WEB = "mkdir -p /www && echo hello from $(hostname) > /www/index.html && exec httpd -f -p 80 -h /www"


def host_address() -> str:
    """The host's address on its default route's interface (eth0 here)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.connect(("192.0.2.123", 9))   # no packet is sent; the kernel picks the source address
        return str(s.getsockname()[0])


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("0.0.0.0", 0))
        return int(s.getsockname()[1])


def http_get(url: str, timeout: float = 15) -> str:
    """GET, retried until the server answers (httpd may not listen yet)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                return str(r.read().decode())
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def subnet_of(cli: Any, network: str = "bridge") -> ipaddress.IPv4Network:
    out = ok(cli("network", "inspect", network, "--format", "{{(index .IPAM.Config 0).Subnet}}")).stdout
    return ipaddress.IPv4Network(out.strip())


def veth_count(tugd: Any) -> int:
    """Host-side veths of the engine under test (the real Docker's are "veth...")."""
    return len(links_with_prefix(f"tt{tugd.token}" if tugd.token else "veth"))


def rules_mentioning(text: str) -> list[str]:
    out = []
    for table in ("filter", "nat"):
        r = subprocess.run(["iptables-save", "-t", table], capture_output=True, text=True)
        out += [line for line in r.stdout.splitlines() if text in line and not line.startswith(":")]
    return out


@pytest.fixture
def network(tug: Any, token: str) -> Iterator[Any]:
    """network("name") -> a user network created now, removed after the test."""
    made: list[str] = []

    def make(hint: str = "net", *args: str) -> str:
        name = f"tt{token}-{hint}-{len(made)}"
        ok(tug("network", "create", *args, name))
        made.append(name)
        return name

    yield make
    for name in made:
        tug("network", "rm", name)


def test_bridge_address_route_and_nat(tug: Any, new_name: Any) -> None:
    """eth0 in the bridge's subnet with a default route via its gateway; the host's own address reachable."""
    subnet = subnet_of(tug)
    host = host_address()
    listener = socket.socket()
    listener.bind((host, 0))
    listener.listen(1)
    seen: list[bytes] = []

    def serve() -> None:
        conn, _ = listener.accept()
        with conn:
            seen.append(conn.recv(100))
    t = threading.Thread(target=serve, daemon=True)
    t.start()
    try:
        p = ok(tug("run", "--rm", "--name", new_name("addr"), "busybox", "sh", "-c",
                   f"ip -4 -o addr show eth0; ip route; echo ping | nc -w 5 {host} {listener.getsockname()[1]}"))
        t.join(10)
    finally:
        listener.close()
    addr = p.stdout.split("inet ", 1)[1].split()[0]
    assert ipaddress.IPv4Interface(addr).network == subnet
    assert f"default via {next(subnet.hosts())} dev eth0" in p.stdout
    assert seen == [b"ping\n"]


def test_publish_on_localhost_with_port_ps_and_inspect(cli: Any, new_name: Any) -> None:
    port = free_port()
    name = new_name("web")
    ok(cli("run", "-d", "--name", name, "-p", f"127.0.0.1:{port}:80", "--expose", "443", "busybox", "sh", "-c", WEB))
    assert http_get(f"http://127.0.0.1:{port}/").startswith("hello from")
    assert ok(cli("port", name)).stdout == f"80/tcp -> 127.0.0.1:{port}\n"
    assert ok(cli("port", name, "80")).stdout == f"127.0.0.1:{port}\n"
    bad = cli("port", name, "443/tcp")
    assert bad.returncode == 1 and f"No public port '443/tcp' published for {name}" in bad.stderr
    ps = ok(cli("ps", "--filter", f"name={name}", "--format", "{{.Ports}}")).stdout
    assert ps == f"443/tcp, 127.0.0.1:{port}->80/tcp\n"
    ns = json.loads(ok(cli("inspect", name, "--format", "{{json .NetworkSettings.Ports}}")).stdout)
    assert ns == {"80/tcp": [{"HostIp": "127.0.0.1", "HostPort": str(port)}], "443/tcp": None}
    ok(cli("rm", "-f", name))


def test_publish_on_host_address_and_publish_all(tug: Any, dclient: Any, new_name: Any) -> None:
    port = free_port()
    host = host_address()
    a = dclient.containers.run("busybox", ["sh", "-c", WEB], detach=True, name=new_name("a"), ports={"80/tcp": port})
    b = dclient.containers.run("busybox", ["sh", "-c", WEB], detach=True, name=new_name("b"),
                               ports={"80/tcp": None}, publish_all_ports=True)
    try:
        assert http_get(f"http://{host}:{port}/").startswith("hello from")
        # from another container too (DNAT of the host's address, hairpin NAT on the bridge)
        assert ok(tug("run", "--rm", "busybox", "wget", "-qO-", f"http://{host}:{port}/")).stdout == \
            f"hello from {a.id[:12]}\n"
        b.reload()
        # dockerd 20.10 on a host with IPv6 also binds [::] through its userland proxy; Tugboat
        # publishes on IPv4 only (its containers have no IPv6), so only the IPv4 binding is compared
        (binding,) = [x for x in b.attrs["NetworkSettings"]["Ports"]["80/tcp"] if x["HostIp"] != "::"]
        assert binding["HostIp"] == "0.0.0.0" and int(binding["HostPort"]) > 1024
        assert ok(tug("port", b.name, "80/tcp")).stdout == f"0.0.0.0:{binding['HostPort']}\n"
        assert http_get(f"http://{host}:{binding['HostPort']}/").startswith("hello from")
        (listed,) = [c for c in dclient.api.containers(filters={"name": b.name})]
        assert [x for x in listed["Ports"] if x["IP"] != "::"] == [{"IP": "0.0.0.0", "PrivatePort": 80, "PublicPort": int(binding["HostPort"]),
                                    "Type": "tcp"}]
    finally:
        a.remove(force=True)
        b.remove(force=True)


def test_taken_port_fails_the_start_and_leaves_nothing(cli: Any, tugd: Any, new_name: Any) -> None:
    port = free_port()
    first = new_name("holder")
    ok(cli("run", "-d", "--name", first, "-p", f"{port}:80", "busybox", "sleep", "300"))
    veths, rules = veth_count(tugd), rules_mentioning(f"--dport {port}")
    second = new_name("loser")
    p = cli("run", "-d", "--name", second, "-p", f"{port}:80", "busybox", "sleep", "300")
    assert p.returncode == 125
    assert f"Bind for 0.0.0.0:{port} failed: port is already allocated" in p.stderr
    assert "driver failed programming external connectivity on endpoint " + second in p.stderr
    state = ok(cli("inspect", second, "--format", "{{.State.Status}} {{.NetworkSettings.IPAddress}}|")).stdout
    assert state == "created |\n"
    assert veth_count(tugd) == veths and rules_mentioning(f"--dport {port}") == rules
    ok(cli("rm", "-f", first))
    assert veth_count(tugd) == veths - 1 and rules_mentioning(f"--dport {port}") == []
    ok(cli("start", second))       # the port is free again
    ok(cli("rm", "-f", second))


def test_user_network_names_aliases_and_unknown_names(cli: Any, network: Any, new_name: Any) -> None:
    net = network("dns")
    db = new_name("db")
    ok(cli("run", "-d", "--name", db, "--network", net, "--network-alias", "database", "busybox", "sleep", "300"))
    db_ip = ok(cli("inspect", db, "--format", f'{{{{(index .NetworkSettings.Networks "{net}").IPAddress}}}}')).stdout
    assert ipaddress.IPv4Address(db_ip.strip()) in subnet_of(cli, net)
    p = ok(cli("run", "--rm", "--network", net, "busybox", "sh", "-c",
               f"cat /etc/resolv.conf; nslookup {db}; nslookup database; ping -c1 -W2 {db}"))
    assert "nameserver 127.0.0.11" in p.stdout
    assert p.stdout.count(f"Address: {db_ip.strip()}") >= 2 and "1 packets received" in p.stdout
    started = time.monotonic()
    miss = cli("run", "--rm", "--network", net, "busybox", "nslookup", "no-such-name.invalid", timeout=60)
    assert miss.returncode != 0 and time.monotonic() - started < 30
    aliases = json.loads(ok(cli("inspect", db, "--format",
                                f'{{{{json (index .NetworkSettings.Networks "{net}").Aliases}}}}')).stdout)
    short = ok(cli("inspect", db, "--format", "{{.Id}}")).stdout[:12]
    assert aliases == ["database", short]
    assert ok(cli("ps", "--filter", f"network={net}", "--format", "{{.Names}}")).stdout == f"{db}\n"
    ok(cli("rm", "-f", db))


def test_static_ip_and_mac(tug: Any, network: Any) -> None:
    x = subnet_of(tug).network_address.packed[1]
    net = network("static", "--subnet", f"10.{x}.99.0/24")
    p = ok(tug("run", "--rm", "--network", net, "--ip", f"10.{x}.99.77", "--mac-address", "02:42:ac:11:00:99",
               "busybox", "sh", "-c", "ip -o -4 addr show eth0; ip -o link show eth0"))
    assert f"inet 10.{x}.99.77/24" in p.stdout and "link/ether 02:42:ac:11:00:99" in p.stdout
    bridge = tug("run", "--rm", "--ip", f"10.{x}.0.77", "busybox", "true")
    assert bridge.returncode == 125
    assert "user specified IP address is supported on user defined networks only" in bridge.stderr
    pooled = network("pooled")
    other = tug("run", "--rm", "--network", pooled, "--ip", f"10.{x}.99.78", "busybox", "true")
    assert "user specified IP address is supported only when connecting to networks with user configured " \
           "subnets" in other.stderr


def test_link_gives_hosts_entry_and_env(cli: Any, new_name: Any) -> None:
    """The seed journey: a "db" container, a client reaching it as "db" by --link."""
    db = new_name("db")
    ok(cli("run", "-d", "--name", db, "-e", "DB_PASSWORD=secret", "--expose", "3306", "busybox", "sh", "-c",
           "mkdir /www && echo rows > /www/index.html && exec httpd -f -p 3306 -h /www"))
    ip = ok(cli("inspect", db, "--format", "{{.NetworkSettings.IPAddress}}")).stdout.strip()
    client = new_name("client")
    p = ok(cli("run", "--name", client, "--link", f"{db}:db", "busybox", "sh", "-c",
               "env; cat /etc/hosts; for i in 1 2 3 4 5 6 7 8 9 10; do wget -qO- http://db:3306/ && break; "
               "sleep 0.3; done"))
    env = dict(line.split("=", 1) for line in p.stdout.splitlines() if line.startswith("DB_"))
    assert env["DB_PORT"] == env["DB_PORT_3306_TCP"] == f"tcp://{ip}:3306"
    assert (env["DB_PORT_3306_TCP_ADDR"], env["DB_PORT_3306_TCP_PORT"]) == (ip, "3306")
    assert env["DB_NAME"] == f"/{client}/db" and env["DB_ENV_DB_PASSWORD"] == "secret"
    assert f"{ip}\tdb " in p.stdout and p.stdout.rstrip().endswith("rows")
    links = ok(cli("inspect", client, "--format", "{{json .HostConfig.Links}}")).stdout
    assert json.loads(links) == [f"/{db}:/{client}/db"]
    ok(cli("rm", client))
    ok(cli("stop", "-t", "0", db))
    gone = cli("run", "--rm", "--link", f"{db}:db", "busybox", "true")
    assert gone.returncode == 125 and f"Cannot link to a non running container: /{db} AS /" in gone.stderr
    missing = cli("run", "--rm", "--link", "no-such-container:db", "busybox", "true")
    assert "could not get container for no-such-container" in missing.stderr
    ok(cli("rm", db))


def test_connect_and_disconnect_a_running_container(tug: Any, dclient: Any, network: Any, new_name: Any) -> None:
    net = network("hot")
    name = new_name("hot")
    ok(tug("run", "-d", "--name", name, "busybox", "sleep", "300"))
    since = dclient.api.inspect_container(name)["State"]["StartedAt"]
    ok(tug("network", "connect", "--alias", "hotty", net, name))
    links = ok(tug("exec", name, "ip", "-o", "-4", "addr")).stdout
    assert " eth0 " in links and " eth1 " in links
    info = dclient.api.inspect_container(name)["NetworkSettings"]["Networks"]
    assert set(info) == {"bridge", net} and info[net]["IPAddress"] in links
    peer = ok(tug("run", "--rm", "--network", net, "busybox", "nslookup", "hotty")).stdout
    assert info[net]["IPAddress"] in peer
    ok(tug("network", "disconnect", net, name))
    assert " eth1 " not in ok(tug("exec", name, "ip", "-o", "-4", "addr")).stdout
    assert set(dclient.api.inspect_container(name)["NetworkSettings"]["Networks"]) == {"bridge"}
    cid, net_id = dclient.api.inspect_container(name)["Id"], dclient.api.inspect_network(net)["Id"]
    events = [e for e in dclient.api.events(since=since, until=time.time() + 1, decode=True,
                                            filters={"type": "network", "network": net_id})
              if e["Actor"]["Attributes"]["container"] == cid]     # not the peer's own join and leave
    assert [(e["Action"], e["Actor"]["Attributes"]) for e in events] == [
        (action, {"container": cid, "name": net, "type": "bridge"}) for action in ("connect", "disconnect")]
    ok(tug("rm", "-f", name))


def test_exit_releases_the_sandbox(tug: Any, tugd: Any, new_name: Any) -> None:
    """A container that ends by itself loses its veth, address and published port at once."""
    port = free_port()
    before = veth_count(tugd)
    name = new_name("brief")
    ok(tug("run", "-d", "--name", name, "-p", f"{port}:80", "busybox", "sh", "-c", "sleep 0.3; exit 3"))
    assert ok(tug("wait", name)).stdout == "3\n"
    assert veth_count(tugd) == before and rules_mentioning(f"--dport {port}") == []
    assert ok(tug("inspect", name, "--format", "{{.NetworkSettings.IPAddress}}|{{json .NetworkSettings.Ports}}")
              ).stdout == "|{}\n"
    with socket.socket() as s:      # the host port is free again
        s.bind(("0.0.0.0", port))


def test_etc_files_dns_flags_and_add_host(tug: Any, network: Any) -> None:
    gateway = next(subnet_of(tug).hosts())
    p = ok(tug("run", "--rm", "--dns", "192.0.2.53", "--dns-search", "example.com", "--add-host",
               "gw:host-gateway", "--add-host", "db.local:10.9.9.9", "busybox", "cat", "/etc/resolv.conf",
               "/etc/hosts"))
    assert p.stdout.startswith("search example.com\nnameserver 192.0.2.53\n")   # resolvconf.Build
    assert f"{gateway}\tgw\n10.9.9.9\tdb.local\n" in p.stdout
    net = network("etc")
    u = ok(tug("run", "--rm", "--network", net, "--dns-search", "example.com", "--dns-option", "timeout:1",
               "busybox", "cat", "/etc/resolv.conf"))
    assert u.stdout == "search example.com\nnameserver 127.0.0.11\noptions timeout:1 ndots:0\n"


def test_none_has_only_lo_and_host_sees_the_host(cli: Any) -> None:
    p = ok(cli("run", "--rm", "--network", "none", "busybox", "ip", "-o", "link"))
    assert [line.split(":")[1].strip() for line in p.stdout.splitlines()] == ["lo"]
    h = ok(cli("run", "--rm", "--network", "host", "busybox", "ip", "-o", "-4", "addr"))
    assert host_address() in h.stdout


def test_inspect_network_settings_shape(tug: Any, dclient: Any, new_name: Any) -> None:
    name = new_name("shape")
    ok(tug("create", "--name", name, "-p", "8080", "busybox", "sleep", "300"))
    created = dclient.api.inspect_container(name)["NetworkSettings"]
    assert list(created) == ["Bridge", "SandboxID", "HairpinMode", "LinkLocalIPv6Address",
                             "LinkLocalIPv6PrefixLen", "Ports", "SandboxKey", "SecondaryIPAddresses",
                             "SecondaryIPv6Addresses", "EndpointID", "Gateway", "GlobalIPv6Address",
                             "GlobalIPv6PrefixLen", "IPAddress", "IPPrefixLen", "IPv6Gateway", "MacAddress",
                             "Networks"]
    assert created["IPAddress"] == "" and created["Networks"]["bridge"]["NetworkID"] == ""
    ok(tug("start", name))
    running = dclient.api.inspect_container(name)["NetworkSettings"]
    ip = running["IPAddress"]
    assert running["MacAddress"] == "02:42:" + ":".join(f"{int(b):02x}" for b in ip.split("."))
    ep = running["Networks"]["bridge"]
    assert list(ep) == ["IPAMConfig", "Links", "Aliases", "NetworkID", "EndpointID", "Gateway", "IPAddress",
                        "IPPrefixLen", "IPv6Gateway", "GlobalIPv6Address", "GlobalIPv6PrefixLen", "MacAddress",
                        "DriverOpts"]
    assert (ep["IPAddress"], ep["EndpointID"], ep["Gateway"]) == (ip, running["EndpointID"], running["Gateway"])
    assert running["Ports"]["8080/tcp"][0]["HostIp"] == "0.0.0.0"
    ok(tug("stop", "-t", "0", name))
    stopped = dclient.api.inspect_container(name)["NetworkSettings"]
    assert stopped["IPAddress"] == "" and stopped["Networks"]["bridge"]["IPAddress"] == ""
    assert stopped["Ports"] == {}
    ok(tug("rm", name))


def test_stats_networks(dclient: Any, new_name: Any) -> None:
    c = dclient.containers.run("busybox", ["sleep", "300"], detach=True, name=new_name("stats"))
    try:
        stats = c.stats(stream=False)
        assert set(stats["networks"]) == {"eth0"} and "rx_bytes" in stats["networks"]["eth0"]
    finally:
        c.remove(force=True)


@pytest.mark.slow
def test_published_port_survives_tugd_kill9(isolated_tugd: Any) -> None:
    from .conftest import CLI, TUG

    tug = CLI("tug", TUG, isolated_tugd.env)
    port = free_port()
    ok(tug("run", "-d", "--name", "survivor", "-p", f"{port}:80", "busybox", "sh", "-c", WEB))
    ok(tug("network", "create", "kept"))
    ok(tug("run", "-d", "--name", "named", "--network", "kept", "busybox", "sleep", "300"))
    assert http_get(f"http://127.0.0.1:{port}/").startswith("hello from")
    isolated_tugd.restart(kill9=True)
    assert http_get(f"http://127.0.0.1:{port}/").startswith("hello from")
    taken = tug("run", "-d", "--name", "thief", "-p", f"{port}:80", "busybox", "true")
    assert "port is already allocated" in taken.stderr     # the reservation came back
    ok(tug("exec", "named", "nslookup", "named"))          # its DNS server is back too
    ok(tug("rm", "-f", "survivor", "thief", "named"))
    ok(tug("network", "rm", "kept"))
    wait_until(lambda: veth_count(isolated_tugd) == 1, what="only the bridge left")
    assert rules_mentioning(f"--dport {port}") == []
    assert not list((isolated_tugd.exec_root / "netns").iterdir())
