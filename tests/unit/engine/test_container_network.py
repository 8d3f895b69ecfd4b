"""A container's networking without a kernel: published-port shapes, --link variables and hosts
lines, /etc files, the embedded DNS's answers, and ContainerNetworking's sandbox lifecycle against
a real NetworkService with fake bridges, veths, namespaces, firewall and port reservations."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from _network_fakes import FakeFirewall, FakeLinks

from tugboat import errors
from tugboat.engine import container_links, container_ports
from tugboat.engine.container_network import ContainerNetworking, check_network_mode
from tugboat.engine.container_record import (
    ContainerRecord,
    build_host_config,
    embedded_resolv_content,
    hosts_content,
)
from tugboat.engine.dns_resolver import ContainerResolver
from tugboat.engine.events import EventBus
from tugboat.engine.network_record import NetworkSettingsConfig
from tugboat.engine.networks import NetworkService

# --- ports --------------------------------------------------------------------------------------


def test_wanted_bindings_publish_all_and_ranges() -> None:
    config = {"ExposedPorts": {"80/tcp": {}, "53/udp": {}, "9000/tcp": {}}}
    hc = {"PortBindings": {"80/tcp": [{"HostIp": "127.0.0.1", "HostPort": "8080"}],
                           "9000/tcp": [{"HostIp": "", "HostPort": "7000-7005"}]},
          "PublishAllPorts": True}
    got = container_ports.wanted(config, hc)
    assert got == [container_ports.Wanted("udp", 53, "0.0.0.0", 0, 0),
                   container_ports.Wanted("tcp", 80, "127.0.0.1", 8080, 8080),
                   container_ports.Wanted("tcp", 9000, "0.0.0.0", 7000, 7005)]
    # without -P only the bindings
    hc["PublishAllPorts"] = False
    assert [w.container_port for w in container_ports.wanted(config, hc)] == [80, 9000]


def test_ports_map_and_summary_as_dockerd() -> None:
    config = {"ExposedPorts": {"80/tcp": {}, "443/tcp": {}}}
    hc = {"PortBindings": {"80/tcp": [{"HostIp": "", "HostPort": "8080"}]}}
    published = [container_ports.Published("tcp", 80, "0.0.0.0", 8080)]
    ports = container_ports.ports_map(config, hc, published)
    assert ports == {"80/tcp": [{"HostIp": "0.0.0.0", "HostPort": "8080"}], "443/tcp": None}
    assert sorted(container_ports.summary_ports(ports), key=lambda p: p["PrivatePort"]) == [
        {"IP": "0.0.0.0", "PrivatePort": 80, "PublicPort": 8080, "Type": "tcp"},
        {"PrivatePort": 443, "Type": "tcp"}]


def test_bad_port_bindings_are_refused() -> None:
    with pytest.raises(errors.InvalidArgument, match="invalid port specification"):
        container_ports.validate({"PortBindings": {"80/tcp": [{"HostPort": "x"}]}})
    with pytest.raises(errors.InvalidArgument):
        container_ports.validate({"PortBindings": {"0/tcp": []}})


# --- links --------------------------------------------------------------------------------------


def test_link_env_as_dockerd_writes_it() -> None:
    """Observed with dockerd 20.10: `--link c2a:db` to a busybox with 80, 443/udp, 9000-9001 exposed."""
    exposed = {"80/tcp": {}, "443/udp": {}, "9000/tcp": {}, "9001/tcp": {}}
    got = container_links.env("/infallible_blackwell", "db", "172.17.0.2", exposed,
                              ["PATH=/bin", "HOME=/root", "MYSQL_ROOT_PASSWORD=x"])
    assert sorted(got) == sorted([
        "DB_PORT=tcp://172.17.0.2:80",
        "DB_PORT_80_TCP=tcp://172.17.0.2:80", "DB_PORT_80_TCP_ADDR=172.17.0.2", "DB_PORT_80_TCP_PORT=80",
        "DB_PORT_80_TCP_PROTO=tcp",
        "DB_PORT_443_UDP=udp://172.17.0.2:443", "DB_PORT_443_UDP_ADDR=172.17.0.2",
        "DB_PORT_443_UDP_PORT=443", "DB_PORT_443_UDP_PROTO=udp",
        "DB_PORT_9000_TCP=tcp://172.17.0.2:9000", "DB_PORT_9000_TCP_ADDR=172.17.0.2",
        "DB_PORT_9000_TCP_PORT=9000", "DB_PORT_9000_TCP_PROTO=tcp",
        "DB_PORT_9001_TCP=tcp://172.17.0.2:9001", "DB_PORT_9001_TCP_ADDR=172.17.0.2",
        "DB_PORT_9001_TCP_PORT=9001", "DB_PORT_9001_TCP_PROTO=tcp",
        "DB_NAME=/infallible_blackwell/db", "DB_ENV_MYSQL_ROOT_PASSWORD=x"])


def test_link_env_ranges_of_three_or_more() -> None:
    got = container_links.env("/me", "my-db", "10.0.0.2", {"5000/tcp": {}, "5001/tcp": {}, "5002/tcp": {}}, [])
    assert "MY_DB_PORT_5000_TCP_START=tcp://10.0.0.2:5000" in got
    assert "MY_DB_PORT_5000_TCP_END=tcp://10.0.0.2:5002" in got
    assert "MY_DB_PORT_5000_TCP_PORT_END=5002" in got


def test_link_forms_and_hosts_line() -> None:
    assert container_links.parse("db") == container_links.Link("db", "db")
    assert container_links.parse("/db:/me/alias") == container_links.Link("db", "alias")
    assert container_links.stored("/c2d", "/c2e", "db") == "/c2d:/c2e/db"
    assert container_links.hosts_line("db", "621d8e87c495", "/c2a") == "db 621d8e87c495 c2a"
    assert container_links.hosts_line("c2a", "621d8e87c495", "/c2a") == "c2a 621d8e87c495"


# --- /etc files ---------------------------------------------------------------------------------


def test_hosts_with_links_extra_hosts_and_host_gateway() -> None:
    text = hosts_content("abc", ["10.1.0.2"], ["gw:host-gateway", "x:1.2.3.4"], [("10.1.0.3", "db id db1")],
                         host_gateway="10.1.0.1")
    assert text.splitlines()[-4:] == ["10.1.0.1\tgw", "1.2.3.4\tx", "10.1.0.3\tdb id db1", "10.1.0.2\tabc"]


def test_embedded_resolv_conf() -> None:
    assert embedded_resolv_content("nameserver 1.1.1.1\n", None, None) == \
        "nameserver 127.0.0.11\noptions ndots:0\n"
    assert embedded_resolv_content("search a.example\nnameserver 1.1.1.1\noptions ndots:2\n", None, None) == \
        "search a.example\nnameserver 127.0.0.11\noptions ndots:2\n"
    assert embedded_resolv_content("", ["b.example"], ["timeout:1"]) == \
        "search b.example\nnameserver 127.0.0.11\noptions timeout:1 ndots:0\n"


# --- ContainerNetworking with fakes -------------------------------------------------------------


class Kernel:
    """Fake netns/links/firewall/ports, recording what exists."""

    def __init__(self) -> None:
        self.netns: set[str] = set()
        self.veths: dict[str, Any] = {}
        self.published: list[Any] = []
        self.reserved: set[tuple[str, str, int]] = set()
        self.taken: set[int] = set()
        self.dns: set[str] = set()
        self.next_port = 40000

    # netns
    def create(self, path: Path, id_maps: tuple[str, str] | None = None) -> None:
        self.netns.add(str(path))

    def remove(self, path: Path) -> None:
        self.netns.discard(str(path))

    def exists(self, path: Path) -> bool:
        return str(path) in self.netns

    # links
    def connect_endpoint(self, ep: Any) -> None:
        assert ep.netns.as_posix() in self.netns
        self.veths[ep.host_ifname] = ep

    def disconnect_endpoint(self, name: str) -> None:
        self.veths.pop(name, None)

    # firewall
    def publish(self, m: Any) -> None:
        self.published.append(m)

    def unpublish(self, m: Any) -> None:
        self.published.remove(m)

    # ports
    def reserve(self, proto: str, host_ip: str, host_port: int) -> int:
        if host_port == 0:
            self.next_port += 1
            host_port = self.next_port
        if host_port in self.taken or (proto, host_ip, host_port) in self.reserved:
            raise errors.Conflict(f"Bind for {host_ip}:{host_port} failed: port is already allocated")
        self.reserved.add((proto, host_ip, host_port))
        return host_port

    def release(self, proto: str, host_ip: str, host_port: int) -> None:
        self.reserved.discard((proto, host_ip, host_port))

    # dns
    def attach(self, key: str, netns: Path) -> None:
        self.dns.add(key)

    def detach(self, key: str) -> None:
        self.dns.discard(key)


class _Ports:
    def __init__(self, k: Kernel) -> None:
        self.reserve, self.release = k.reserve, k.release


class _Firewall(FakeFirewall):
    def __init__(self, k: Kernel) -> None:
        super().__init__()
        self.publish, self.unpublish = k.publish, k.unpublish


class _DNS:
    def __init__(self, k: Kernel) -> None:
        self.attach, self.detach = k.attach, k.detach


class World:
    def __init__(self, tmp: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        from tugboat.network import links, netns

        self.k = Kernel()
        for name in ("create", "remove", "exists"):
            monkeypatch.setattr(netns, name, getattr(self.k, name))
        for name in ("connect_endpoint", "disconnect_endpoint"):
            monkeypatch.setattr(links, name, getattr(self.k, name))
        self.events = EventBus()
        self.fw = _Firewall(self.k)
        self.networks = NetworkService(tmp / "network", NetworkSettingsConfig(bridge="ttx", bip="10.150.0.1/24"),
                                       self.fw, self.events, links=FakeLinks())
        self.records: dict[str, ContainerRecord] = {}
        self.net = ContainerNetworking(self.networks, self.fw, _Ports(self.k), _DNS(self.k), tmp / "netns",
                                       self.lookup, self.events, link_prefix="ttx")
        self.tmp = tmp
        self.n = 0

    def lookup(self, ref: str) -> ContainerRecord:
        for r in self.records.values():
            if ref in (r.id, r.name, r.name.lstrip("/")) or r.id.startswith(ref):
                return r
        raise errors.NotFound(f"No such container: {ref}")

    def create(self, name: str, host_config: dict | None = None, config: dict | None = None,
               networking: dict | None = None) -> ContainerRecord:
        self.n += 1
        cid = f"{self.n:02d}" + "ab" * 31
        hc = build_host_config(host_config or {})
        cfg = {"Hostname": cid[:12], **(config or {})}
        settings = self.net.created_settings("/" + name, cfg, hc, networking)
        d = self.tmp / cid
        d.mkdir()
        rec = ContainerRecord(id=cid, name="/" + name, created_ns=0, path="sh", args=[], config=cfg,
                              host_config=hc, image_id="img", directory=d, network_settings=settings)
        self.records[cid] = rec
        return rec

    def start(self, rec: ContainerRecord) -> None:
        self.net.setup(rec)
        rec.state.status = "running"

    def stop(self, rec: ContainerRecord) -> None:
        self.net.release(rec)
        rec.state.status = "exited"


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> World:
    return World(tmp_path, monkeypatch)


def test_default_bridge_start_and_exit(world: World) -> None:
    rec = world.create("web", {"PortBindings": {"80/tcp": [{"HostIp": "", "HostPort": "8080"}]}},
                       {"ExposedPorts": {"80/tcp": {}, "443/tcp": {}}})
    assert rec.network_settings["Networks"]["bridge"]["IPAddress"] == ""
    world.start(rec)
    s = rec.network_settings
    assert s["IPAddress"] == "10.150.0.2" and s["Gateway"] == "10.150.0.1" and s["IPPrefixLen"] == 24
    assert s["MacAddress"] == "02:42:0a:96:00:02" and s["SandboxKey"] == str(world.tmp / "netns" / rec.id)
    assert s["Networks"]["bridge"]["Aliases"] is None
    assert s["Ports"] == {"80/tcp": [{"HostIp": "0.0.0.0", "HostPort": "8080"}], "443/tcp": None}
    (veth,) = world.k.veths.values()
    assert veth.ifname == "eth0" and veth.default_route and veth.bridge == "ttx" and len(veth.host_ifname) == 15
    assert [(m.host_port, m.container_ip, m.container_port) for m in world.k.published] == [(8080, "10.150.0.2", 80)]
    assert "10.150.0.2\t" + rec.short_id in rec.etc_path("hosts").read_text()
    assert "127.0.0.11" not in rec.etc_path("resolv.conf").read_text()
    world.stop(rec)
    assert not (world.k.netns or world.k.veths or world.k.published or world.k.reserved)
    assert world.networks.endpoints(world.networks.default_bridge().id) == []
    assert rec.network_settings["IPAddress"] == "" and rec.network_settings["Ports"] == {}
    world.start(rec)    # the address came back to the pool
    assert rec.network_settings["IPAddress"] == "10.150.0.2"
    world.stop(rec)


def test_taken_port_fails_start_and_leaves_nothing(world: World) -> None:
    world.k.taken.add(8080)
    rec = world.create("web", {"PortBindings": {"80/tcp": [{"HostIp": "", "HostPort": "8080"}],
                                                "81/tcp": [{"HostIp": "", "HostPort": ""}]}})
    with pytest.raises(errors.TugboatError) as e:
        world.start(rec)
    assert e.value.message.startswith("driver failed programming external connectivity on endpoint web (")
    assert e.value.message.endswith("): Bind for 0.0.0.0:8080 failed: port is already allocated")
    assert not (world.k.netns or world.k.veths or world.k.published or world.k.reserved or rec.sandbox)
    assert world.networks.endpoints(world.networks.default_bridge().id) == []


def test_user_network_dns_aliases_and_ip(world: World) -> None:
    net_id = world.networks.create({"Name": "appnet", "IPAM": {"Config": [{"Subnet": "10.151.0.0/24"}]}})["Id"]
    db = world.create("db", {"NetworkMode": "appnet"}, networking={"EndpointsConfig": {"appnet": {
        "Aliases": ["database"], "IPAMConfig": {"IPv4Address": "10.151.0.50"}}}})
    app = world.create("app", {"NetworkMode": "appnet", "Links": ["db:sql"]})
    assert app.host_config["Links"] == ["db:sql"]     # kept as given on user networks, as dockerd
    world.start(db)
    world.start(app)
    assert db.network_settings["Networks"]["appnet"]["IPAddress"] == "10.151.0.50"
    assert db.network_settings["Networks"]["appnet"]["Aliases"] == ["database", db.short_id]
    assert db.network_settings["IPAddress"] == ""    # top-level fields: the default bridge only
    assert world.k.dns == {db.id, app.id}
    assert "nameserver 127.0.0.11" in app.etc_path("resolv.conf").read_text()
    r = ContainerResolver(world.lookup, world.networks)
    for name in ("db", "DB.", "database", db.short_id, "sql", "db.appnet"):
        assert r.lookup(app.id, name) == ["10.151.0.50"], name
    assert r.lookup(db.id, "sql") is None          # a link alias is the linking container's only
    assert r.lookup(app.id, "example.com") is None
    assert r.reverse(app.id, "10.151.0.50") == "db.appnet"
    assert r.upstreams(app.id)
    world.stop(db)
    assert r.lookup(app.id, "db") is None
    world.stop(app)
    assert not world.k.dns and net_id


def test_create_time_refusals(world: World) -> None:
    with pytest.raises(errors.InvalidArgument, match="could not get container for nope: No such container: nope"):
        world.create("x", {"Links": ["nope:db"]})
    with pytest.raises(errors.NotFound, match="network nosuch not found"):
        world.create("x", {"NetworkMode": "nosuch"})
    with pytest.raises(errors.InvalidArgument, match="network-scoped alias is supported only"):
        world.create("x", {}, networking={"EndpointsConfig": {"default": {"Aliases": ["a"]}}})
    world.networks.create({"Name": "pool"})
    rec = world.create("x", {"NetworkMode": "pool"},
                       networking={"EndpointsConfig": {"pool": {"IPAMConfig": {"IPv4Address": "10.1.1.1"}}}})
    with pytest.raises(errors.InvalidArgument, match="user configured subnets"):
        world.start(rec)
    assert not world.k.netns and rec.sandbox is None
    rec = world.create("y", {}, networking={"EndpointsConfig": {"default": {"IPAMConfig": {
        "IPv4Address": "10.150.0.9"}}}})
    with pytest.raises(errors.InvalidArgument, match="user defined networks only"):
        world.start(rec)


def test_network_mode_conflicts_as_dockerd() -> None:
    joins = {"NetworkMode": "container:base"}
    check_network_mode({"Hostname": "x", "ExposedPorts": {"80/tcp": {}}}, {"NetworkMode": "mynet", "Dns": ["1.1.1.1"]})
    check_network_mode({}, {**joins, "Links": None, "Dns": [], "ExtraHosts": None, "PortBindings": {}})
    for config, host_config, text in (
            ({}, {"NetworkMode": "container:"}, "invalid container format container:<name|id>"),
            ({"Hostname": "x"}, joins, "hostname and the network mode"),
            ({}, {**joins, "Links": ["/a:/b/a"]}, "can't be used with links"),
            ({}, {**joins, "Dns": ["192.0.2.53"]}, "dns and the network mode"),
            ({}, {**joins, "ExtraHosts": ["h:192.0.2.9"]}, "custom host-to-IP mapping"),
            ({"MacAddress": "02:42:ac:11:00:99"}, {"NetworkMode": "host"}, "mac-address and the network mode"),
            ({}, {**joins, "PublishAllPorts": True}, "port publishing and the container type network mode"),
            ({"ExposedPorts": {"80/tcp": {}}}, joins, "port exposing and the container type network mode")):
        with pytest.raises(errors.InvalidArgument, match=re.escape(text)):
            check_network_mode(config, host_config)


def test_container_mode_keeps_the_id_of_a_known_container(world: World) -> None:
    """dockerd: --network container:<name> is stored as container:<id>; an unknown ref is kept as given."""
    base = world.create("base")
    assert world.create("guest", {"NetworkMode": "container:base"}).host_config["NetworkMode"] == \
        f"container:{base.id}"
    assert world.create("orphan", {"NetworkMode": "container:nosuch"}).host_config["NetworkMode"] == \
        "container:nosuch"


def test_link_on_default_bridge_env_and_hosts(world: World) -> None:
    db = world.create("db", {}, {"ExposedPorts": {"3306/tcp": {}}, "Env": ["PASS=x"]})
    app = world.create("app", {"Links": ["db:sql"]})
    with pytest.raises(errors.Conflict, match="Cannot link to a non running container: /db AS /app/sql"):
        world.start(app)
    assert not world.k.netns
    world.start(db)
    world.start(app)
    env = world.net.link_env(app)
    assert "SQL_PORT_3306_TCP=tcp://10.150.0.2:3306" in env and "SQL_NAME=/app/sql" in env
    assert "SQL_ENV_PASS=x" in env
    assert f"10.150.0.2\tsql {db.short_id} db\n" in app.etc_path("hosts").read_text()
    world.stop(app)
    world.stop(db)


def test_none_has_no_endpoint_and_connect_disconnect(world: World) -> None:
    rec = world.create("lonely", {"NetworkMode": "none"})
    world.start(rec)
    assert world.k.netns and not world.k.veths
    assert rec.network_settings["Networks"]["none"]["NetworkID"] == world.networks.get("none").id
    with pytest.raises(errors.Forbidden):
        world.net.connect(rec, "bridge", {})
    world.stop(rec)
    world.networks.create({"Name": "extra"})
    web = world.create("web")
    world.start(web)
    events_before = len(world.events.subscribe(since_ns=1)[0])
    world.net.connect(web, "extra", {"Aliases": ["w"]})
    assert sorted(v.ifname for v in world.k.veths.values()) == ["eth0", "eth1"]
    assert web.network_settings["Networks"]["extra"]["Aliases"] == ["w", web.short_id]
    assert web.id in world.k.dns
    with pytest.raises(errors.Forbidden, match="already exists in network extra"):
        world.net.connect(web, "extra", {})
    world.net.disconnect(web, "extra", False)
    assert [v.ifname for v in world.k.veths.values()] == ["eth0"] and web.id not in world.k.dns
    actions = [(e["Type"], e["Action"]) for e in world.events.subscribe(since_ns=1)[0][events_before:]]
    assert actions == [("network", "connect"), ("network", "disconnect")]
    world.stop(web)
    stopped = world.create("later")
    world.net.connect(stopped, "extra", {})
    assert set(stopped.network_settings["Networks"]) == {"bridge", "extra"} and not world.k.veths


def test_restore_keeps_running_and_releases_dead(world: World) -> None:
    rec = world.create("web", {"PortBindings": {"80/tcp": [{"HostPort": "8080"}]}})
    world.start(rec)
    world.k.reserved.clear()
    world.k.published.clear()
    world.net.restore(rec, running=True)
    assert world.k.reserved == {("tcp", "0.0.0.0", 8080)} and len(world.k.published) == 1
    assert world.k.veths
    world.net.restore(rec, running=False)
    assert not (world.k.netns or world.k.veths or world.k.published or world.k.reserved or rec.sandbox)


def test_ps_publish_and_expose_filters() -> None:
    assert container_ports.port_filter(["80", "8000-8001/udp"]) == {"80/tcp", "8000/udp", "8001/udp"}
    with pytest.raises(errors.InvalidArgument):
        container_ports.port_filter(["web"])


# --- ContainerService's hooks ---------------------------------------------------------------------


class RecordingNetworking:
    """ContainerNetworking's interface as ContainerService uses it, recording the calls."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []

    def created_settings(self, name: str, config: dict, host_config: dict, networking: Any) -> dict:
        return {"Networks": {"bridge": {}}, "Ports": {}}

    def write_etc(self, rec: ContainerRecord) -> None:
        from tugboat.engine.container_record import write_etc_files
        write_etc_files(rec)

    def setup(self, rec: ContainerRecord) -> Path:
        self.calls.append(("setup", rec.id))
        rec.sandbox = {"netns": "/x"}
        return Path("/run/x/netns") / rec.id

    def link_env(self, rec: ContainerRecord) -> list[str]:
        return ["DB_NAME=/me/db"]

    def release(self, rec: ContainerRecord) -> None:
        self.calls.append(("release", rec.id))
        rec.sandbox = None


def test_container_service_sets_up_passes_and_releases(tmp_path: Path) -> None:
    from _container_fakes import FakeImages, FakeLayers, FakeRuntime

    from tugboat.engine.containers import ContainerService

    rt = FakeRuntime()
    svc = ContainerService(tmp_path / "containers", FakeImages(), FakeLayers(), rt)
    svc.networking = net = RecordingNetworking()
    cid = svc.create("web", {"Image": "busybox", "Cmd": ["sleep", "9"], "Env": ["X=1"]})["Id"]
    svc.start(cid)
    req: Any = rt.requests[cid]
    assert req.netns_path == f"/run/x/netns/{cid}"
    assert req.process.env.index("DB_NAME=/me/db") < req.process.env.index("X=1")
    rt.exit(cid, 0)
    assert net.calls == [("setup", cid), ("release", cid)]
    rt.fail_create = "boom"
    with pytest.raises(errors.TugboatError):
        svc.start(cid)
    assert net.calls[-2:] == [("setup", cid), ("release", cid)]
    assert svc.inspect(cid)["State"]["Status"] == "exited"
