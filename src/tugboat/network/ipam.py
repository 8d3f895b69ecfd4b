"""IP address management: subnets, pools and addresses, as libnetwork's default IPAM driver.

Pure and without I/O so that every rule can be tested on its own: the host's routes and the
subnets of existing networks come in as arguments, the state goes out as JSON-able dicts.

- ``parse_config`` checks one entry of a network's ``IPAM.Config`` (Subnet, IPRange, Gateway,
  AuxiliaryAddresses) with dockerd's error texts;
- ``choose_subnet`` carves the next free subnet out of the daemon's ``default-address-pools``,
  skipping subnets that overlap an existing network or a route of the host;
- ``AddressPool`` hands out addresses of one subnet: lowest free first, within the IP range if one
  is given, never the network, broadcast, gateway or auxiliary addresses.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from tugboat.errors import Forbidden, InvalidArgument, NotFound, Unavailable

IPv4Net = ipaddress.IPv4Network
IPv4Addr = ipaddress.IPv4Address

DEFAULT_POOLS: list[dict[str, Any]] = [{"base": "10.78.0.0/15", "size": 24}]

# libnetwork's ipamapi errors, in its words
ERR_OVERLAP = "Pool overlaps with other one on this address space"
ERR_OUT_OF_RANGE = "Requested address is out of range"
ERR_IN_USE = "Address already in use"
ERR_NO_ADDRESSES = "No available addresses on this pool"
ERR_NO_POOL = ("could not find an available, non-overlapping IPv4 address pool among the defaults "
               "to assign to the network")


class AddressInUse(Forbidden):   # noqa: N818 - libnetwork's ErrIPAlreadyAllocated (403)
    """A requested address is taken (dockerd: "Address already in use")."""


class NoAddresses(Unavailable):   # noqa: N818 - libnetwork's ErrNoAvailableIPs (503)
    """The pool is exhausted."""


def parse_network(text: str) -> IPv4Net:
    """A CIDR as Go's net.ParseCIDR takes it (host bits allowed), normalised to its network."""
    try:
        if "/" not in text:
            raise ValueError(text)
        iface = ipaddress.ip_interface(text.strip())
    except ValueError:
        raise InvalidArgument(f"Invalid subnet {text} : invalid CIDR address: {text}") from None
    if iface.version != 4:
        raise InvalidArgument("IPv6 networks are not supported by Tugboat")
    assert isinstance(iface, ipaddress.IPv4Interface)
    return iface.network


def parse_address(text: str) -> IPv4Addr:
    """One IPv4 address; ValueError if it is not one."""
    addr = ipaddress.ip_address(text.strip())
    if not isinstance(addr, IPv4Addr):
        raise ValueError(text)
    return addr


@dataclass(frozen=True)
class SubnetConfig:
    """One validated ``IPAM.Config`` entry. ``gateway`` is always set (dockerd picks the subnet's
    first address when none is given); ``gateway_given`` says whether the user gave it."""

    subnet: IPv4Net
    subnet_text: str                    # as given: dockerd keeps "10.1.0.1/24" as written
    gateway: IPv4Addr
    gateway_given: bool
    ip_range: IPv4Net | None = None
    ip_range_text: str = ""
    aux: dict[str, str] = field(default_factory=dict)

    def api(self, show_gateway: bool) -> dict[str, Any]:
        """The entry as ``docker network inspect`` shows it (empty fields omitted)."""
        out: dict[str, Any] = {"Subnet": self.subnet_text}
        if self.ip_range_text:
            out["IPRange"] = self.ip_range_text
        if show_gateway:
            out["Gateway"] = str(self.gateway)
        if self.aux:
            out["AuxiliaryAddresses"] = dict(self.aux)
        return out


def parse_config(entry: dict[str, Any]) -> SubnetConfig:
    """Validate one user-supplied ``IPAM.Config`` entry (its Subnet must be present)."""
    subnet_text = str(entry.get("Subnet") or "")
    subnet = parse_network(subnet_text)
    range_text = str(entry.get("IPRange") or "")
    ip_range: IPv4Net | None = None
    if range_text:
        try:
            parsed = ipaddress.ip_interface(range_text.strip()).network if "/" in range_text else None
        except ValueError:
            parsed = None
        if not isinstance(parsed, IPv4Net) or not parsed.subnet_of(subnet):
            raise InvalidArgument(f'failed to parse pool request for address space "LocalDefault" pool '
                                  f'"{subnet_text}" subpool "{range_text}": Invalid Address SubPool')
        ip_range = parsed
    gw_text = str(entry.get("Gateway") or "")
    if gw_text:
        try:
            gateway = parse_address(gw_text)
        except ValueError:
            raise InvalidArgument(f"invalid gateway address {gw_text} in Ipam configuration") from None
        if gateway not in subnet:
            raise InvalidArgument(f"failed to allocate gateway ({gw_text}): {ERR_OUT_OF_RANGE}")
    else:
        if subnet.num_addresses < 4:
            raise Forbidden(f"failed to allocate gateway (): {ERR_NO_ADDRESSES}")
        gateway = subnet.network_address + 1
    aux: dict[str, str] = {}
    for name, text in (entry.get("AuxiliaryAddresses") or {}).items():
        try:
            addr = parse_address(str(text))
        except ValueError:
            raise InvalidArgument(f"invalid auxiliary address {text}: {name}") from None
        if addr not in subnet:
            raise InvalidArgument(f"failed to allocate secondary ip address ({name}:{text}): "
                                  f"{ERR_OUT_OF_RANGE}")
        aux[str(name)] = str(addr)
    return SubnetConfig(subnet, subnet_text, gateway, bool(gw_text), ip_range, range_text, aux)


def config_for(subnet: IPv4Net, gateway: str | None = None) -> SubnetConfig:
    """A config for a subnet Tugboat chose itself (default pools, the default bridge's bip)."""
    gw = parse_address(gateway) if gateway else subnet.network_address + 1
    return SubnetConfig(subnet, str(subnet), gw, gateway_given=True)


def parse_bip(bip: str) -> SubnetConfig:
    """The daemon's ``bip`` ("10.77.0.1/16"): the bridge's address and, masked, its subnet."""
    try:
        iface = ipaddress.ip_interface(bip.strip())
    except ValueError:
        raise InvalidArgument(f"invalid bip: {bip}") from None
    if not isinstance(iface, ipaddress.IPv4Interface) or iface.network.num_addresses < 4:
        raise InvalidArgument(f"invalid bip: {bip}")
    if iface.ip == iface.network.network_address:   # "10.77.0.0/16": dockerd then uses .1
        return config_for(iface.network)
    return config_for(iface.network, str(iface.ip))


def parse_pools(value: Any) -> list[tuple[IPv4Net, int]]:
    """daemon.json ``default-address-pools``: [{"base": CIDR, "size": prefix length}, ...]."""
    pools = []
    for item in value if value is not None else DEFAULT_POOLS:
        try:
            base = ipaddress.ip_network(str(item["base"]), strict=False)
            size = int(item["size"])
        except (KeyError, TypeError, ValueError):
            raise InvalidArgument(f"invalid default-address-pools entry: {item!r}") from None
        if not isinstance(base, IPv4Net) or not base.prefixlen <= size <= 32:
            raise InvalidArgument(f"invalid default-address-pools entry: {item!r}")
        pools.append((base, size))
    return pools


def overlaps(a: IPv4Net, others: Iterable[IPv4Net]) -> bool:
    return any(a.overlaps(b) for b in others)


def _routes(host_routes: Iterable[str]) -> list[IPv4Net]:
    """The host's IPv4 routes, without default routes (which would overlap everything)."""
    out = []
    for r in host_routes:
        try:
            net = ipaddress.ip_network(r, strict=False)
        except ValueError:
            continue
        if isinstance(net, IPv4Net) and net.prefixlen > 0:
            out.append(net)
    return out


def choose_subnet(pools: list[tuple[IPv4Net, int]], used: Iterable[IPv4Net],
                  host_routes: Iterable[str]) -> IPv4Net:
    """The first subnet of the default pools that overlaps neither a network nor a host route."""
    taken = list(used) + _routes(host_routes)
    for base, size in pools:
        for candidate in base.subnets(new_prefix=size):
            if not overlaps(candidate, taken):
                return candidate
    raise NotFound(ERR_NO_POOL)


class AddressPool:
    """The addresses of one subnet: who has which. Thread-unsafe; its owner holds a lock."""

    def __init__(self, config: SubnetConfig, allocated: Iterable[str] = ()) -> None:
        self.config = config
        net = config.subnet
        self._reserved = {net.network_address, config.gateway, *map(parse_address, config.aux.values())}
        if net.prefixlen < 31:
            self._reserved.add(net.broadcast_address)
        self._allocated: set[IPv4Addr] = {parse_address(a) for a in allocated}

    @property
    def allocated(self) -> list[str]:
        return [str(a) for a in sorted(self._allocated)]

    def allocate(self, requested: str | None = None) -> str:
        """``requested`` if free (anywhere in the subnet, as dockerd), else the lowest free address
        of the IP range (or subnet)."""
        net = self.config.subnet
        if requested:
            try:
                addr = parse_address(requested)
            except ValueError:
                raise InvalidArgument(f"invalid IPv4 address: {requested}") from None
            if addr not in net:
                raise InvalidArgument(ERR_OUT_OF_RANGE)
            if addr in self._allocated or addr in self._reserved:
                raise AddressInUse(ERR_IN_USE)
            self._allocated.add(addr)
            return str(addr)
        scope = self.config.ip_range or net
        for addr in scope:
            if addr not in self._allocated and addr not in self._reserved:
                self._allocated.add(addr)
                return str(addr)
        raise NoAddresses(ERR_NO_ADDRESSES)

    def release(self, ip: str) -> None:
        """Give an address back; releasing a free one is not an error (idempotent cleanup)."""
        try:
            self._allocated.discard(parse_address(ip))
        except ValueError:
            pass

    def in_use(self, ip: str) -> bool:
        try:
            return parse_address(ip) in self._allocated
        except ValueError:
            return False
