"""run/create networking flags as docker's CLI turns them into the create request
(cli/command/container/opts.go and go-connections' nat.ParsePortSpec): -p/--publish with ip:host:ctr/proto
and ranges, --expose ranges, --ip, --mac-address, --link, --network-alias, --add-host and --dns."""

from __future__ import annotations

import ipaddress
import re
from typing import Any

from tugboat.cli.flags import L, S, Spec, UsageError

_MAC = re.compile(r"^[0-9A-Fa-f]{2}([:-])(?:[0-9A-Fa-f]{2}\1){4}[0-9A-Fa-f]{2}$")
PREDEFINED = ("default", "bridge", "host", "none")


class PortError(ValueError):
    """A bad -p/--expose value; the message is docker's (printed as `docker: <msg>`)."""


def flags() -> list[Any]:
    return [
        S("ip", help="IPv4 address (e.g., 172.30.100.104)"),
        L("link", help="Add link to another container"),
        S("mac-address", help="Container MAC address (e.g., 92:d0:c6:0a:29:33)"),
    ]


def check_flags(opts: dict[str, Any], spec: Spec) -> None:
    """pflag's per-value validators: --link, --add-host and --dns."""
    for link in opts["link"]:
        if len(link.split(":")) > 2 or not link.split(":")[0]:
            raise UsageError(f'invalid argument "{link}" for "--link" flag: bad format for links: {link}', spec)
    for entry in opts["add_host"]:
        host, sep, addr = entry.partition(":")
        if not sep or not host or not addr:
            raise UsageError(f'invalid argument "{entry}" for "--add-host" flag: bad format for add-host: '
                             f'"{entry}"', spec)
        if addr != "host-gateway" and not _is_ip(addr):
            raise UsageError(f'invalid argument "{entry}" for "--add-host" flag: invalid IP address in add-host: '
                             f'"{addr}"', spec)
    for server in opts["dns"]:
        if not _is_ip(server):
            raise UsageError(f'invalid argument "{server}" for "--dns" flag: IP address is not correctly '
                             f'formatted: {server}', spec)


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text.strip("[]"))
        return True
    except ValueError:
        return False


def _port_range(text: str) -> tuple[int, int] | None:
    first, sep, last = text.partition("-")
    if not first.isdigit() or (sep and not last.isdigit()):
        return None
    lo, hi = int(first), int(last) if sep else int(first)
    if lo > 65535 or hi > 65535 or hi < lo:
        return None
    return lo, hi


def parse_publish(spec: str) -> list[tuple[str, dict[str, str]]]:
    """nat.ParsePortSpec: [("80/tcp", {"HostIp": "", "HostPort": "8080"}), ...]."""
    parts = spec.split(":")
    container = parts[-1]
    if len(parts) == 1:
        raw_ip, host = "", ""
    elif len(parts) == 2:
        raw_ip, host = "", parts[0]
    else:
        raw_ip, host = ":".join(parts[:-2]), parts[-2]
    container, _, proto = container.partition("/")
    proto = (proto or "tcp").lower()
    ip = raw_ip[1:-1] if raw_ip.startswith("[") and raw_ip.endswith("]") else raw_ip
    if ip and not _is_ip(ip):
        raise PortError(f"invalid IP address: {ip}")
    if not container:
        raise PortError(f"no port specified: {spec}<empty>")
    crange = _port_range(container)
    if crange is None:
        raise PortError(f"invalid containerPort: {container}")
    hrange = (0, 0)
    if host:
        parsed = _port_range(host)
        if parsed is None:
            raise PortError(f"invalid hostPort: {host}")
        hrange = parsed
    if host and crange[1] - crange[0] != hrange[1] - hrange[0] and crange[0] != crange[1]:
        raise PortError(f"invalid ranges specified for container and host Ports: {container} and {host}")
    if proto not in ("tcp", "udp", "sctp"):
        raise PortError(f"invalid proto: {proto}")
    out = []
    for i in range(crange[1] - crange[0] + 1):
        host_port = str(hrange[0] + i) if host else ""
        if crange[0] == crange[1] and hrange[0] != hrange[1]:
            host_port = f"{hrange[0]}-{hrange[1]}"
        out.append((f"{crange[0] + i}/{proto}", {"HostIp": ip, "HostPort": host_port}))
    return out


def ports(opts: dict[str, Any]) -> tuple[dict[str, dict], dict[str, list[dict[str, str]]]]:
    """(Config.ExposedPorts, HostConfig.PortBindings) from -p and --expose; PortError if invalid."""
    exposed: dict[str, dict] = {}
    bindings: dict[str, list[dict[str, str]]] = {}
    for spec in opts["publish"]:
        for key, binding in parse_publish(spec):
            exposed[key] = {}
            bindings.setdefault(key, []).append(binding)
    for e in opts["expose"]:
        port, _, proto = e.partition("/")
        rng = _port_range(port)
        if rng is None:
            bad = port.split("-")[0] if port.split("-")[0] and not port.split("-")[0].isdigit() else port
            raise PortError(f'invalid range format for --expose: {e}, error: strconv.ParseUint: parsing '
                            f'"{bad}": invalid syntax')
        for p in range(rng[0], rng[1] + 1):
            exposed[f"{p}/{(proto or 'tcp').lower()}"] = {}
    return exposed, bindings


def apply(opts: dict[str, Any], config: dict[str, Any], host: dict[str, Any]) -> dict[str, Any]:
    """MacAddress, Links and the NetworkingConfig of the create request; PortError on bad values."""
    if opts["mac_address"]:
        if not _MAC.match(opts["mac_address"]):
            raise PortError(f"{opts['mac_address']} is not a valid mac address")
        config["MacAddress"] = opts["mac_address"]
    net = host["NetworkMode"]
    if opts["network_alias"] and net in PREDEFINED:
        raise PortError("network-scoped aliases are only supported for user-defined networks")
    host["Links"] = list(opts["link"]) or None
    endpoint: dict[str, Any] = {}
    if opts["ip"]:
        endpoint["IPAMConfig"] = {"IPv4Address": opts["ip"]}
    if opts["link"] and net not in PREDEFINED:
        endpoint["Links"] = list(opts["link"])
    if opts["network_alias"]:
        endpoint["Aliases"] = list(opts["network_alias"])
    return {"EndpointsConfig": {net: endpoint} if endpoint else {}}
