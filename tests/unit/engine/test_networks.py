"""NetworkService with fake kernel collaborators: predefined networks, create/inspect/list/remove/
prune in dockerd's shapes and words, the container-side registry, persistence and restore."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from _network_fakes import FakeFirewall, FakeLinks

from tugboat import errors
from tugboat.engine.events import EventBus
from tugboat.engine.network_record import Endpoint, NetworkSettingsConfig
from tugboat.engine.networks import NetworkService


class Env:
    def __init__(self, root: Path, **settings) -> None:
        self.root = root
        self.links = FakeLinks()
        self.fw = FakeFirewall()
        self.events = EventBus()
        self.settings = NetworkSettingsConfig(**settings)
        self.svc = self.new()

    def new(self) -> NetworkService:
        return NetworkService(self.root, self.settings, self.fw, self.events, links=self.links)

    def actions(self) -> list[tuple[str, str, dict]]:
        past, sub = self.events.subscribe(since_ns=1)
        sub.close()
        return [(m["Action"], m["Actor"]["ID"], m["Actor"]["Attributes"]) for m in past]


@pytest.fixture
def env(tmp_path: Path) -> Env:
    return Env(tmp_path / "network")


def ep(cid: str, ip: str, name: str = "web", aliases: list[str] | None = None) -> Endpoint:
    return Endpoint(container_id=cid, name=name, endpoint_id="e" * 64, ip=ip, prefix_len=24,
                    gateway="10.78.0.1", mac="02:42:0a:4e:00:02", aliases=aliases or [], host_ifname="tugdeadbeef")


# -- predefined --------------------------------------------------------------------------------

def test_predefined_networks_as_docker_shows_them(env: Env):
    names = [(n["Name"], n["Driver"], n["Scope"]) for n in env.svc.list({})]
    assert names == [("bridge", "bridge", "local"), ("host", "host", "local"), ("none", "null", "local")]
    b = env.svc.inspect("bridge")
    assert b["IPAM"] == {"Driver": "default", "Options": None,
                         "Config": [{"Subnet": "10.77.0.0/16", "Gateway": "10.77.0.1"}]}
    assert b["Options"] == {
        "com.docker.network.bridge.default_bridge": "true", "com.docker.network.bridge.enable_icc": "true",
        "com.docker.network.bridge.enable_ip_masquerade": "true",
        "com.docker.network.bridge.host_binding_ipv4": "0.0.0.0", "com.docker.network.bridge.name": "tug0",
        "com.docker.network.driver.mtu": "1500"}
    assert list(b) == ["Name", "Id", "Created", "Scope", "Driver", "EnableIPv6", "IPAM", "Internal", "Attachable",
                       "Ingress", "ConfigFrom", "ConfigOnly", "Containers", "Options", "Labels"]
    h = env.svc.inspect("host")
    assert h["IPAM"] == {"Driver": "default", "Options": None, "Config": []} and h["Options"] == {}
    assert len(b["Id"]) == 64 and b["Created"].endswith("Z")


def test_predefined_ids_survive_restart_and_bridge_follows_settings(env: Env):
    ids = {n["Name"]: n["Id"] for n in env.svc.list({})}
    again = {n["Name"]: n["Id"] for n in env.new().list({})}
    assert ids == again
    other = NetworkService(env.root, NetworkSettingsConfig(bridge="ttx", bip="10.150.0.1/24"), env.fw,
                           env.events, links=env.links)
    b = other.default_bridge()
    assert b.id == ids["bridge"] and b.bridge == "ttx" and b.subnet == "10.150.0.0/24" and b.gateway == "10.150.0.1"


def test_predefined_cannot_be_removed_or_recreated(env: Env):
    for name in ("bridge", "host", "none"):
        with pytest.raises(errors.Forbidden) as e:
            env.svc.remove(name)
        assert e.value.message == f"{name} is a pre-defined network and cannot be removed"
        with pytest.raises(errors.Forbidden) as e:
            env.svc.create({"Name": name})
        assert e.value.message == f"operation is not permitted on predefined {name} network "


def test_restore_plumbs_every_bridge_network(env: Env):
    nid = env.svc.create({"Name": "n1", "Internal": True})["Id"]
    env.links.bridges.clear()
    env.fw.networks.clear()
    env.new().restore()
    br = env.svc.get(nid).bridge
    assert env.links.bridges == {"tug0": ("10.77.0.1/16", 1500), br: ("10.78.0.1/24", 1500)}
    assert env.fw.networks == {"tug0": ("10.77.0.0/16", False, True), br: ("10.78.0.0/24", True, True)}


# -- create ------------------------------------------------------------------------------------

def test_create_default_pool_bridge_firewall_and_event(env: Env):
    res = env.svc.create({"Name": "n1", "CheckDuplicate": True, "Labels": {"a": "b"}})
    assert res["Warning"] == "" and len(res["Id"]) == 64
    n = env.svc.inspect("n1")
    assert n["Driver"] == "bridge" and n["Labels"] == {"a": "b"} and n["Options"] == {}
    assert n["IPAM"] == {"Driver": "default", "Options": {},
                         "Config": [{"Subnet": "10.78.0.0/24", "Gateway": "10.78.0.1"}]}
    net = env.svc.get("n1")
    assert net.bridge == "tug-" + res["Id"][:11] and len(net.bridge) == 15
    assert env.links.bridges[net.bridge] == ("10.78.0.1/24", 1500)
    assert env.fw.networks[net.bridge] == ("10.78.0.0/24", False, True)
    assert ("create", res["Id"], {"name": "n1", "type": "bridge"}) in env.actions()
    # the next one skips the first subnet, and host routes
    env.links.routes = ["10.78.1.0/24"]
    env.svc.create({"Name": "n2"})
    assert env.svc.get("n2").subnet == "10.78.2.0/24"


def test_user_bridges_carry_the_interface_prefix(tmp_path: Path):
    env = Env(tmp_path / "network", ifname_prefix="tt12ab34")
    nid = env.svc.create({"Name": "n1"})["Id"]
    assert env.svc.get(nid).bridge == "tt12ab34-" + nid[:6]
    assert NetworkSettingsConfig.from_extra({"veth-prefix": "tt12ab34"}).ifname_prefix == "tt12ab34"
    assert NetworkSettingsConfig.from_extra({}) == NetworkSettingsConfig()


def test_create_with_user_subnet_and_options(env: Env):
    env.svc.create({"Name": "n1", "Internal": True, "Attachable": True, "Options": {
        "com.docker.network.bridge.name": "ttbr1", "com.docker.network.driver.mtu": "1400",
        "com.docker.network.bridge.enable_icc": "false", "foo": "bar"},
        "IPAM": {"Driver": "default", "Config": [{"Subnet": "10.199.0.0/24", "IPRange": "10.199.0.128/25",
                                                   "Gateway": "10.199.0.254", "AuxiliaryAddresses": {"x": "10.199.0.5"}}]}})
    n = env.svc.inspect("n1")
    assert n["Internal"] and n["Attachable"]
    assert n["IPAM"]["Config"] == [{"Subnet": "10.199.0.0/24", "IPRange": "10.199.0.128/25",
                                    "Gateway": "10.199.0.254", "AuxiliaryAddresses": {"x": "10.199.0.5"}}]
    net = env.svc.get("n1")
    assert (net.bridge, net.mtu, net.icc, net.user_subnet, net.gateway, net.prefix_len) == \
        ("ttbr1", 1400, False, True, "10.199.0.254", 24)
    assert env.links.bridges["ttbr1"] == ("10.199.0.254/24", 1400)
    assert env.fw.networks["ttbr1"] == ("10.199.0.0/24", True, False)
    # subnet without gateway: the gateway is not shown (dockerd)
    env.svc.create({"Name": "n2", "IPAM": {"Config": [{"Subnet": "10.198.0.0/24"}]}})
    assert env.svc.inspect("n2")["IPAM"]["Config"] == [{"Subnet": "10.198.0.0/24"}]
    assert env.svc.get("n2").gateway == "10.198.0.1"


@pytest.mark.parametrize("body, cls, text", [
    ({"Name": ""}, errors.InvalidArgument, "invalid name: "),
    ({"Name": "x", "Driver": "host"}, errors.Forbidden, 'only one instance of "host" network is allowed'),
    ({"Name": "x", "Driver": "null"}, errors.Forbidden, 'only one instance of "null" network is allowed'),
    ({"Name": "x", "Driver": "foo"}, errors.NotFound, 'plugin "foo" not found'),
    ({"Name": "x", "IPAM": {"Driver": "foo"}}, errors.NotFound, 'plugin "foo" not found'),
    ({"Name": "x", "Ingress": True}, errors.Forbidden, "Ingress network can only be global scope network"),
    ({"Name": "x", "EnableIPv6": True}, errors.NotFound, "could not find an available, non-overlapping IPv6"),
    ({"Name": "x", "IPAM": {"Config": [{"Subnet": "10.197.0.0/24"}, {"Subnet": "10.197.1.0/24"}]}},
     errors.Forbidden, "bridge driver doesn't support multiple subnets"),
    ({"Name": "x", "IPAM": {"Config": [{"Subnet": "10.77.5.0/24"}]}}, errors.Forbidden,
     "Pool overlaps with other one on this address space"),
    ({"Name": "x", "Options": {"com.docker.network.driver.mtu": "abc"}}, errors.InvalidArgument,
     'failed to parse com.docker.network.driver.mtu value: abc (strconv.Atoi: parsing "abc": invalid syntax)'),
    ({"Name": "x", "Options": {"com.docker.network.bridge.enable_icc": "abc"}}, errors.InvalidArgument,
     'failed to parse com.docker.network.bridge.enable_icc value: abc (strconv.ParseBool: parsing "abc": '
     "invalid syntax)"),
    ({"Name": "x", "Options": {"com.docker.network.bridge.name": "tug0"}}, errors.Forbidden,
     "networks have same bridge name"),
    ({"Name": "x", "Options": {"com.docker.network.bridge.name": "docker0"}}, errors.Conflict,
     "bridge docker0 already exists on the host"),
    ({"Name": "x", "Options": {"com.docker.network.bridge.name": "a-very-long-bridge-name"}},
     errors.InvalidArgument, "invalid bridge name"),
])
def test_create_refusals(env: Env, body, cls, text):
    env.links.host_bridges.add("docker0")
    with pytest.raises(cls) as e:
        env.svc.create(body)
    assert text in e.value.message
    assert [n["Name"] for n in env.svc.list({})] == ["bridge", "host", "none"]
    assert set(env.links.bridges) == set() and set(env.fw.networks) == set()


def test_duplicate_names(env: Env):
    first = env.svc.create({"Name": "n1"})["Id"]
    with pytest.raises(errors.Conflict) as e:
        env.svc.create({"Name": "n1", "CheckDuplicate": True})
    assert e.value.message == "network with name n1 already exists"
    res = env.svc.create({"Name": "n1"})      # dockerd without CheckDuplicate: created, with a warning
    assert res["Warning"] == f"Network with name n1 (id : {first}) already exists"
    with pytest.raises(errors.InvalidArgument) as e2:
        env.svc.get("n1")
    assert e2.value.message == "network n1 is ambiguous (2 matches found based on name)"
    assert env.svc.get(first).id == first


def test_kernel_failure_leaves_nothing(env: Env):
    env.fw.fail_add = True
    with pytest.raises(errors.TugboatError):
        env.svc.create({"Name": "n1"})
    assert env.links.bridges == {} and [n["Name"] for n in env.svc.list({})] == ["bridge", "host", "none"]
    assert sorted(p.name for p in env.root.iterdir()) and len(list(env.root.glob("*.json"))) == 3


# -- lookup, inspect, list ---------------------------------------------------------------------

def test_get_by_id_prefix_and_not_found(env: Env):
    nid = env.svc.create({"Name": "n1"})["Id"]
    assert env.svc.get(nid[:5]).name == "n1"
    with pytest.raises(errors.NotFound) as e:
        env.svc.get("nope")
    assert e.value.message == "network nope not found"
    with pytest.raises(errors.NotFound):
        env.svc.inspect("n1", scope="swarm")
    assert env.svc.inspect("n1", verbose=True, scope="local")["Id"] == nid


def test_containers_map_in_inspect_but_not_in_list(env: Env):
    nid = env.svc.create({"Name": "n1"})["Id"]
    ip = env.svc.allocate_address(nid)
    env.svc.add_endpoint(nid, ep("c" * 64, ip, name="web"))
    assert env.svc.inspect("n1")["Containers"] == {"c" * 64: {
        "Name": "web", "EndpointID": "e" * 64, "MacAddress": "02:42:0a:4e:00:02",
        "IPv4Address": "10.78.0.2/24", "IPv6Address": ""}}
    assert env.svc.list({"name": ["n1"]})[0]["Containers"] == {}


def test_list_filters(env: Env):
    a = env.svc.create({"Name": "alpha", "Labels": {"k": "v", "flag": ""}})["Id"]
    env.svc.create({"Name": "beta"})
    names = lambda f: [n["Name"] for n in env.svc.list(f)]   # noqa: E731
    assert names({"name": ["alp"]}) == ["alpha"]
    assert names({"name": ["^b"]}) == ["beta", "bridge"]
    assert names({"name": ["os"]}) == ["host"]
    assert names({"id": [a[:6]]}) == ["alpha"]
    assert names({"driver": ["null"]}) == ["none"]
    assert names({"driver": ["nul"]}) == []
    assert names({"type": ["builtin"]}) == ["bridge", "host", "none"]
    assert names({"type": ["custom"]}) == ["alpha", "beta"]
    assert names({"label": ["k=v"]}) == ["alpha"] and names({"label": ["flag"]}) == ["alpha"]
    assert names({"label": ["k=w"]}) == []
    assert names({"scope": ["local"]}) == ["alpha", "beta", "bridge", "host", "none"]
    assert names({"scope": ["swarm"]}) == []
    env.svc.add_endpoint(a, ep("c" * 64, env.svc.allocate_address(a)))
    assert names({"dangling": ["true"]}) == ["alpha", "beta"]     # dockerd 20.10: even a used one
    assert names({"dangling": ["0"]}) == ["bridge", "host", "none"]
    with pytest.raises(errors.InvalidArgument) as e:
        env.svc.list({"foo": ["x"]})
    assert e.value.message == "Invalid filter 'foo'"
    with pytest.raises(errors.InvalidArgument) as e:
        env.svc.list({"type": ["xx"]})
    assert e.value.message == "invalid filter: 'type'='xx'"
    with pytest.raises(errors.InvalidArgument) as e:
        env.svc.list({"dangling": ["xx"]})
    assert e.value.message == ("invalid value for filter 'dangling', must be \"true\" (or \"1\"), "
                               "or \"false\" (or \"0\")")


# -- remove, prune -----------------------------------------------------------------------------

def test_remove_unplumbs_and_emits_destroy(env: Env):
    nid = env.svc.create({"Name": "n1"})["Id"]
    br = env.svc.get(nid).bridge
    env.svc.remove("n1")
    assert br not in env.links.bridges and br not in env.fw.networks
    assert not (env.root / f"{nid}.json").exists()
    assert ("destroy", nid, {"name": "n1", "type": "bridge"}) in env.actions()
    with pytest.raises(errors.NotFound):
        env.svc.remove("n1")


def test_remove_with_endpoints_is_refused(env: Env):
    nid = env.svc.create({"Name": "n1"})["Id"]
    env.svc.add_endpoint(nid, ep("c" * 64, env.svc.allocate_address(nid)))
    with pytest.raises(errors.Forbidden) as e:
        env.svc.remove("n1")
    assert e.value.message == f"error while removing network: network n1 id {nid} has active endpoints"
    env.svc.remove_endpoint(nid, "c" * 64)
    env.svc.remove("n1")


def test_prune(env: Env):
    used = env.svc.create({"Name": "used"})["Id"]
    env.svc.add_endpoint(used, ep("c" * 64, env.svc.allocate_address(used)))
    env.svc.create({"Name": "keep", "Labels": {"keep": "1"}})
    env.svc.create({"Name": "gone"})
    assert env.svc.prune({"label": ["nonexistent"]}) == {"NetworksDeleted": None}
    assert env.svc.prune({"label!": ["keep"]}) == {"NetworksDeleted": ["gone"]}
    assert env.svc.prune({"until": ["2000-01-01T00:00:00Z"]}) == {"NetworksDeleted": None}
    assert env.svc.prune({}) == {"NetworksDeleted": ["keep"]}
    assert [n["Name"] for n in env.svc.list({})] == ["bridge", "host", "none", "used"]
    prunes = [a for a in env.actions() if a[0] == "prune"]
    assert prunes and prunes[0] == ("prune", "", {"reclaimed": "0"})
    for bad, text in (({"foo": ["x"]}, "Invalid filter 'foo'"),
                      ({"until": ["xyz"]}, 'failed to parse value as time or duration: "xyz"')):
        with pytest.raises(errors.InvalidArgument) as e:
            env.svc.prune(bad)
        assert e.value.message == text


# -- container side ----------------------------------------------------------------------------

def test_default_bridge_addresses_and_endpoints(env: Env):
    b = env.svc.default_bridge()
    assert (b.name, b.bridge, b.subnet, b.gateway, b.prefix_len, b.internal, b.predefined) == \
        ("bridge", "tug0", "10.77.0.0/16", "10.77.0.1", 16, False, True)
    assert env.svc.allocate_address(b.id) == "10.77.0.2"
    assert env.svc.allocate_address(b.id, "10.77.3.4") == "10.77.3.4"
    with pytest.raises(errors.Forbidden) as e:
        env.svc.allocate_address(b.id, "10.77.3.4")
    assert e.value.message == "Address already in use"
    env.svc.release_address(b.id, "10.77.0.2")
    env.svc.release_address(b.id, "10.77.0.2")
    env.svc.release_address("no-such-network", "10.77.0.2")
    assert env.svc.allocate_address(b.id) == "10.77.0.2"
    with pytest.raises(errors.InvalidArgument):
        env.svc.allocate_address(env.svc.get("host").id)
    with pytest.raises(errors.NotFound):
        env.svc.allocate_address("nope")


def test_endpoints_are_copies_and_persist_with_addresses(env: Env):
    nid = env.svc.create({"Name": "n1"})["Id"]
    ip = env.svc.allocate_address(nid)
    env.svc.add_endpoint(nid, ep("c" * 64, ip, aliases=["db"]))
    got = env.svc.endpoints(nid)
    got[0].aliases.append("mutated")
    assert env.svc.endpoints(nid)[0].aliases == ["db"]
    fresh = env.new()
    assert [(e.container_id, e.ip, e.aliases) for e in fresh.endpoints(nid)] == [("c" * 64, ip, ["db"])]
    assert fresh.allocate_address(nid) == "10.78.0.3"      # .2 still taken after the restart
    fresh.remove_endpoint(nid, "c" * 64)
    fresh.remove_endpoint(nid, "c" * 64)
    assert fresh.endpoints(nid) == [] and fresh.endpoints("nope") == []


def test_concurrent_allocations_are_unique(env: Env):
    nid = env.svc.create({"Name": "n1"})["Id"]
    got: list[str] = []

    def work() -> None:
        for _ in range(10):
            got.append(env.svc.allocate_address(nid))

    threads = [threading.Thread(target=work) for _ in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(got) == 50 and len(set(got)) == 50


def test_network_event_filter_matches_id_prefix_or_name(env: Env):
    a = env.svc.create({"Name": "alpha"})["Id"]
    env.svc.create({"Name": "beta"})
    for value in (a[:8], "alpha"):
        past, sub = env.events.subscribe(since_ns=1, filters={"network": [value]})
        sub.close()
        assert [(m["Action"], m["Actor"]["ID"]) for m in past] == [("create", a)]
