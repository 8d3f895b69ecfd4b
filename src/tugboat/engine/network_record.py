"""What a network is: its record (persisted under <data-root>/network/<id>.json), its endpoints
and the daemon settings that shape the predefined ones.

``Network`` is immutable once created (Docker has no ``network update``); ``Endpoint`` is one
container's attachment. ``api`` renders both in the shape of dockerd 20.10's NetworkResource.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from tugboat.api.timefmt import rfc3339nano
from tugboat.errors import InvalidArgument
from tugboat.network import ipam

PREDEFINED = ("bridge", "host", "none")

OPT_BRIDGE_NAME = "com.docker.network.bridge.name"
OPT_DEFAULT_BRIDGE = "com.docker.network.bridge.default_bridge"
OPT_ICC = "com.docker.network.bridge.enable_icc"
OPT_MASQ = "com.docker.network.bridge.enable_ip_masquerade"
OPT_HOST_IP = "com.docker.network.bridge.host_binding_ipv4"
OPT_MTU = "com.docker.network.driver.mtu"


@dataclass(frozen=True)
class NetworkSettingsConfig:
    """The daemon.json keys networking reads (docs/NETWORKING.md has the table)."""

    bridge: str = "tug0"
    bip: str = "10.77.0.1/16"
    default_address_pools: list[dict[str, Any]] = field(default_factory=lambda: list(ipam.DEFAULT_POOLS))
    iptables: bool = True
    iptables_chain_prefix: str = "TUGBOAT"
    ip: str = "0.0.0.0"
    mtu: int = 1500
    icc: bool = True
    ip_masq: bool = True
    # Prefix of the interfaces tugd makes: veths are <prefix><hex>, user networks' bridges
    # <prefix>-<hex> ("tug-" + 11 chars of the id); tests give each private tugd its own.
    ifname_prefix: str = "tug"

    @classmethod
    def from_extra(cls, extra: dict[str, Any]) -> NetworkSettingsConfig:
        d = cls()
        try:
            mtu = int(extra.get("mtu", d.mtu))
        except (TypeError, ValueError):
            raise InvalidArgument(f"invalid mtu: {extra.get('mtu')!r}") from None
        return cls(bridge=str(extra.get("bridge") or d.bridge), bip=str(extra.get("bip") or d.bip),
                   default_address_pools=list(extra.get("default-address-pools") or d.default_address_pools),
                   iptables=bool(extra.get("iptables", d.iptables)),
                   iptables_chain_prefix=str(extra.get("iptables-chain-prefix") or d.iptables_chain_prefix),
                   ip=str(extra.get("ip") or d.ip), mtu=mtu, icc=bool(extra.get("icc", d.icc)),
                   ip_masq=bool(extra.get("ip-masq", d.ip_masq)),
                   ifname_prefix=str(extra.get("veth-prefix") or d.ifname_prefix))

    def user_bridge(self, net_id: str) -> str:
        """The Linux bridge of a user network: <prefix>-<start of its id>, 15 characters."""
        head = self.ifname_prefix + "-"
        return head + net_id[:max(15 - len(head), 4)]


@dataclass
class Endpoint:
    """One container on one network. ``ip`` without its prefix; ``gateway`` "" on --internal."""

    container_id: str
    name: str                  # the container's name without "/"
    endpoint_id: str
    ip: str
    prefix_len: int
    gateway: str
    mac: str
    aliases: list[str] = field(default_factory=list)
    host_ifname: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Endpoint:
        return cls(**{k: d[k] for k in cls.__dataclass_fields__ if k in d})

    def api(self) -> dict[str, Any]:
        """An entry of NetworkResource.Containers."""
        return {"Name": self.name, "EndpointID": self.endpoint_id, "MacAddress": self.mac,
                "IPv4Address": f"{self.ip}/{self.prefix_len}" if self.ip else "", "IPv6Address": ""}


@dataclass(frozen=True)
class Network:
    """A network's configuration. ``configs`` is empty for host/none; a bridge network has one."""

    id: str
    name: str
    driver: str                         # "bridge" | "host" | "null"
    created_ns: int
    bridge: str = ""                    # the Linux bridge ("" unless driver == "bridge")
    configs: tuple[ipam.SubnetConfig, ...] = ()
    user_subnet: bool = False           # Subnet given by the user: --ip allowed (dockerd's rule)
    internal: bool = False
    attachable: bool = False
    ipam_driver: str = "default"
    ipam_options: dict[str, str] | None = None
    options: dict[str, str] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)
    predefined: bool = False
    mtu: int = 1500
    icc: bool = True
    masquerade: bool = True
    host_binding_ipv4: str = "0.0.0.0"

    @property
    def subnet(self) -> str:
        """"10.78.0.0/24" (normalised), or "" without IPAM (host, none)."""
        return str(self.configs[0].subnet) if self.configs else ""

    @property
    def gateway(self) -> str:
        return str(self.configs[0].gateway) if self.configs else ""

    @property
    def prefix_len(self) -> int:
        return self.configs[0].subnet.prefixlen if self.configs else 0

    @property
    def scope(self) -> str:
        return "local"

    def to_dict(self) -> dict[str, Any]:
        d = {k: getattr(self, k) for k in self.__dataclass_fields__ if k != "configs"}
        d["configs"] = [{"Subnet": c.subnet_text, "IPRange": c.ip_range_text, "Gateway": str(c.gateway),
                         "AuxiliaryAddresses": c.aux, "gateway_given": c.gateway_given}
                        for c in self.configs]
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Network:
        values = {k: d[k] for k in cls.__dataclass_fields__ if k in d and k != "configs"}
        configs = []
        for c in d.get("configs") or []:
            parsed = ipam.parse_config(c)
            configs.append(ipam.SubnetConfig(parsed.subnet, parsed.subnet_text, parsed.gateway,
                                             bool(c.get("gateway_given")), parsed.ip_range,
                                             parsed.ip_range_text, parsed.aux))
        return cls(configs=tuple(configs), **values)

    def api(self, endpoints: list[Endpoint] | None) -> dict[str, Any]:
        """NetworkResource as dockerd 20.10 renders it; ``endpoints`` None: list's empty map."""
        return {
            "Name": self.name, "Id": self.id, "Created": rfc3339nano(self.created_ns),
            "Scope": self.scope, "Driver": self.driver, "EnableIPv6": False,
            "IPAM": {"Driver": self.ipam_driver,
                     "Options": dict(self.ipam_options) if self.ipam_options is not None else None,
                     "Config": [c.api(c.gateway_given) for c in self.configs]},
            "Internal": self.internal, "Attachable": self.attachable, "Ingress": False,
            "ConfigFrom": {"Network": ""}, "ConfigOnly": False,
            "Containers": {ep.container_id: ep.api() for ep in endpoints or []},
            "Options": dict(self.options), "Labels": dict(self.labels),
        }
