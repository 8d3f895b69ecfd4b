"""Fake kernel parts for NetworkService tests: network/links.py's bridge functions and
network/firewall.py's per-network rules, recorded in dicts."""

from __future__ import annotations

from tugboat import errors


class FakeLinks:
    def __init__(self, routes: list[str] | None = None, host_bridges: tuple[str, ...] = ()) -> None:
        self.bridges: dict[str, tuple[str, int]] = {}
        self.routes = routes or []
        self.host_bridges = set(host_bridges)
        self.fail_ensure = False

    def ensure_bridge(self, name: str, gateway_cidr: str, mtu: int = 1500) -> None:
        if self.fail_ensure:
            raise errors.Conflict(f"device {name} already exists and is not a bridge")
        self.bridges[name] = (gateway_cidr, mtu)

    def remove_bridge(self, name: str) -> None:
        self.bridges.pop(name, None)

    def bridge_exists(self, name: str) -> bool:
        return name in self.bridges or name in self.host_bridges

    def host_routes(self) -> list[str]:
        return list(self.routes)


class FakeFirewall:
    def __init__(self) -> None:
        self.networks: dict[str, tuple[str, bool, bool]] = {}
        self.fail_add = False

    def add_network(self, bridge: str, subnet: str, internal: bool = False, icc: bool = True) -> None:
        if self.fail_add:
            raise errors.TugboatError("iptables failed")
        self.networks[bridge] = (subnet, internal, icc)

    def remove_network(self, bridge: str, subnet: str, internal: bool = False, icc: bool = True) -> None:
        self.networks.pop(bridge, None)
