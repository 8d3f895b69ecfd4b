"""run/create networking flags -> the create body docker's CLI sends, and its error texts."""

from __future__ import annotations

from typing import Any

import pytest

from tugboat.cli.commands.run import RunError, _spec, build_config
from tugboat.cli.commands.run_network import PortError, check_flags, parse_publish
from tugboat.cli.flags import UsageError, parse


def config(argv: list[str]) -> dict[str, Any]:
    opts, args = parse(_spec("run", run=True), argv)
    check_flags(opts, _spec("run", run=True))
    return build_config(opts, args, False)[0]


@pytest.mark.parametrize("spec, want", [
    ("80", [("80/tcp", {"HostIp": "", "HostPort": ""})]),
    ("8080:80/udp", [("80/udp", {"HostIp": "", "HostPort": "8080"})]),
    ("127.0.0.1::80", [("80/tcp", {"HostIp": "127.0.0.1", "HostPort": ""})]),
    ("[::1]:8080:80", [("80/tcp", {"HostIp": "::1", "HostPort": "8080"})]),
    ("8000-8001:80-81", [("80/tcp", {"HostIp": "", "HostPort": "8000"}),
                         ("81/tcp", {"HostIp": "", "HostPort": "8001"})]),
    ("8000-8010:80", [("80/tcp", {"HostIp": "", "HostPort": "8000-8010"})]),
    ("90-91", [("90/tcp", {"HostIp": "", "HostPort": ""}), ("91/tcp", {"HostIp": "", "HostPort": ""})]),
])
def test_publish_specs(spec: str, want: list) -> None:
    assert parse_publish(spec) == want


@pytest.mark.parametrize("spec, message", [
    ("abc", "invalid containerPort: abc"),
    ("8080:abc", "invalid containerPort: abc"),
    ("1.2.3:80:80", "invalid IP address: 1.2.3"),
    ("8000-8002:80-81", "invalid ranges specified for container and host Ports: 80-81 and 8000-8002"),
    ("x:80", "invalid hostPort: x"),
    ("99999:80", "invalid hostPort: 99999"),
])
def test_publish_errors(spec: str, message: str) -> None:
    with pytest.raises(PortError) as e:
        parse_publish(spec)
    assert str(e.value) == message


def test_network_flags_in_the_body() -> None:
    c = config(["--network", "app", "--ip", "10.1.0.5", "--network-alias", "web", "--link", "db:sql",
                "--mac-address", "02:42:0a:01:00:05", "--expose", "9000-9001", "-P", "busybox"])
    assert c["MacAddress"] == "02:42:0a:01:00:05"
    assert c["ExposedPorts"] == {"9000/tcp": {}, "9001/tcp": {}}
    assert c["HostConfig"]["Links"] == ["db:sql"] and c["HostConfig"]["PublishAllPorts"] is True
    assert c["NetworkingConfig"] == {"EndpointsConfig": {"app": {
        "IPAMConfig": {"IPv4Address": "10.1.0.5"}, "Links": ["db:sql"], "Aliases": ["web"]}}}
    assert config(["busybox"])["NetworkingConfig"] == {"EndpointsConfig": {}}


def test_network_flag_errors() -> None:
    with pytest.raises(RunError, match="network-scoped aliases are only supported for user-defined networks"):
        config(["--network-alias", "x", "busybox"])
    with pytest.raises(RunError, match="zz is not a valid mac address"):
        config(["--mac-address", "zz", "busybox"])
    with pytest.raises(RunError, match='invalid range format for --expose: abc, error: strconv.ParseUint'):
        config(["--expose", "abc", "busybox"])
    with pytest.raises(UsageError, match='invalid argument "a:b:c" for "--link" flag: bad format for links'):
        config(["--link", "a:b:c", "busybox"])
    with pytest.raises(UsageError, match='bad format for add-host: "foo"'):
        config(["--add-host", "foo", "busybox"])
    with pytest.raises(UsageError, match="IP address is not correctly formatted: zz"):
        config(["--dns", "zz", "busybox"])
