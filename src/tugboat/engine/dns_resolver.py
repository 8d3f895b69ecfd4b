"""What the embedded DNS server answers inside a container on a user-defined network.

network/dns.py serves 127.0.0.11 in each such container's namespace and asks a ``Resolver`` (keyed
by container id) for names. As in libnetwork, a container finds the containers on the networks it
shares with them by name, by short id, by network alias, and by the aliases of its own --links;
anything else goes to the upstream servers (its --dns, the daemon's "dns", else the host's
resolv.conf), except on --internal networks, which forward nothing.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from typing import Any

from tugboat.engine import container_links
from tugboat.engine.container_record import ContainerRecord, host_resolv_conf
from tugboat.errors import NotFound

_FALLBACK = ["8.8.8.8", "8.8.4.4"]


def host_nameservers() -> list[str]:
    """The host's non-loopback nameservers (Docker's fallback: Google's)."""
    out = []
    for line in host_resolv_conf().splitlines():
        words = line.split()
        if len(words) >= 2 and words[0] == "nameserver":
            try:
                addr = ipaddress.ip_address(words[1])
            except ValueError:
                continue
            if not addr.is_loopback and addr.version == 4:
                out.append(words[1])
    return out or list(_FALLBACK)


class ContainerResolver:
    """network.dns.Resolver over the containers' records and the networks' endpoint registries."""

    def __init__(self, lookup: Callable[[str], ContainerRecord], networks: Any,
                 daemon_dns: list[str] | None = None) -> None:
        self._lookup = lookup
        self._networks = networks
        self._daemon_dns = list(daemon_dns or [])

    def _record(self, key: str) -> ContainerRecord | None:
        try:
            return self._lookup(key)
        except NotFound:
            return None

    def _user_networks(self, rec: ContainerRecord) -> list[tuple[str, str]]:
        """(name, id) of the user-defined networks the container is connected to."""
        out = []
        for name, ep in ((rec.network_settings or {}).get("Networks") or {}).items():
            if name in ("bridge", "host", "none") or not ep.get("NetworkID") or not ep.get("IPAddress"):
                continue
            out.append((name, ep["NetworkID"]))
        return out

    def _name_of(self, ep: Any) -> str:
        """The container's current name (a rename since it joined included)."""
        rec = self._record(ep.container_id)
        return rec.name.lstrip("/") if rec is not None else str(ep.name)

    def lookup(self, key: str, name: str) -> list[str] | None:
        rec = self._record(key)
        if rec is None:
            return None
        wanted = name.rstrip(".").lower()
        nets = self._user_networks(rec)
        found: list[str] = []
        for entry in rec.host_config.get("Links") or []:
            link = container_links.parse(entry)
            if link.alias.lower() == wanted:
                target = self._record(link.target)
                for net_name, _ in nets:
                    ep = ((target.network_settings or {}).get("Networks") or {}).get(net_name) if target else None
                    if ep and ep.get("IPAddress"):
                        found.append(ep["IPAddress"])
        for net_name, net_id in nets:
            for ep in self._networks.endpoints(net_id):
                name_now = self._name_of(ep)
                names = {name_now.lower(), f"{name_now}.{net_name}".lower()}
                names.update(a.lower() for a in ep.aliases)
                if wanted in names and ep.ip and ep.ip not in found:
                    found.append(ep.ip)
        return found or None

    def reverse(self, key: str, ip: str) -> str | None:
        rec = self._record(key)
        if rec is None:
            return None
        for net_name, net_id in self._user_networks(rec):
            for ep in self._networks.endpoints(net_id):
                if ep.ip == ip:
                    return f"{self._name_of(ep)}.{net_name}"
        return None

    def upstreams(self, key: str) -> list[str]:
        rec = self._record(key)
        if rec is None:
            return []
        nets = self._user_networks(rec)
        if nets and all(getattr(self._networks.get(net_id), "internal", False) for _, net_id in nets):
            return []
        return list(rec.host_config.get("Dns") or self._daemon_dns or host_nameservers())
