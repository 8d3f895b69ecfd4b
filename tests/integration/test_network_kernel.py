"""network/ on the real kernel: pinned namespaces, bridges and veths, iptables NAT and isolation.

No tugd here: everything uses private names (bridges "tk<hex>...", chains "TUGK<hex>", pin files in a
temporary directory) and is removed at the end, which the last assertions of each test check.
A "remote" host is simulated by a namespace behind a second bridge that is not one of our networks:
traffic to it is forwarded and MASQUERADEd like traffic to the internet.
"""

from __future__ import annotations

import contextlib
import dataclasses
import ipaddress
import json
import secrets
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from pyroute2 import IPRoute

from tugboat import errors
from tugboat.network import links, netns
from tugboat.network.firewall import Firewall, PortMapping
from tugboat.tools import cleanup
from tugboat.tools.cleanup import mounts_under

BUSYBOX = shutil.which("busybox")


def free_subnets(count: int) -> list[ipaddress.IPv4Network]:
    """/24s in 10.200.0.0/13 that overlap none of the host's routes."""
    taken = [ipaddress.IPv4Network(r) for r in links.host_routes()]
    out: list[ipaddress.IPv4Network] = []
    while len(out) < count:
        net = ipaddress.IPv4Network(f"10.{200 + secrets.randbelow(8)}.{secrets.randbelow(256)}.0/24")
        if not any(net.overlaps(t) for t in taken + out):
            out.append(net)
    return out


def host_address() -> str:
    """An IPv4 address of this machine on the interface of its default route (eth0 here)."""
    with IPRoute() as ipr:
        oifs = [r.get("RTA_OIF") for r in ipr.get_routes(family=socket.AF_INET, table=254) if not r["dst_len"]]
        addrs = [a.get("IFA_ADDRESS") for a in ipr.get_addr(family=socket.AF_INET)
                 if a["index"] in oifs or not oifs and a.get("IFA_LABEL") != "lo"]
    assert addrs, "no IPv4 address on the host's default interface"
    return str(addrs[0])


@dataclass
class Lab:
    tag: str
    tmp: Path
    fw: Firewall
    bridges: list[str] = field(default_factory=list)
    pins: list[Path] = field(default_factory=list)
    veths: list[str] = field(default_factory=list)
    servers: list[socket.socket] = field(default_factory=list)

    def network(self, suffix: str, subnet: ipaddress.IPv4Network, internal: bool = False,
                firewall: bool = True) -> tuple[str, ipaddress.IPv4Network]:
        name = f"tk{self.tag}{suffix}"
        links.ensure_bridge(name, f"{subnet[1]}/{subnet.prefixlen}")
        self.bridges.append(name)
        if firewall:
            self.fw.add_network(name, str(subnet), internal=internal)
        return name, subnet

    def sandbox(self, name: str, net: tuple[str, ipaddress.IPv4Network], host: int,
                default_route: bool = True) -> tuple[Path, str]:
        bridge, subnet = net
        pin = self.tmp / "netns" / name
        netns.create(pin)
        self.pins.append(pin)
        ip = str(subnet[host])
        self.veths.append(f"tk{self.tag}{name}")
        links.connect_endpoint(links.EndpointLink(
            netns=pin, bridge=bridge, host_ifname=f"tk{self.tag}{name}", ifname="eth0",
            address=f"{ip}/{subnet.prefixlen}", mac=links.mac_for(ip),
            gateway=str(subnet[1]) if default_route else None, default_route=default_route))
        return pin, ip

    def tcp_server(self, pin: Path | None, ip: str = "0.0.0.0", port: int = 0) -> tuple[int, list[str]]:
        """A server in that namespace (None: the host's) answering each connection with the peer
        address it saw; returns its port and the peers seen."""
        ctx = netns.entered(pin) if pin else contextlib.nullcontext()
        with ctx:
            srv = socket.socket()
        srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        srv.bind((ip, port))
        srv.listen(8)
        self.servers.append(srv)
        peers: list[str] = []

        def serve() -> None:
            while True:
                try:
                    conn, addr = srv.accept()
                except OSError:
                    return
                with conn:
                    peers.append(addr[0])
                    conn.sendall(f"hello {addr[0]}\n".encode())

        threading.Thread(target=serve, daemon=True).start()
        return srv.getsockname()[1], peers


def fetch(ip: str, port: int, pin: Path | None = None, timeout: float = 3.0) -> str:
    """Connect (from inside ``pin`` if given) and read the server's greeting."""
    ctx = netns.entered(pin) if pin else contextlib.nullcontext()
    with ctx:
        s = socket.socket()
    with s:
        s.settimeout(timeout)
        s.connect((ip, port))
        return s.recv(100).decode()


def unreachable(ip: str, port: int, pin: Path) -> bool:
    try:
        fetch(ip, port, pin, timeout=1.0)
    except OSError:
        return True
    return False


def ping(pin: Path, ip: str) -> subprocess.CompletedProcess[str]:
    assert BUSYBOX, "busybox is needed for ping"
    return subprocess.run(["nsenter", f"--net={pin}", BUSYBOX, "ping", "-c", "1", "-W", "2", ip],
                          capture_output=True, text=True, timeout=10)


def iptables_lines(needle: str) -> list[str]:
    out = subprocess.run(["iptables-save"], capture_output=True, text=True, check=True).stdout
    return [line for line in out.splitlines() if needle in line]


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[Lab]:
    tag = secrets.token_hex(3)
    fw = Firewall(f"TUGK{tag}")
    fw.setup()
    lab = Lab(tag=tag, tmp=tmp_path, fw=fw)
    try:
        yield lab
    finally:
        for s in lab.servers:
            s.shutdown(socket.SHUT_RDWR)                 # wakes its accept(), which holds the socket
            s.close()
        for veth in lab.veths:
            links.disconnect_endpoint(veth)
        for pin in lab.pins:
            netns.remove(pin)
        for b in lab.bridges:
            links.remove_bridge(b)
        fw.teardown()
        for mp in reversed(mounts_under(tmp_path)):     # the shared netns/ directory mount
            subprocess.run(["umount", "-l", mp], check=False)
    # what tugd's clean-up relies on: nothing is left of any of it
    assert links.links_with_prefix(f"tk{tag}") == []
    assert iptables_lines(f"TUGK{tag}") == []
    assert mounts_under(tmp_path) == []


def test_netns_pin_enter_and_remove(tmp_path: Path) -> None:
    pin = tmp_path / "netns" / "one"
    netns.create(pin)
    try:
        assert netns.exists(pin)
        with pytest.raises(FileExistsError):
            netns.create(pin)
        own = Path("/proc/thread-self/ns/net").readlink()
        with netns.entered(pin):
            inside = Path("/proc/thread-self/ns/net").readlink()
            devs = Path("/proc/thread-self/net/dev").read_text()
        assert inside != own and Path("/proc/thread-self/ns/net").readlink() == own
        assert "lo:" in devs and "eth0" not in devs
        with netns.entered(pin), socket.socket() as s:   # lo is up inside
            s.bind(("127.0.0.1", 0))
        ino = pin.stat().st_ino
    finally:
        netns.remove(pin)
    netns.remove(pin)                                      # idempotent
    assert not pin.exists() and not netns.exists(pin)
    assert f"net:[{ino}]" not in Path("/proc/self/mountinfo").read_text()
    for mp in reversed(mounts_under(tmp_path)):
        subprocess.run(["umount", "-l", mp], check=True)


def test_two_sandboxes_on_a_bridge_ping_each_other_and_count_traffic(lab: Lab) -> None:
    (net,) = free_subnets(1)
    n1 = lab.network("a", net)
    a, ip_a = lab.sandbox("a1", n1, 2)
    b, ip_b = lab.sandbox("a2", n1, 3)
    assert links.bridge_exists(n1[0])
    assert sorted(links.links_with_prefix(f"tk{lab.tag}")) == sorted([n1[0], f"tk{lab.tag}a1", f"tk{lab.tag}a2"])
    r = ping(a, ip_b)
    assert r.returncode == 0, r.stdout + r.stderr
    assert ping(b, str(net[1])).returncode == 0              # the gateway
    counters = links.interface_counters(a)
    assert list(counters) == ["eth0"]
    assert counters["eth0"]["tx_packets"] >= 1 and counters["eth0"]["rx_bytes"] > 0
    assert set(counters["eth0"]) == {"rx_bytes", "rx_packets", "rx_errors", "rx_dropped",
                                     "tx_bytes", "tx_packets", "tx_errors", "tx_dropped"}
    assert f"{net}" in links.host_routes()
    # a second eth0 in the same namespace fails and leaves no half of a veth pair behind
    dup = links.EndpointLink(a, n1[0], f"tk{lab.tag}a3", "eth0", f"{net[4]}/24", links.mac_for(str(net[4])),
                             None, False)
    with pytest.raises(errors.TugboatError, match="could not create veth pair"):
        links.connect_endpoint(dup)
    with pytest.raises(errors.InvalidArgument):             # IFNAMSIZ
        links.connect_endpoint(dataclasses.replace(dup, host_ifname=f"tk{lab.tag}0123456789"))
    assert f"tk{lab.tag}a3" not in links.links_with_prefix(f"tk{lab.tag}")
    # ensure_bridge again with another address: the bridge keeps exactly the new one
    links.ensure_bridge(n1[0], f"{net[254]}/24")
    with IPRoute() as ipr:
        (index,) = ipr.link_lookup(ifname=n1[0])
        assert [a.get("IFA_ADDRESS") for a in ipr.get_addr(family=socket.AF_INET, index=index)] == [str(net[254])]
    assert not links.bridge_exists(f"tk{lab.tag}a1")          # a veth, not a bridge
    links.disconnect_endpoint(f"tk{lab.tag}a2")
    links.disconnect_endpoint(f"tk{lab.tag}a2")               # idempotent
    assert ping(a, ip_b).returncode != 0


def test_published_port_from_localhost_host_address_and_hairpin(lab: Lab) -> None:
    (net,) = free_subnets(1)
    n1 = lab.network("p", net)
    a, ip_a = lab.sandbox("p1", n1, 2)
    cport, peers = lab.tcp_server(a)
    with socket.socket() as probe:                          # a host port nobody uses
        probe.bind(("0.0.0.0", 0))
        hport = probe.getsockname()[1]
    m = PortMapping("tcp", "0.0.0.0", hport, ip_a, cport, n1[0])
    lab.fw.publish(m)
    try:
        assert fetch("127.0.0.1", hport).startswith("hello ")
        assert fetch(host_address(), hport).startswith("hello ")
        # the container reaching its own published port through the host (hairpin MASQUERADE)
        assert fetch(host_address(), hport, pin=a) == f"hello {net[1]}\n"
        # another container of the network through the published port
        b, ip_b = lab.sandbox("p2", n1, 3)
        assert fetch(host_address(), hport, pin=b).startswith("hello ")
    finally:
        lab.fw.unpublish(m)
    with pytest.raises(OSError):
        fetch("127.0.0.1", hport, timeout=1.0)


def test_masquerade_out_and_isolation_of_networks(lab: Lab) -> None:
    net1, net2, neti, outside = free_subnets(4)
    n1 = lab.network("m", net1)
    n2 = lab.network("n", net2)
    ni = lab.network("i", neti, internal=True)
    remote_net = lab.network("x", outside, firewall=False)   # stands for the world outside
    a, _ = lab.sandbox("m1", n1, 2)
    b, ip_b = lab.sandbox("n1", n2, 2)
    i, _ = lab.sandbox("i1", ni, 2, default_route=False)
    remote, ip_remote = lab.sandbox("x1", remote_net, 2, default_route=False)
    port, peers = lab.tcp_server(remote)

    # out through the host, with the host's address as source (MASQUERADE)
    assert fetch(ip_remote, port, pin=a) == f"hello {outside[1]}\n"
    # the host's own address is reachable from a container
    hport, _ = lab.tcp_server(None, ip=host_address())
    assert fetch(host_address(), hport, pin=a).startswith("hello ")
    # two networks do not reach each other
    bport, _ = lab.tcp_server(b)
    assert unreachable(ip_b, bport, a)
    # an internal network has no way out: no default route, and the firewall drops it even with one
    assert unreachable(host_address(), hport, i)
    with netns.entered(i), IPRoute() as ipr:
        ipr.route("add", dst="0.0.0.0/0", gateway=str(neti[1]))
    assert unreachable(ip_remote, port, i)
    assert len(peers) == 1


def test_cleanup_tool_removes_links_chains_jumps_and_pins(tmp_path: Path) -> None:
    tag = secrets.token_hex(3)
    exec_root = tmp_path / "run"
    fw = Firewall(f"TUGK{tag}")
    fw.setup()
    (net,) = free_subnets(1)
    links.ensure_bridge(f"tk{tag}", f"{net[1]}/24")
    fw.add_network(f"tk{tag}", str(net))
    pin = exec_root / "netns" / "c1"
    netns.create(pin)
    links.connect_endpoint(links.EndpointLink(pin, f"tk{tag}", f"tk{tag}v1", "eth0", f"{net[2]}/24",
                                              links.mac_for(str(net[2])), str(net[1]), True))
    net_args = {"link_prefix": f"tk{tag}", "chain_prefix": f"TUGK{tag}"}
    # the daemon dir lives elsewhere: the pins under the exec root are found through it
    left = cleanup.leaks(tmp_path / "d", "", exec_root=exec_root, **net_args)
    assert f"network interface left: tk{tag}v1" in left and f"iptables chain left: nat TUGK{tag}" in left
    assert f"iptables jump left: filter FORWARD -j TUGK{tag}-FORWARD" in left
    assert f"netns still pinned: {pin}" in left
    forced = cleanup.clean_daemon_dir(tmp_path / "d", "", exec_root=exec_root, **net_args)
    assert f"mount {pin}" in forced and f"network interface tk{tag}" in forced
    assert cleanup.leaks(tmp_path / "d", "", exec_root=exec_root, **net_args) == []
    assert links.links_with_prefix(f"tk{tag}") == [] and iptables_lines(f"TUGK{tag}") == []
    assert mounts_under(tmp_path) == []


def _namespace_refs(ino: int) -> tuple[list[str], list[str]]:
    """(mountinfo files with an nsfs mount of that namespace, processes in it), over all of /proc."""
    mounts, procs = [], []
    for pid in (p for p in Path("/proc").iterdir() if p.name.isdigit()):
        with contextlib.suppress(OSError):
            if f"net:[{ino}]" in (pid / "mountinfo").read_text():
                mounts.append(pid.name)
            if (pid / "ns" / "net").readlink() == Path(f"net:[{ino}]"):
                procs.append(pid.name)
    return mounts, procs


def test_runc_joins_pinned_netns_and_remove_frees_it(tmp_path: Path) -> None:
    """runc joins by path; the pin is not copied into the container's mounts, so after remove only
    the container keeps the namespace, and it is gone with the container."""
    runc = shutil.which("runc")
    assert runc and BUSYBOX, "runc and busybox are needed"
    tag = secrets.token_hex(3)
    pin = tmp_path / "run" / "netns" / "c"
    rootfs = tmp_path / "bundle" / "rootfs"
    (rootfs / "bin").mkdir(parents=True)
    shutil.copy(BUSYBOX, rootfs / "bin" / "busybox")
    subprocess.run([runc, "spec"], cwd=rootfs.parent, check=True)
    spec = json.loads((rootfs.parent / "config.json").read_text())
    spec["process"].update(terminal=False, args=["/bin/busybox", "sleep", "60"])
    spec["linux"]["namespaces"] = [n for n in spec["linux"]["namespaces"] if n["type"] != "network"]
    spec["linux"]["namespaces"].append({"type": "network", "path": str(pin)})
    (rootfs.parent / "config.json").write_text(json.dumps(spec))
    root = ["--root", str(tmp_path / "runc")]
    netns.create(pin)
    ino = pin.stat().st_ino
    try:
        # the container inherits stdio: no pipes, or reading them would wait for it to end
        subprocess.run([runc, *root, "run", "-d", "-b", str(rootfs.parent), f"tk{tag}"], check=True,
                       stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=30)
        state = json.loads(subprocess.run([runc, *root, "state", f"tk{tag}"], capture_output=True,
                                          check=True, text=True).stdout)
        assert state["status"] == "running"
        assert Path(f"/proc/{state['pid']}/ns/net").readlink() == Path(f"net:[{ino}]")
        assert "nsfs" not in Path(f"/proc/{state['pid']}/mountinfo").read_text()
        netns.remove(pin)
        assert _namespace_refs(ino) == ([], [str(state["pid"])])
    finally:
        subprocess.run([runc, *root, "delete", "--force", f"tk{tag}"], capture_output=True)
        netns.remove(pin)
        for mp in reversed(mounts_under(tmp_path)):
            subprocess.run(["umount", "-l", mp], check=False)
    for _ in range(50):
        if _namespace_refs(ino) == ([], []):
            break
        time.sleep(0.1)
    assert _namespace_refs(ino) == ([], [])
