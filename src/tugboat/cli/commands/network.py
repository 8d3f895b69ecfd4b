"""`network create|ls|inspect|rm|prune|connect|disconnect`: docker's network commands, flags and
output (docker CLI 28 against a 20.10 daemon, as installed beside Tugboat)."""

from __future__ import annotations

import sys

from tugboat.cli.context import Context
from tugboat.cli.flags import B, I, L, S, Spec, UsageError, parse
from tugboat.client.errors import APIError, DaemonUnreachable

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from tugboat.cli.gotemplate import Template

FORMAT_HELP = "Format output using a custom template"
NETWORK_TITLES = {"ID": "NETWORK ID", "Name": "NAME", "Driver": "DRIVER", "Scope": "SCOPE", "IPv4": "IPV4",
                  "IPv6": "IPV6", "Internal": "INTERNAL", "Labels": "LABELS", "CreatedAt": "CREATED AT"}
NETWORK_TABLE = "table {{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.Scope}}"
JSON_FIELDS = ["CreatedAt", "Driver", "ID", "IPv4", "IPv6", "Internal", "Labels", "Name", "Scope"]
PRUNE_WARNING = "WARNING! This will remove all custom networks not used by at least one container."


def go_time(rfc3339: str) -> str:
    """Go's time.Time.String() of an API timestamp: "2026-11-22 20:10:40.31958526 +0000 UTC"."""
    import time

    from tugboat.api.timefmt import parse_rfc3339
    try:
        ns = parse_rfc3339(rfc3339)
    except ValueError:
        return rfc3339
    secs, frac = divmod(ns, 1_000_000_000)
    t = time.localtime(secs)
    fraction = f".{frac:09d}".rstrip("0") if frac else ""
    return time.strftime("%Y-%m-%d %H:%M:%S", t) + fraction + time.strftime(" %z %Z", t)


class GoTime:
    """A timestamp inside inspect's data: prints as Go's time.Time, marshals as the API string."""

    def __init__(self, text: str) -> None:
        self.text = text

    def go_string(self) -> str:
        return go_time(self.text)

    def to_json(self) -> str:
        return self.text


class NetworkRow:
    """docker's networkContext: the fields `network ls --format` can use."""

    go_type = "formatter.networkContext"

    def __init__(self, n: dict[str, Any], trunc: bool = True) -> None:
        self.n = n
        self.trunc = trunc

    def ID(self) -> str:
        nid = str(self.n.get("Id", ""))
        return nid[:12] if self.trunc else nid

    def Name(self) -> str:
        return str(self.n.get("Name", ""))

    def Driver(self) -> str:
        return str(self.n.get("Driver", ""))

    def Scope(self) -> str:
        return str(self.n.get("Scope", ""))

    def IPv4(self) -> str:
        return "true" if self.n.get("EnableIPv4") else "false"

    def IPv6(self) -> str:
        return "true" if self.n.get("EnableIPv6") else "false"

    def Internal(self) -> str:
        return "true" if self.n.get("Internal") else "false"

    def Labels(self) -> str:
        return ",".join(f"{k}={v}" for k, v in sorted((self.n.get("Labels") or {}).items()))

    def Label(self, name: str) -> str:
        return str((self.n.get("Labels") or {}).get(name, ""))

    def CreatedAt(self) -> str:
        return go_time(str(self.n.get("Created", ""))) if self.n.get("Created") else ""

    def to_json(self) -> dict[str, Any]:
        return {k: getattr(self, k)() for k in JSON_FIELDS}


def _map_opt(values: list[str]) -> dict[str, str]:
    """opts.MapOpts: "k=v" entries; a bare "k" is k with an empty value."""
    out = {}
    for v in values:
        k, _, val = v.partition("=")
        out[k] = val
    return out


def _labels(values: list[str], spec: Spec) -> dict[str, str]:
    """opts.ValidateLabel + ConvertKVStringsToMap."""
    for v in values:
        key = v.partition("=")[0]
        if any(c.isspace() for c in key):
            raise UsageError(f'invalid argument "{v}" for "--label" flag: label \'{key}\' contains whitespaces',
                             spec)
    return _map_opt(values)


class IpamError(Exception):
    """The CLI's own check of --subnet/--ip-range/--gateway/--aux-address (exit 1)."""


def _contains(subnet: str, data: str) -> bool:
    import ipaddress
    try:
        net = ipaddress.ip_network(subnet, strict=False)
    except ValueError:
        raise IpamError(f"invalid CIDR address: {subnet}") from None
    try:
        ip = ipaddress.ip_interface(data).ip if "/" in data else ipaddress.ip_address(data)
    except ValueError:
        return False
    return ip.version == net.version and ip in net


def ipam_config(subnets: list[str], ranges: list[str], gateways: list[str],
                aux: dict[str, str]) -> list[dict[str, Any]]:
    """docker's consolidateIpam: each range, gateway and aux address joins the subnet holding it."""
    if len(subnets) < len(ranges) or len(subnets) < len(gateways):
        raise IpamError("every ip-range or gateway must have a corresponding subnet")
    data: dict[str, dict[str, Any]] = {}
    for s in subnets:
        for k in data:
            if _contains(s, k.split("/")[0]) or _contains(k, s.split("/")[0]):
                raise IpamError("multiple overlapping subnet configuration is not supported")
        data[s] = {"Subnet": s, "AuxiliaryAddresses": {}}
    for r in ranges:
        match = False
        for s in subnets:
            if not _contains(s, r):
                continue
            if data[s].get("IPRange"):
                raise IpamError(f"cannot configure multiple ranges ({r}, {data[s]['IPRange']}) on the same subnet "
                                f"({s})")
            data[s]["IPRange"] = r
            match = True
        if not match:
            raise IpamError(f"no matching subnet for range {r}")
    for g in gateways:
        match = False
        for s in subnets:
            if not _contains(s, g):
                continue
            if data[s].get("Gateway"):
                raise IpamError(f"cannot configure multiple gateways ({g}, {data[s]['Gateway']}) for the same "
                                f"subnet ({s})")
            data[s]["Gateway"] = g
            match = True
        if not match:
            raise IpamError(f"no matching subnet for gateway {g}")
    for key, addr in aux.items():
        match = False
        for s in subnets:
            if _contains(s, addr):
                data[s]["AuxiliaryAddresses"][key] = addr
                match = True
        if not match:
            raise IpamError(f"no matching subnet for aux-address {addr}")
    return list(data.values())


def create(ctx: Context, argv: list[str], path: str) -> int:
    spec = Spec(path, f"docker {path} [OPTIONS] NETWORK", "Create a network", [
        B("attachable", help="Enable manual container attachment"),
        L("aux-address", help="Auxiliary IPv4 or IPv6 addresses used by Network driver", metavar="map"),
        S("config-from", help="The network from which to copy the configuration"),
        B("config-only", help="Create a configuration only network"),
        S("driver", "d", "Driver to manage the Network", default="bridge"),
        L("gateway", help="IPv4 or IPv6 Gateway for the master subnet", metavar="strings"),
        B("ingress", help="Create swarm routing-mesh network"),
        B("internal", help="Restrict external access to the network"),
        L("ip-range", help="Allocate container ip from a sub-range", metavar="strings"),
        S("ipam-driver", help="IP Address Management Driver", default="default"),
        L("ipam-opt", help="Set IPAM driver specific options", metavar="map"),
        B("ipv6", help="Enable or disable IPv6 address assignment"),
        L("label", help="Set metadata on a network"),
        L("opt", "o", "Set driver specific options", metavar="map"),
        S("scope", help="Control the network's scope"),
        L("subnet", help="Subnet in CIDR format that represents a network segment", metavar="strings"),
    ], 1, 1)
    opts, args = parse(spec, argv)
    labels = _labels(opts["label"], spec)
    split = lambda key: [x for v in opts[key] for x in v.split(",") if x]   # noqa: E731 - StringSlice
    try:
        configs = ipam_config(split("subnet"), split("ip_range"), split("gateway"), _map_opt(opts["aux_address"]))
    except IpamError as e:
        ctx.eprint(str(e))
        return 1
    body: dict[str, Any] = {
        "Name": args[0], "CheckDuplicate": True, "Driver": opts["driver"], "Scope": opts["scope"] or "",
        "EnableIPv6": opts["ipv6"], "IPAM": {"Driver": opts["ipam_driver"], "Config": configs,
                                             "Options": _map_opt(opts["ipam_opt"])},
        "Internal": opts["internal"], "Attachable": opts["attachable"], "Ingress": opts["ingress"],
        "ConfigOnly": opts["config_only"], "Options": _map_opt(opts["opt"]), "Labels": labels,
    }
    if opts["config_from"]:
        body["ConfigFrom"] = {"Network": opts["config_from"]}
    try:
        res = ctx.client.networks.create(body)
    except (APIError, DaemonUnreachable) as e:
        ctx.daemon_error(e)
        return 1
    if res.get("Warning"):
        ctx.eprint(res["Warning"])
    ctx.print(res.get("Id", ""))
    return 0


def ls(ctx: Context, argv: list[str], path: str) -> int:
    spec = Spec(path, f"docker {path} [OPTIONS]", "List networks", [
        L("filter", "f", 'Provide filter values (e.g. "driver=bridge")', metavar="filter"),
        S("format", help=FORMAT_HELP),
        B("no-trunc", help="Do not truncate the output"),
        B("quiet", "q", "Only display network IDs"),
    ], 0, 0, aliases="docker network ls, docker network list")
    opts, _ = parse(spec, argv)
    from tugboat.cli.filters import filter_flag
    filters = filter_flag(opts["filter"], spec)
    from tugboat.cli import formatter as fm
    tmpl = fm.resolve_format(opts["format"], NETWORK_TABLE, "{{.ID}}", opts["quiet"])
    try:
        nets = ctx.client.networks.list(filters)
    except (APIError, DaemonUnreachable) as e:
        ctx.daemon_error(e)
        return 1
    rows = [NetworkRow(n, not opts["no_trunc"])
            for n in sorted(nets, key=lambda n: fm.natural_key(n.get("Name", "")))]
    try:
        fm.render_rows(tmpl, rows, NETWORK_TITLES, ctx.out, probe=NetworkRow({}), errors=fm.IMAGE_ERRORS)
    except fm.FormatError as e:
        ctx.eprint(str(e))
        return 1
    return 0


def inspect(ctx: Context, argv: list[str], path: str) -> int:
    spec = Spec(path, f"docker {path} [OPTIONS] NETWORK [NETWORK...]",
                "Display detailed information on one or more networks", [
                    S("format", "f", FORMAT_HELP), B("verbose", "v", "Verbose output for diagnostics"),
                ], 1, -1)
    opts, args = parse(spec, argv)
    import json

    from tugboat.cli.commands.inspect import inspect_each

    def render(tmpl: Template, raw: str) -> str:
        data = json.loads(raw)
        if isinstance(data.get("Created"), str):
            data["Created"] = GoTime(data["Created"])
        return tmpl.execute(data)
    return inspect_each(ctx, opts["format"], args,
                        lambda ref: ctx.client.networks.inspect_raw(ref, opts["verbose"]).decode().strip(),
                        render)


def rm(ctx: Context, argv: list[str], path: str) -> int:
    spec = Spec(path, f"docker {path} NETWORK [NETWORK...]", "Remove one or more networks", [
        B("force", "f", "Do not error if the network does not exist"),
    ], 1, -1, aliases="docker network rm, docker network remove")
    opts, args = parse(spec, argv)
    from tugboat.cli.bulk import for_each
    if for_each(ctx, args, ctx.client.networks.remove, ignore=lambda e: opts["force"] and e.status == 404):
        ctx.eprint("exit status 1")
        return 1
    return 0


def prune(ctx: Context, argv: list[str], path: str) -> int:
    spec = Spec(path, f"docker {path} [OPTIONS]", "Remove all unused networks", [
        L("filter", help='Provide filter values (e.g. "until=<timestamp>")', metavar="filter"),
        B("force", "f", "Do not prompt for confirmation"),
    ], 0, 0)
    opts, _ = parse(spec, argv)
    from tugboat.cli.filters import filter_flag
    filters = filter_flag(opts["filter"], spec)
    from tugboat.cli import prune as pr
    if not opts["force"] and not pr.confirmed(sys.stdout, f"{PRUNE_WARNING}\n{pr.CONTINUE}"):
        return 0
    try:
        report = ctx.client.networks.prune(filters)
    except (APIError, DaemonUnreachable) as e:
        ctx.daemon_error(e)
        return 1
    pr.print_report(ctx, "Networks", report.get("NetworksDeleted") or [], None)
    return 0


def connect(ctx: Context, argv: list[str], path: str) -> int:
    spec = Spec(path, f"docker {path} [OPTIONS] NETWORK CONTAINER", "Connect a container to a network", [
        L("alias", help="Add network-scoped alias for the container", metavar="strings"),
        L("driver-opt", help="driver options for the network", metavar="strings"),
        I("gw-priority", help="Highest gw-priority provides the default gateway. Accepts positive and "
                              "negative values.", default=0),
        S("ip", help='IPv4 address (e.g., "172.30.100.104")'),
        S("ip6", help='IPv6 address (e.g., "2001:db8::33")'),
        L("link", help="Add link to another container"),
        L("link-local-ip", help="Add a link-local address for the container", metavar="strings"),
    ], 2, 2)
    opts, args = parse(spec, argv)
    split = lambda key: [x for v in opts[key] for x in v.split(",") if x]   # noqa: E731 - StringSlice
    driver_opts: dict[str, str] = {}
    for o in split("driver_opt"):
        k, eq, v = o.partition("=")
        if not eq or not k.strip():
            ctx.eprint("invalid key/value pair format in driver options")
            return 1
        driver_opts[k.strip()] = v.strip()
    ipam: dict[str, Any] = {}
    if opts["ip"]:
        ipam["IPv4Address"] = opts["ip"]
    if opts["ip6"]:
        ipam["IPv6Address"] = opts["ip6"]
    if opts["link_local_ip"]:
        ipam["LinkLocalIPs"] = split("link_local_ip")
    config: dict[str, Any] = {"IPAMConfig": ipam or None, "Links": opts["link"] or None,
                              "Aliases": split("alias") or None, "DriverOpts": driver_opts or None}
    if opts["gw_priority"]:
        config["GwPriority"] = opts["gw_priority"]
    try:
        ctx.client.networks.connect(args[0], args[1], config)
    except (APIError, DaemonUnreachable) as e:
        ctx.daemon_error(e)
        return 1
    return 0


def disconnect(ctx: Context, argv: list[str], path: str) -> int:
    spec = Spec(path, f"docker {path} [OPTIONS] NETWORK CONTAINER", "Disconnect a container from a network", [
        B("force", "f", "Force the container to disconnect from a network"),
    ], 2, 2)
    opts, args = parse(spec, argv)
    try:
        ctx.client.networks.disconnect(args[0], args[1], opts["force"])
    except (APIError, DaemonUnreachable) as e:
        ctx.daemon_error(e)
        return 1
    return 0
