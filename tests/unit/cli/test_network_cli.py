"""`tug network ...` against a fake client: request bodies, docker's IPAM flag consolidation, output."""

from __future__ import annotations

import io
import json
from typing import Any, cast

import pytest

from tugboat.cli.commands import network
from tugboat.cli.context import Context
from tugboat.cli.flags import UsageError
from tugboat.client.errors import APIError

NETS = [
    {"Name": "none", "Id": "c" * 64, "Created": "2026-11-22T17:15:11.335792262Z", "Scope": "local",
     "Driver": "null", "EnableIPv6": False, "Internal": False, "Labels": {}},
    {"Name": "n10", "Id": "a" * 64, "Created": "2026-11-22T20:10:40.31958526Z", "Scope": "local",
     "Driver": "bridge", "EnableIPv6": False, "Internal": True, "Labels": {"b": "2", "a": "1"}},
    {"Name": "n9", "Id": "b" * 64, "Created": "2026-11-22T20:10:40Z", "Scope": "local",
     "Driver": "bridge", "EnableIPv6": False, "Internal": False, "Labels": {}},
]


class FakeNetworks:
    def __init__(self) -> None:
        self.calls: list[tuple] = []

    def create(self, body: dict[str, Any]) -> dict[str, Any]:
        self.calls.append(("create", body))
        if body["Name"] == "dup":
            raise APIError(409, "network with name dup already exists")
        return {"Id": "f" * 64, "Warning": ""}

    def list(self, filters: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        self.calls.append(("list", filters))
        return NETS

    def inspect_raw(self, ref: str, verbose: bool = False) -> bytes:
        for n in NETS:
            if ref in (n["Name"], n["Id"]):
                return json.dumps(n).encode() + b"\n"
        raise APIError(404, f"network {ref} not found")

    def remove(self, ref: str) -> None:
        self.calls.append(("remove", ref))
        if ref == "bridge":
            raise APIError(403, "bridge is a pre-defined network and cannot be removed")
        if ref.startswith("missing"):
            raise APIError(404, f"network {ref} not found")

    def prune(self, filters: dict[str, Any] | None = None) -> dict[str, Any]:
        self.calls.append(("prune", filters))
        return {"NetworksDeleted": ["n9", "n10"] if not filters else None}

    def connect(self, ref: str, container: str, config: dict[str, Any]) -> None:
        self.calls.append(("connect", ref, container, config))

    def disconnect(self, ref: str, container: str, force: bool = False) -> None:
        self.calls.append(("disconnect", ref, container, force))


class FakeClient:
    def __init__(self) -> None:
        self.networks = FakeNetworks()


def ctx() -> Context:
    c = Context(out=io.StringIO(), err=io.StringIO())
    c._client = FakeClient()  # type: ignore[assignment]
    return c


def nets(c: Context) -> FakeNetworks:
    return cast(FakeClient, c.client).networks


def out(c: Context) -> str:
    return cast(io.StringIO, c.out).getvalue()


def err(c: Context) -> str:
    return cast(io.StringIO, c.err).getvalue()


def test_create_body_and_output():
    c = ctx()
    assert network.create(c, ["--subnet", "10.9.0.0/24", "--gateway", "10.9.0.254", "--ip-range", "10.9.0.128/25",
                              "--aux-address", "x=10.9.0.5", "--internal", "--attachable", "--label", "a=b",
                              "--label", "c", "-o", "com.docker.network.bridge.name=br9", "-o", "bare",
                              "--ipam-opt", "k=v", "n1"], "network create") == 0
    assert out(c) == "f" * 64 + "\n"
    body = nets(c).calls[0][1]
    assert body == {
        "Name": "n1", "CheckDuplicate": True, "Driver": "bridge", "Scope": "", "EnableIPv6": False,
        "IPAM": {"Driver": "default", "Options": {"k": "v"}, "Config": [
            {"Subnet": "10.9.0.0/24", "IPRange": "10.9.0.128/25", "Gateway": "10.9.0.254",
             "AuxiliaryAddresses": {"x": "10.9.0.5"}}]},
        "Internal": True, "Attachable": True, "Ingress": False, "ConfigOnly": False,
        "Options": {"com.docker.network.bridge.name": "br9", "bare": ""}, "Labels": {"a": "b", "c": ""}}


def test_create_daemon_error():
    c = ctx()
    assert network.create(c, ["dup"], "network create") == 1
    assert err(c) == "Error response from daemon: network with name dup already exists\n"


@pytest.mark.parametrize("argv, text", [
    (["--gateway", "10.1.0.1"], "every ip-range or gateway must have a corresponding subnet"),
    (["--ip-range", "bogus"], "every ip-range or gateway must have a corresponding subnet"),
    (["--subnet", "10.1.0.0/24", "--ip-range", "10.2.0.0/25"], "no matching subnet for range 10.2.0.0/25"),
    (["--subnet", "10.1.0.0/24", "--gateway", "10.2.0.1"], "no matching subnet for gateway 10.2.0.1"),
    (["--subnet", "10.1.0.0/24", "--aux-address", "a=10.2.0.1"], "no matching subnet for aux-address 10.2.0.1"),
    (["--aux-address", "bogus"], "no matching subnet for aux-address "),
    (["--subnet", "10.1.0.0/24", "--subnet", "10.1.0.0/16"],
     "multiple overlapping subnet configuration is not supported"),
    (["--subnet", "10.1.0.0/24", "--subnet", "10.2.0.0/24", "--gateway", "10.1.0.1", "--gateway", "10.1.0.2"],
     "cannot configure multiple gateways (10.1.0.2, 10.1.0.1) for the same subnet (10.1.0.0/24)"),
])
def test_create_ipam_checks_in_dockers_words(argv, text):
    c = ctx()
    assert network.create(c, argv + ["n1"], "network create") == 1
    assert err(c) == text + "\n"
    assert nets(c).calls == []


def test_create_label_with_space_is_a_flag_error():
    with pytest.raises(UsageError) as e:
        network.create(ctx(), ["--label", "a b=c", "n1"], "network create")
    assert e.value.message == 'invalid argument "a b=c" for "--label" flag: label \'a b\' contains whitespaces'


def test_ls_table_sorted_naturally_and_quiet():
    c = ctx()
    assert network.ls(c, [], "network ls") == 0
    assert out(c) == ("NETWORK ID     NAME      DRIVER    SCOPE\n"
                      f"{'b' * 12}   n9        bridge    local\n"
                      f"{'a' * 12}   n10       bridge    local\n"
                      f"{'c' * 12}   none      null      local\n")
    c = ctx()
    network.ls(c, ["-q", "--no-trunc", "-f", "driver=bridge"], "network ls")
    assert out(c) == f"{'b' * 64}\n{'a' * 64}\n{'c' * 64}\n"
    assert nets(c).calls == [("list", {"driver": {"bridge": True}})]


def test_ls_formats():
    c = ctx()
    network.ls(c, ["--format", "{{json .}}", "-f", "name=n10"], "network ls")
    first = out(c).splitlines()[1]
    assert json.loads(first) == {"CreatedAt": "2026-11-22 20:10:40.31958526 +0000 UTC", "Driver": "bridge",
                                 "ID": "a" * 12, "IPv4": "false", "IPv6": "false", "Internal": "true",
                                 "Labels": "a=1,b=2", "Name": "n10", "Scope": "local"}
    c = ctx()
    network.ls(c, ["--format", "table {{.Name}}\t{{.Internal}}\t{{.Label \"a\"}}\t{{.CreatedAt}}"], "network ls")
    assert out(c).splitlines()[:3] == ["NAME      INTERNAL   a         CREATED AT",
                                       "n9        false                2026-11-22 20:10:40 +0000 UTC",
                                       "n10       true       1         2026-11-22 20:10:40.31958526 +0000 UTC"]
    with pytest.raises(UsageError) as e:
        network.ls(ctx(), ["-f", "bogus"], "network ls")
    assert "bad format of filter (expected name=value)" in e.value.message


def test_inspect_found_and_missing():
    c = ctx()
    assert network.inspect(c, ["n9", "nope"], "network inspect") == 1
    assert json.loads(out(c))[0]["Name"] == "n9" and out(c).startswith("[\n    {\n")
    assert err(c) == "Error response from daemon: network nope not found\n"
    c = ctx()
    assert network.inspect(c, ["-f", "{{.Name}} {{.Created}} {{json .Created}} {{.Labels}}", "n10"],
                           "network inspect") == 0
    assert out(c) == 'n10 2026-11-22 20:10:40.31958526 +0000 UTC "2026-11-22T20:10:40.31958526Z" map[a:1 b:2]\n'
    c = ctx()
    assert network.inspect(c, ["nope"], "network inspect") == 1
    assert out(c) == "[]\n"


def test_rm_reports_each_and_force_skips_missing():
    c = ctx()
    assert network.rm(c, ["n9", "bridge", "missing1", "n10"], "network rm") == 1
    assert out(c) == "n9\nn10\n"
    assert err(c) == ("Error response from daemon: bridge is a pre-defined network and cannot be removed\n"
                      "Error response from daemon: network missing1 not found\nexit status 1\n")
    c = ctx()
    assert network.rm(c, ["-f", "missing1", "n9"], "network rm") == 0
    assert (out(c), err(c)) == ("n9\n", "")


def test_prune_output(monkeypatch: pytest.MonkeyPatch):
    c = ctx()
    assert network.prune(c, ["-f"], "network prune") == 0
    assert out(c) == "Deleted Networks:\nn9\nn10\n\n"
    c = ctx()
    assert network.prune(c, ["-f", "--filter", "label=x"], "network prune") == 0
    assert out(c) == "" and nets(c).calls == [("prune", {"label": {"x": True}})]
    c = ctx()
    monkeypatch.setattr("sys.stdin", io.StringIO("n\n"))
    monkeypatch.setattr("sys.stdout", io.StringIO())
    assert network.prune(c, [], "network prune") == 0
    assert nets(c).calls == []


def test_connect_and_disconnect_bodies():
    c = ctx()
    assert network.connect(c, ["--alias", "db,cache", "--alias", "x", "--ip", "10.9.0.7", "--link", "a:b",
                               "n1", "web"], "network connect") == 0
    assert nets(c).calls == [("connect", "n1", "web", {
        "IPAMConfig": {"IPv4Address": "10.9.0.7"}, "Links": ["a:b"], "Aliases": ["db", "cache", "x"],
        "DriverOpts": None})]
    assert network.disconnect(c, ["-f", "n1", "web"], "network disconnect") == 0
    assert nets(c).calls[-1] == ("disconnect", "n1", "web", True)
    assert (out(c), err(c)) == ("", "")
