"""Bridges, veth pairs, addresses, routes and interface counters, over netlink (pyroute2).

A container start connects one endpoint per network, so everything here is a handful of netlink
messages and never an `ip` process. Work inside a container's namespace uses a netlink socket
opened there: the calling thread enters the namespace (``netns.entered``) just long enough to open
it, because pyroute2's own ``netns=`` support opens each socket in a multiprocessing child (slow,
and a fork of a threaded daemon). The container's end of a veth pair is created directly inside its
namespace under its final name, so no temporary name or rename is needed. Every socket is closed
before the function returns.
"""

from __future__ import annotations

import contextlib
import errno
import ipaddress
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pyroute2 import IPRoute
from pyroute2.netlink.exceptions import NetlinkError

from tugboat import errors
from tugboat.network import netns

COUNTERS = ("rx_bytes", "rx_packets", "rx_errors", "rx_dropped",
            "tx_bytes", "tx_packets", "tx_errors", "tx_dropped")
MAX_IFNAME = 15          # IFNAMSIZ - 1
RT_TABLE_MAIN = 254
RTN_UNICAST = 1


@dataclass(frozen=True)
class EndpointLink:
    """One container interface: a veth pair between ``bridge`` and the namespace pinned at ``netns``."""

    netns: Path
    bridge: str
    host_ifname: str         # "tug" + 8 hex chars of the endpoint id (<= 15 chars)
    ifname: str              # "eth0", "eth1", ... inside the container
    address: str             # "10.77.0.2/16"
    mac: str                 # "02:42:0a:4d:00:02"
    gateway: str | None      # None on an --internal network: no default route
    default_route: bool
    mtu: int = 1500


def mac_for(ip: str) -> str:
    """Docker's MAC for an IPv4 address: 02:42 and the address's four bytes."""
    return "02:42:" + ":".join(f"{b:02x}" for b in ipaddress.IPv4Address(ip).packed)


@contextlib.contextmanager
def _host() -> Iterator[Any]:
    ipr = IPRoute(groups=0)
    try:
        yield ipr
    finally:
        ipr.close()


@contextlib.contextmanager
def _inside(path: Path) -> Iterator[Any]:
    with netns.entered(path):
        ipr = IPRoute(groups=0)   # the socket stays in the namespace it was opened in
    try:
        yield ipr
    finally:
        ipr.close()


def _index(ipr: Any, name: str) -> int | None:
    found = ipr.link_lookup(ifname=name)
    return found[0] if found else None


def _kind(ipr: Any, index: int) -> str | None:
    link = ipr.get_links(index)[0]
    info = link.get("IFLA_LINKINFO")
    return info.get("IFLA_INFO_KIND") if info is not None else None


@contextlib.contextmanager
def _ignore(*codes: int) -> Iterator[None]:
    """Suppress NetlinkErrors with these errno codes (the state is already what was asked)."""
    try:
        yield
    except NetlinkError as e:
        if e.code not in codes:
            raise


def ensure_bridge(name: str, gateway_cidr: str, mtu: int = 1500) -> None:
    """Create bridge ``name`` if missing, give it exactly ``gateway_cidr`` as IPv4 address, bring it up."""
    iface = ipaddress.IPv4Interface(gateway_cidr)
    with _host() as ipr:
        index = _index(ipr, name)
        if index is None:
            with _ignore(errno.EEXIST):  # another thread made it meanwhile
                # a fixed MAC, else the bridge takes its lowest port's and changes as ports come and go
                ipr.link("add", ifname=name, kind="bridge", mtu=mtu, address=mac_for(str(iface.ip)))
            index = _index(ipr, name)
            if index is None:
                raise errors.TugboatError(f"bridge {name} vanished while being created")
        elif _kind(ipr, index) != "bridge":
            raise errors.Conflict(f"device {name} already exists and is not a bridge")
        have = {(a.get("IFA_ADDRESS"), a["prefixlen"]) for a in ipr.get_addr(family=2, index=index)}
        for addr, plen in have - {(str(iface.ip), iface.network.prefixlen)}:
            with _ignore(errno.EADDRNOTAVAIL):
                ipr.addr("del", index=index, address=addr, prefixlen=plen)
        if (str(iface.ip), iface.network.prefixlen) not in have:
            with _ignore(errno.EEXIST):
                ipr.addr("add", index=index, address=str(iface.ip), prefixlen=iface.network.prefixlen,
                         broadcast=str(iface.network.broadcast_address))
        ipr.link("set", index=index, state="up")


def remove_bridge(name: str) -> None:
    """Delete bridge ``name``; nothing if it is not there."""
    with _host() as ipr:
        index = _index(ipr, name)
        if index is not None:
            with _ignore(errno.ENODEV):
                ipr.link("del", index=index)


def bridge_exists(name: str) -> bool:
    with _host() as ipr:
        index = _index(ipr, name)
        return index is not None and _kind(ipr, index) == "bridge"


def connect_endpoint(ep: EndpointLink) -> None:
    """Create the veth pair: host side on the bridge (hairpin mode) and up; the other side, created inside the
    namespace as ``ep.ifname``, gets MAC, MTU, address, up and (if asked) the default route.
    On failure nothing is left behind."""
    iface = ipaddress.IPv4Interface(ep.address)
    for name in (ep.host_ifname, ep.ifname):
        if not 0 < len(name) <= MAX_IFNAME:
            raise errors.InvalidArgument(f"invalid interface name {name!r}: 1 to {MAX_IFNAME} characters")
    with _host() as ipr:
        bridge = _index(ipr, ep.bridge)
        if bridge is None:
            raise errors.NotFound(f"bridge {ep.bridge} not found")
        fd = os.open(ep.netns, os.O_RDONLY | os.O_CLOEXEC)
        try:
            ipr.link("add", ifname=ep.host_ifname, kind="veth", mtu=ep.mtu,
                     peer={"ifname": ep.ifname, "net_ns_fd": fd, "address": ep.mac, "mtu": ep.mtu})
        except NetlinkError as e:
            raise errors.TugboatError(f"could not create veth pair {ep.host_ifname}/{ep.ifname}: {e}") from e
        finally:
            os.close(fd)
        try:
            host_index = _index(ipr, ep.host_ifname)
            ipr.link("set", index=host_index, master=bridge, state="up")
            # hairpin, as dockerd without userland proxy: with br_netfilter a container reaching its
            # own published port is DNATed on the bridge and must go back out of the port it came in
            ipr.brport("set", index=host_index, mode=1)
            with _inside(ep.netns) as inner:
                index = _index(inner, ep.ifname)
                inner.addr("add", index=index, address=str(iface.ip), prefixlen=iface.network.prefixlen,
                           broadcast=str(iface.network.broadcast_address))
                inner.link("set", index=index, state="up")
                if ep.default_route and ep.gateway:
                    inner.route("add", dst="0.0.0.0/0", gateway=ep.gateway, oif=index, proto=3)  # as `ip route`
        except BaseException:
            disconnect_endpoint(ep.host_ifname)
            raise


def disconnect_endpoint(host_ifname: str) -> None:
    """Delete the veth pair by its host side (the container side goes with it); idempotent."""
    with _host() as ipr:
        index = _index(ipr, host_ifname)
        if index is not None:
            with _ignore(errno.ENODEV):
                ipr.link("del", index=index)


def links_with_prefix(prefix: str) -> list[str]:
    """Names of the host's interfaces starting with ``prefix`` (leak checks, clean-up)."""
    with _host() as ipr:
        names = [link.get("IFLA_IFNAME") or "" for link in ipr.get_links()]
    return sorted(n for n in names if n.startswith(prefix))


def interface_counters(netns_path: Path) -> dict[str, dict[str, int]]:
    """Traffic counters of every interface but lo in that namespace, in docker stats' "networks" shape."""
    out: dict[str, dict[str, int]] = {}
    with _inside(netns_path) as ipr:
        for link in ipr.get_links():
            name = link.get("IFLA_IFNAME")
            if not name or name == "lo":
                continue
            stats = link.get("IFLA_STATS64") or link.get("IFLA_STATS") or {}
            out[name] = {k: int(stats.get(k, 0)) for k in COUNTERS}
    return out


def host_routes() -> list[str]:
    """CIDRs of the host's IPv4 routes in the main table, default route excepted (IPAM avoids them)."""
    out = []
    with _host() as ipr:
        for r in ipr.get_routes(family=2, table=RT_TABLE_MAIN):
            if r["type"] != RTN_UNICAST or not r["dst_len"] or r.get("RTA_DST") is None:
                continue
            out.append(str(ipaddress.IPv4Network(f"{r.get('RTA_DST')}/{r['dst_len']}", strict=False)))
    return sorted(set(out), key=lambda c: (ipaddress.IPv4Network(c).network_address, c))
