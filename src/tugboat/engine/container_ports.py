"""A container's published ports: what it asks for, and how dockerd shows what it got.

HostConfig.PortBindings ({"80/tcp": [{"HostIp": "", "HostPort": "8080"}]}) and PublishAllPorts
(every ExposedPorts entry to an ephemeral host port) become a list of ``Wanted`` bindings at start;
the ones actually made are kept as ``Published`` values in the container's sandbox state and give
NetworkSettings.Ports (inspect) and the Ports list of GET /containers/json, in dockerd's shapes.
"""

from __future__ import annotations

from dataclasses import dataclass

from tugboat.errors import InvalidArgument


@dataclass(frozen=True)
class Wanted:
    """One binding to make: host_port 0 = ephemeral; host_last > host_port = the first free of a range."""

    proto: str
    container_port: int
    host_ip: str
    host_port: int
    host_last: int


@dataclass(frozen=True)
class Published:
    proto: str
    container_port: int
    host_ip: str
    host_port: int

    def to_json(self) -> list:
        return [self.proto, self.container_port, self.host_ip, self.host_port]

    @classmethod
    def from_json(cls, v: list) -> Published:
        return cls(str(v[0]), int(v[1]), str(v[2]), int(v[3]))


def split_port_key(key: str) -> tuple[int, str]:
    """"80/tcp" -> (80, "tcp"); a missing protocol is tcp."""
    port, _, proto = str(key).partition("/")
    try:
        number = int(port)
    except ValueError:
        raise InvalidArgument(f"invalid port specification: \"{key}\"") from None
    if not 0 < number < 65536:
        raise InvalidArgument(f"invalid port specification: \"{key}\"")
    return number, (proto or "tcp").lower()


def _host_range(spec: str, key: str) -> tuple[int, int]:
    if not spec:
        return 0, 0
    first, _, last = spec.partition("-")
    try:
        lo, hi = int(first), int(last or first)
    except ValueError:
        raise InvalidArgument(f"invalid port specification: \"{spec}\"") from None
    if not (0 <= lo <= 65535 and 0 <= hi <= 65535) or hi < lo:
        raise InvalidArgument(f"invalid port specification: \"{spec}\"")
    return lo, hi


def validate(host_config: dict) -> None:
    """Reject PortBindings dockerd rejects at create."""
    for key, bindings in (host_config.get("PortBindings") or {}).items():
        split_port_key(key)
        for b in bindings or []:
            _host_range(str((b or {}).get("HostPort") or ""), key)


def wanted(config: dict, host_config: dict, default_ip: str = "0.0.0.0") -> list[Wanted]:
    """The bindings to make at start, in a stable order (by port, then protocol)."""
    out: list[Wanted] = []
    bindings = host_config.get("PortBindings") or {}
    keys = set(bindings)
    if host_config.get("PublishAllPorts"):
        keys |= set(config.get("ExposedPorts") or {})
    for key in sorted(keys, key=split_port_key):
        port, proto = split_port_key(key)
        given = bindings.get(key) or [{}] if host_config.get("PublishAllPorts") else bindings.get(key) or []
        for b in given:
            lo, hi = _host_range(str((b or {}).get("HostPort") or ""), key)
            out.append(Wanted(proto, port, str((b or {}).get("HostIp") or default_ip), lo, hi))
    return out


def ports_map(config: dict, host_config: dict, published: list[Published]) -> dict:
    """NetworkSettings.Ports of a running container: every exposed or bound port; null when unpublished."""
    out: dict[str, list[dict] | None] = {}
    keys = set(config.get("ExposedPorts") or {}) | set(host_config.get("PortBindings") or {})
    for key in keys:
        port, proto = split_port_key(key)
        out[f"{port}/{proto}"] = None
    for p in published:
        entry = {"HostIp": p.host_ip, "HostPort": str(p.host_port)}
        current = out.get(f"{p.container_port}/{p.proto}")
        out[f"{p.container_port}/{p.proto}"] = (current or []) + [entry]
    return out


def summary_ports(ports: dict) -> list[dict]:
    """ContainerSummary.Ports from NetworkSettings.Ports."""
    out: list[dict] = []
    for key, bindings in ports.items():
        port, proto = split_port_key(key)
        if not bindings:
            out.append({"PrivatePort": port, "Type": proto})
            continue
        for b in bindings:
            out.append({"IP": b.get("HostIp") or "", "PrivatePort": port,
                        "PublicPort": int(b.get("HostPort") or 0), "Type": proto})
    return out


def port_filter(values: list[str]) -> set[str]:
    """The "publish"/"expose" filter values of `ps` ("80", "8000-8002/udp") as port keys."""
    out: set[str] = set()
    for v in values:
        ports, _, proto = v.partition("/")
        first, _, last = ports.partition("-")
        try:
            lo, hi = int(first), int(last or first)
        except ValueError:
            raise InvalidArgument(f"invalid port specification: \"{v}\"") from None
        out.update(f"{p}/{(proto or 'tcp').lower()}" for p in range(lo, hi + 1))
    return out
