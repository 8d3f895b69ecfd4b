"""Legacy container links (`--link name:alias`), as moby's daemon/links.

HostConfig.Links is stored in dockerd's form "/target:/me/alias". On the default bridge a link gives
the linking container an /etc/hosts line ("IP alias hostname name") and environment variables
describing the target's exposed ports and its environment; on a user-defined network the alias is
only a name the embedded DNS answers for the linking container.
"""

from __future__ import annotations

from dataclasses import dataclass

from tugboat.engine.container_ports import split_port_key


@dataclass(frozen=True)
class Link:
    target: str   # the linked container's ref as given (a name or an id)
    alias: str


def parse(entry: str) -> Link:
    """"db", "db:alias" or the stored "/db:/me/alias"."""
    target, _, alias = str(entry).partition(":")
    target = target.lstrip("/")
    alias = alias.rsplit("/", 1)[-1] if alias else target
    return Link(target, alias)


def stored(target_name: str, own_name: str, alias: str) -> str:
    """dockerd's HostConfig.Links entry: "/target:/me/alias"."""
    return f"/{target_name.lstrip('/')}:/{own_name.lstrip('/')}/{alias}"


def hosts_line(alias: str, target_hostname: str, target_name: str) -> str:
    """The names of a link's /etc/hosts line: alias, the target's hostname, its name unless it is the alias."""
    names = f"{alias} {target_hostname}"
    if alias != target_name.lstrip("/"):
        names += " " + target_name.lstrip("/")
    return names


def _sorted_ports(exposed: dict) -> list[tuple[int, str]]:
    # moby's sort: by number, tcp first on equal numbers
    return sorted((split_port_key(k) for k in exposed), key=lambda p: (p[0], p[1] != "tcp", p[1]))


def _next_contiguous(ports: list[tuple[int, str]], value: int, index: int) -> int:
    for i in range(index + 1, len(ports)):
        if ports[i][0] > value + 1:
            return i - 1
        value += 1
    return len(ports) - 1


def env(own_name: str, alias: str, target_ip: str, exposed: dict, target_env: list[str]) -> list[str]:
    """moby's Link.ToEnv for the link "/own_name/alias"."""
    name = f"/{own_name.lstrip('/')}/{alias}"
    prefix = alias.upper().replace("-", "_")
    ports = _sorted_ports(exposed or {})
    out: list[str] = []
    if ports:
        out.append(f"{prefix}_PORT={ports[0][1]}://{target_ip}:{ports[0][0]}")
    i = 0
    while i < len(ports):
        port, proto = ports[i]
        j = _next_contiguous(ports, port, i)
        if j > i + 1:
            base = f"{prefix}_PORT_{port}_{proto.upper()}"
            last_port, last_proto = ports[j]
            out += [f"{base}_START={proto}://{target_ip}:{port}", f"{base}_ADDR={target_ip}",
                    f"{base}_PROTO={proto}", f"{base}_PORT_START={port}",
                    f"{prefix}_PORT_{port}_{last_proto.upper()}_END={last_proto}://{target_ip}:{last_port}",
                    f"{prefix}_PORT_{port}_{last_proto.upper()}_PORT_END={last_port}"]
            i = j + 1
        else:
            i += 1
    for port, proto in ports:
        base = f"{prefix}_PORT_{port}_{proto.upper()}"
        out += [f"{base}={proto}://{target_ip}:{port}", f"{base}_ADDR={target_ip}",
                f"{base}_PORT={port}", f"{base}_PROTO={proto}"]
    out.append(f"{prefix}_NAME={name}")
    for e in target_env or []:
        key, eq, value = e.partition("=")
        if eq and key not in ("HOME", "PATH"):
            out.append(f"{prefix}_ENV_{key}={value}")
    return out
