"""`port CONTAINER [PRIVATE_PORT[/PROTO]]`: the published ports of a container, from inspect's
NetworkSettings.Ports, printed as docker's CLI does ("80/tcp -> 0.0.0.0:8080", sorted)."""

from __future__ import annotations

from tugboat.cli.context import Context
from tugboat.cli.flags import Spec, parse
from tugboat.client.errors import APIError, DaemonUnreachable


def _join_host_port(ip: str, port: str) -> str:
    """Go's net.JoinHostPort: IPv6 addresses in brackets."""
    return f"[{ip}]:{port}" if ":" in ip else f"{ip}:{port}"


def _order(key: str) -> tuple[int, str]:
    port, _, proto = key.partition("/")
    return (int(port) if port.isdigit() else 0, proto)


def port(ctx: Context, argv: list[str], path: str) -> int:
    spec = Spec(path, f"docker {path} CONTAINER [PRIVATE_PORT[/PROTO]]",
                "List port mappings or a specific mapping for the container", [], 1, 2)
    _, args = parse(spec, argv)
    try:
        info = ctx.client.containers.inspect(args[0])
    except (APIError, DaemonUnreachable) as e:
        ctx.daemon_error(e)
        return 1
    ports = (info.get("NetworkSettings") or {}).get("Ports") or {}
    if len(args) == 2:
        number, _, proto = args[1].partition("/")
        frontends = ports.get(f"{number}/{proto or 'tcp'}")
        if not frontends:
            ctx.eprint(f"Error: No public port '{args[1]}' published for {args[0]}")
            return 1
        for f in frontends:
            ctx.print(_join_host_port(f.get("HostIp") or "", f.get("HostPort") or ""))
        return 0
    for key in sorted(ports, key=_order):
        for f in ports[key] or []:
            ctx.print(f"{key} -> {_join_host_port(f.get('HostIp') or '', f.get('HostPort') or '')}")
    return 0
