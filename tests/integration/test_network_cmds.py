"""Networks as objects: `network create|ls|inspect|rm|prune` through tug, the docker CLI and docker-py,
the Linux bridge a bridge network owns, predefined networks, docker's errors, events, restarts."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Callable, Iterator

import pytest

from .helpers import HEX64, RFC3339NANO, ok


@pytest.fixture
def net_name(cli, token: str) -> Iterator[Callable[[str], str]]:
    """net_name("x") -> a network name of this session; every one is removed after the test."""
    made: list[str] = []

    def new(stem: str) -> str:
        made.append(f"tt{token}-{stem}-{cli.name}-{len(made)}")
        return made[-1]

    yield new
    for name in made:
        cli("network", "rm", "-f", name)


@pytest.fixture
def subnet(tugd) -> Callable[[int], str]:
    """subnet(n) -> a /24 of this session's 10.X.0.0/16 outside its bridge and default pools."""
    if tugd.tmp is not None:
        x = json.loads((tugd.tmp / "daemon.json").read_text())["bip"].split(".")[1]
    else:
        x = "213"
    return lambda n: f"10.{x}.{64 + n}.0/24"


def bridge_of(tugd, net_id: str) -> str:
    """The Linux bridge of a user network without a bridge name option (docker: br-<12 of the id>)."""
    if tugd.target == "docker":
        return "br-" + net_id[:12]
    head = f"tt{tugd.token}-"
    return head + net_id[:15 - len(head)]


def link_exists(name: str) -> bool:
    return subprocess.run(["ip", "link", "show", name], capture_output=True).returncode == 0


def inspect(cli, ref: str) -> dict:
    return json.loads(ok(cli("network", "inspect", ref)).stdout)[0]


def test_predefined_networks(cli, tugd):
    out = ok(cli("network", "ls", "--format", "{{.Name}} {{.Driver}} {{.Scope}}", "-f", "type=builtin")).stdout
    rows = out.splitlines()
    assert "host host local" in rows and "none null local" in rows
    if tugd.target == "tugd":
        assert rows == ["bridge bridge local", "host host local", "none null local"]
        b = inspect(cli, "bridge")
        assert b["Options"]["com.docker.network.bridge.name"] == f"tt{tugd.token}"
        assert b["Options"]["com.docker.network.bridge.default_bridge"] == "true"
        assert b["IPAM"]["Options"] is None and b["IPAM"]["Config"][0]["Gateway"].endswith(".0.1")
        assert link_exists(f"tt{tugd.token}")
    for name in ("host", "none") + (("bridge",) if tugd.target == "tugd" else ()):
        p = cli("network", "rm", name)
        assert p.returncode == 1
        assert p.stderr == (f"Error response from daemon: {name} is a pre-defined network and cannot be removed\n"
                            "exit status 1\n")
        p = cli("network", "create", name)
        assert p.returncode == 1
        assert p.stderr == f"Error response from daemon: operation is not permitted on predefined {name} network\n"


def test_create_inspect_rm_with_its_bridge(cli, tugd, net_name):
    name = net_name("a")
    nid = ok(cli("network", "create", "--label", "tier=db", name)).stdout.strip()
    assert HEX64.match(nid)
    n = inspect(cli, name)
    assert list(n) == ["Name", "Id", "Created", "Scope", "Driver", "EnableIPv6", "IPAM", "Internal", "Attachable",
                       "Ingress", "ConfigFrom", "ConfigOnly", "Containers", "Options", "Labels"]
    assert (n["Name"], n["Id"], n["Driver"], n["Scope"], n["Internal"], n["Labels"]) == \
        (name, nid, "bridge", "local", False, {"tier": "db"})
    assert n["Containers"] == {} and n["Options"] == {}
    import re
    assert re.fullmatch(RFC3339NANO, n["Created"])
    cfg = n["IPAM"]["Config"]
    assert n["IPAM"]["Driver"] == "default" and len(cfg) == 1 and set(cfg[0]) == {"Subnet", "Gateway"}
    bridge = bridge_of(tugd, nid)
    assert link_exists(bridge)
    addr = subprocess.run(["ip", "-4", "-o", "addr", "show", bridge], capture_output=True, text=True).stdout
    prefix = cfg[0]["Subnet"].split("/")[1]
    assert f"inet {cfg[0]['Gateway']}/{prefix}" in addr
    assert ok(cli("network", "inspect", "-f", "{{.Name}} {{.Driver}} {{index .Labels \"tier\"}}", nid[:10])).stdout \
        == f"{name} bridge db\n"
    assert ok(cli("network", "rm", name)).stdout == f"{name}\n"
    assert not link_exists(bridge)
    p = cli("network", "inspect", name)
    assert (p.returncode, p.stdout, p.stderr) == (1, "[]\n", f"Error response from daemon: network {name} not found\n")


def test_create_with_subnet_options_and_errors(cli, tugd, net_name, subnet):
    name, other = net_name("s"), net_name("s")
    sn = subnet(1 if cli.name == "tug" else 2)
    base = sn.rsplit(".", 1)[0]
    ok(cli("network", "create", "--subnet", sn, "--gateway", f"{base}.254", "--ip-range", f"{base}.128/25",
           "--aux-address", f"printer={base}.5", "--internal", "--attachable", "-o", "custom=1",
           "-o", f"com.docker.network.bridge.name=tt{tugd.token}{cli.name[0]}x", name))
    n = inspect(cli, name)
    assert n["IPAM"]["Config"] == [{"Subnet": sn, "IPRange": f"{base}.128/25", "Gateway": f"{base}.254",
                                    "AuxiliaryAddresses": {"printer": f"{base}.5"}}]
    assert (n["Internal"], n["Attachable"]) == (True, True)
    assert n["Options"] == {"custom": "1", "com.docker.network.bridge.name": f"tt{tugd.token}{cli.name[0]}x"}
    assert link_exists(f"tt{tugd.token}{cli.name[0]}x")
    p = cli("network", "create", "--subnet", sn, other)
    assert (p.returncode, p.stderr) == (1, "Error response from daemon: Pool overlaps with other one on this "
                                           "address space\n")
    p = cli("network", "create", name)
    assert (p.returncode, p.stderr) == (1, f"Error response from daemon: network with name {name} already exists\n")
    p = cli("network", "create", "--gateway", f"{base}.1", other)
    assert (p.returncode, p.stderr) == (1, "every ip-range or gateway must have a corresponding subnet\n")
    p = cli("network", "create", "-d", "nosuchdriver", other)
    assert (p.returncode, p.stderr) == (1, 'Error response from daemon: plugin "nosuchdriver" not found\n')
    p = cli("network", "create", "--subnet", "bogus", other)
    assert (p.returncode, p.stderr) == (1, "Error response from daemon: Invalid subnet bogus : invalid CIDR "
                                           "address: bogus\n")
    ok(cli("network", "rm", name))
    assert not link_exists(f"tt{tugd.token}{cli.name[0]}x")


def test_ls_filters_and_formats(cli, net_name, token):
    a, b = net_name("ls"), net_name("ls")
    ida = ok(cli("network", "create", "--label", f"tt{token}=a", a)).stdout.strip()
    ok(cli("network", "create", "--label", f"tt{token}=b", b))
    out = ok(cli("network", "ls", "-f", f"label=tt{token}")).stdout.splitlines()
    assert out[0].split() == ["NETWORK", "ID", "NAME", "DRIVER", "SCOPE"]
    assert [r.split() for r in out[1:]] == [[ida[:12], a, "bridge", "local"],
                                            [ok(cli("network", "inspect", "-f", "{{.Id}}", b)).stdout[:12], b,
                                             "bridge", "local"]]
    assert ok(cli("network", "ls", "-q", "--no-trunc", "-f", f"label=tt{token}=a")).stdout == ida + "\n"
    assert ok(cli("network", "ls", "-q", "-f", f"id={ida[:20]}")).stdout == ida[:12] + "\n"
    names = ok(cli("network", "ls", "--format", "{{.Name}}", "-f", f"name={a}", "-f", "type=custom")).stdout
    assert names == f"{a}\n"
    assert ok(cli("network", "ls", "-q", "-f", f"name={a}", "-f", "driver=null")).stdout == ""
    row = json.loads(ok(cli("network", "ls", "--format", "json", "-f", f"name={a}")).stdout)
    assert row["Name"] == a and row["Labels"] == f"tt{token}=a" and row["Internal"] == "false"
    p = cli("network", "ls", "-f", "nosuch=1")
    assert (p.returncode, p.stderr) == (1, "Error response from daemon: Invalid filter 'nosuch'\n")


def test_tug_and_docker_print_the_same(tugd, tug, docker_cli, token, subnet):
    name = f"tt{token}-same"
    try:
        ok(tug("network", "create", "--subnet", subnet(9), "--label", "x=y", name))
        for args in (("network", "ls"), ("network", "ls", "--no-trunc", "-f", "type=custom"),
                     ("network", "ls", "--format", "table {{.Name}}\t{{.Labels}}\t{{.Internal}}\t{{.CreatedAt}}"),
                     ("network", "ls", "--format", "json"), ("network", "inspect", name, "bridge"),
                     ("network", "inspect", "-f", "{{.Created}} {{.Labels}} {{.Internal}} {{.Scope}}", name),
                     ("network", "inspect", name, "nosuch"), ("network", "rm", "nosuch", "host")):
            t, d = tug(*args), docker_cli(*args)
            assert (t.returncode, t.stdout, t.stderr) == (d.returncode, d.stdout, d.stderr), args
    finally:
        tug("network", "rm", name)


def test_prune_removes_only_unused_custom_networks(cli, net_name, token):
    a, b = net_name("p"), net_name("p")
    ok(cli("network", "create", "--label", f"tt{token}-prune", a))
    ok(cli("network", "create", "--label", f"tt{token}-prune", "--label", "keep", b))
    out = ok(cli("network", "prune", "-f", "--filter", f"label=tt{token}-prune", "--filter", "label!=keep")).stdout
    assert out == f"Deleted Networks:\n{a}\n\n"
    assert ok(cli("network", "prune", "-f", "--filter", f"label=tt{token}-nothing")).stdout == ""
    p = cli("network", "prune", "--filter", f"label=tt{token}-prune", input="n\n")
    assert p.returncode == 0 and "WARNING! This will remove all custom networks not used by at least one " \
                                 "container.\nAre you sure you want to continue? [y/N] " in p.stdout
    assert ok(cli("network", "ls", "-q", "-f", f"name={b}")).stdout.strip()


def test_docker_py_networks_and_events(dclient, tugd, token, subnet):
    import docker

    since = time.time() - 1
    name = f"tt{token}-dpy"
    net = dclient.networks.create(name, labels={f"tt{token}": "dpy"}, ipam=docker.types.IPAMConfig(
        pool_configs=[docker.types.IPAMPool(subnet=subnet(12), gateway=subnet(12).replace(".0/24", ".1"))]))
    try:
        assert net.name == name and HEX64.match(net.id)
        got = dclient.networks.get(name)
        assert got.attrs["IPAM"]["Config"] == [{"Subnet": subnet(12), "Gateway": subnet(12).replace(".0/24", ".1")}]
        assert [n.id for n in dclient.networks.list(filters={"label": f"tt{token}=dpy"})] == [net.id]
        with pytest.raises(docker.errors.NotFound):
            dclient.networks.get(f"tt{token}-missing")
        with pytest.raises(docker.errors.APIError) as e:
            dclient.networks.get("bridge" if tugd.target == "tugd" else "host").remove()
        assert e.value.status_code == 403
        assert dclient.networks.prune(filters={"label": f"tt{token}=dpy"}) == {"NetworksDeleted": [name]}
    finally:
        try:
            dclient.networks.get(name).remove()
        except docker.errors.NotFound:
            pass
    evs = list(dclient.events(since=since, until=time.time() + 0.5, decode=True,
                              filters={"type": "network", "network": net.id}))
    assert [(e["Action"], e["Actor"]["Attributes"]) for e in evs] == [
        ("create", {"name": name, "type": "bridge"}), ("destroy", {"name": name, "type": "bridge"})]
    assert not link_exists(bridge_of(tugd, net.id))


@pytest.mark.slow
def test_networks_survive_restart_and_bridges_come_back(tugd, tug, token):
    if tugd.target != "tugd":
        pytest.skip("restarts the private tugd")
    name = f"tt{token}-restart"
    ids = {n: ok(tug("network", "inspect", "-f", "{{.Id}}", n)).stdout for n in ("bridge", "host", "none")}
    nid = ok(tug("network", "create", name)).stdout.strip()
    try:
        before = inspect(tug, name)
        tugd.stop()
        bridge = bridge_of(tugd, nid)
        subprocess.run(["ip", "link", "del", bridge], check=True)
        tugd.start()
        assert inspect(tug, name) == before
        assert link_exists(bridge)
        assert {n: ok(tug("network", "inspect", "-f", "{{.Id}}", n)).stdout for n in ids} == ids
    finally:
        tug("network", "rm", name)
    assert not link_exists(bridge_of(tugd, nid))


def test_connected_container_shows_in_inspect_and_blocks_rm(cli, tugd, net_name, new_name, subnet):
    name, home, cname = net_name("c"), net_name("home"), new_name("netc")
    sn = subnet(20 if cli.name == "tug" else 21)
    nid = ok(cli("network", "create", "--subnet", sn, name)).stdout.strip()
    ok(cli("network", "create", home))
    ok(cli("run", "-d", "--name", cname, "--network", home, "busybox", "sleep", "300"))
    cid = ok(cli("inspect", "-f", "{{.Id}}", cname)).stdout.strip()
    ip = sn.replace(".0/24", ".9")
    ok(cli("network", "connect", "--ip", ip, "--alias", "db", name, cname))
    eps = inspect(cli, name)["Containers"]
    assert list(eps) == [cid]
    ep = eps[cid]
    assert (ep["Name"], ep["IPv4Address"], ep["IPv6Address"]) == (cname, ip + "/24", "")
    assert HEX64.match(ep["EndpointID"]) and ep["MacAddress"].startswith("02:42:")
    # dockerd 20.10 judges dangling on the list's (always empty) Containers maps
    assert ok(cli("network", "ls", "-q", "--no-trunc", "-f", "dangling=true", "-f", f"name={name}")).stdout \
        == nid + "\n"
    p = cli("network", "rm", name)
    assert (p.returncode, p.stdout) == (1, "")
    assert p.stderr == (f"Error response from daemon: error while removing network: network {name} id {nid} has "
                        "active endpoints\nexit status 1\n")
    ok(cli("network", "disconnect", name, cname))
    assert inspect(cli, name)["Containers"] == {}
    ok(cli("rm", "-f", cname))
    assert ok(cli("network", "rm", name, home)).stdout == f"{name}\n{home}\n"
