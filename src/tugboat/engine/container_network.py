"""A container's network sandbox: created at start, released at exit, re-adopted by a new tugd.

Docker's model kept small (docs/NETWORKING.md): the sandbox is a network namespace pinned at
``<exec-root>/netns/<container id>``; each network the container is on adds an endpoint (an address
from NetworkService, a veth pair ``eth<N>`` on the network's bridge, an entry in the network's
endpoint registry); published ports are a host port reservation plus DNAT rules; user-defined
networks get the embedded DNS server at 127.0.0.11. Every step is recorded in the record's
``sandbox`` before the next one, so ``release`` undoes exactly what was done, after a failed start,
an exit, a removal or a tugd crash alike.

``NetworkSettings`` (rec.network_settings) is kept in dockerd's shape: endpoints with empty
addresses from create on, filled at start, emptied again at exit; the top-level address fields
mirror the default bridge's endpoint only, as in Docker.
"""

from __future__ import annotations

import contextlib
import copy
import ipaddress
import logging
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from tugboat.engine import container_links, container_ports
from tugboat.engine.container_ports import Published
from tugboat.engine.container_record import ContainerRecord, EtcNetwork, network_settings, write_etc_files
from tugboat.errors import Conflict, Forbidden, InvalidArgument, NotFound, TugboatError

log = logging.getLogger(__name__)

PREDEFINED = ("bridge", "host", "none")
ERR_IP_DEFAULT = "user specified IP address is supported on user defined networks only"
ERR_IP_NO_SUBNET = "user specified IP address is supported only when connecting to networks with user configured subnets"
ERR_ALIAS_DEFAULT = "network-scoped alias is supported only for containers in user defined networks"


def network_mode(host_config: dict) -> str:
    """"bridge" for the default bridge, "host", "none", "container:<ref>" or a user network's ref."""
    mode = str(host_config.get("NetworkMode") or "default")
    return "bridge" if mode == "default" else mode


def check_network_mode(config: dict, host_config: dict) -> None:
    """dockerd's validateNetContainerMode (runconfig, at create, on the config as the client sent it):
    what a container joining another's namespace ("container:<ref>") would set again is refused."""
    mode = str(host_config.get("NetworkMode") or "")
    joins = mode.startswith("container:")
    if joins and not mode.split(":", 1)[1]:
        raise InvalidArgument("Invalid network mode: invalid container format container:<name|id>")
    conflict = "conflicting options: "
    if joins and config.get("Hostname"):
        raise InvalidArgument(conflict + "hostname and the network mode")
    if joins and host_config.get("Links"):
        raise InvalidArgument(conflict + "container type network can't be used with links. This would result "
                              "in undefined behavior")
    if joins and host_config.get("Dns"):
        raise InvalidArgument(conflict + "dns and the network mode")
    if joins and host_config.get("ExtraHosts"):
        raise InvalidArgument(conflict + "custom host-to-IP mapping and the network mode")
    if (joins or mode == "host") and config.get("MacAddress"):
        raise InvalidArgument(conflict + "mac-address and the network mode")
    if joins and (host_config.get("PortBindings") or host_config.get("PublishAllPorts")):
        raise InvalidArgument(conflict + "port publishing and the container type network mode")
    if joins and config.get("ExposedPorts"):
        raise InvalidArgument(conflict + "port exposing and the container type network mode")


def endpoint_settings(ipam: dict | None = None, aliases: list[str] | None = None) -> dict:
    """An EndpointSettings of a container that is not running: no addresses."""
    return {"IPAMConfig": ipam or None, "Links": None, "Aliases": list(aliases) if aliases else None,
            "NetworkID": "", "EndpointID": "", "Gateway": "", "IPAddress": "", "IPPrefixLen": 0,
            "IPv6Gateway": "", "GlobalIPv6Address": "", "GlobalIPv6PrefixLen": 0, "MacAddress": "",
            "DriverOpts": None}


_TOP_LEVEL = ("EndpointID", "Gateway", "IPAddress", "IPPrefixLen", "MacAddress")


def _user_defined(mode: str) -> bool:
    return mode not in PREDEFINED and not mode.startswith("container:")


def _check_ip(ipam: dict | None) -> None:
    """dockerd's create-time check of a requested address (its fit to the network is checked at start)."""
    requested = (ipam or {}).get("IPv4Address")
    if requested:
        try:
            ipaddress.IPv4Address(requested)
        except ValueError:
            raise InvalidArgument(f"invalid IPv4 address: {requested}") from None


def _check_ip_fits(net: Any, ipam: dict | None) -> None:
    """A requested address needs a user-defined network with a user-given subnet (dockerd, at start)."""
    if (ipam or {}).get("IPv4Address"):
        if net.name in PREDEFINED:
            raise InvalidArgument(ERR_IP_DEFAULT)
        if not getattr(net, "user_subnet", False):
            raise InvalidArgument(ERR_IP_NO_SUBNET)


class ContainerNetworking:
    """See module docstring. Every method is called with the container's lock held."""

    idmap: Any = None   # store.idmap.IdMap with userns-remap (wiring.py): sandboxes owned by a user namespace

    def __init__(self, networks: Any, firewall: Any, ports: Any, dns: Any, netns_dir: Path,
                 lookup: Callable[[str], ContainerRecord], events: Any, link_prefix: str = "tug",
                 default_ip: str = "0.0.0.0", daemon_dns: dict | None = None) -> None:
        self._networks = networks
        self._firewall = firewall
        self._ports = ports
        self._dns = dns
        self._netns_dir = Path(netns_dir)
        self._lookup = lookup
        self._events = events
        self._link_prefix = link_prefix
        self._default_ip = default_ip
        self._daemon_dns = daemon_dns or {}

    # --- create -------------------------------------------------------------------------------
    def _network(self, ref: str) -> Any:
        return self._networks.default_bridge() if ref in ("bridge", "default") else self._networks.get(ref)

    def created_settings(self, name: str, config: dict, host_config: dict, networking_config: dict | None) -> dict:
        """Validate a new container's networking (dockerd's create-time errors) and give its
        NetworkSettings; HostConfig.Links is rewritten into dockerd's "/target:/me/alias" form."""
        container_ports.validate(host_config)
        mode = network_mode(host_config)
        settings = network_settings()
        given = dict((networking_config or {}).get("EndpointsConfig") or {})
        if not _user_defined(mode):   # dockerd's registerLinks (user networks keep them as given)
            links = []
            for entry in host_config.get("Links") or []:
                link = container_links.parse(entry)
                try:
                    target = self._lookup(link.target)
                except NotFound as e:   # 400, not 404: a 404 makes clients pull the image
                    raise InvalidArgument(f"could not get container for {link.target}: {e.message}") from None
                links.append(container_links.stored(target.name, name, link.alias))
            host_config["Links"] = links or None
        if mode.startswith("container:"):   # dockerd keeps the id of a container it finds (else the ref)
            with contextlib.suppress(NotFound):
                host_config["NetworkMode"] = f"container:{self._lookup(mode.split(':', 1)[1]).id}"
            return settings
        net = self._network(mode)
        raw = str(host_config.get("NetworkMode") or "default")
        ep = given.get(raw) or given.get(mode) or given.get(net.name) or given.get(net.id) or {}
        ipam = ep.get("IPAMConfig") or None
        _check_ip(ipam)
        aliases = ep.get("Aliases") or None
        if aliases and net.name in PREDEFINED:
            raise InvalidArgument(ERR_ALIAS_DEFAULT)
        settings["Networks"][net.name] = endpoint_settings(ipam, aliases)
        return settings

    # --- start --------------------------------------------------------------------------------
    def check_links(self, rec: ContainerRecord) -> None:
        """Links on the default bridge need running targets (dockerd, at start)."""
        if _user_defined(network_mode(rec.host_config)):
            return
        for entry in rec.host_config.get("Links") or []:
            link = container_links.parse(entry)
            try:
                target = self._lookup(link.target)
            except NotFound as e:
                raise InvalidArgument(f"could not get container for {link.target}: {e.message}") from None
            if not target.state.running:
                raise Conflict(f"Cannot link to a non running container: {target.name} AS "
                               f"{rec.name}/{link.alias}")

    def setup(self, rec: ContainerRecord) -> Path:
        """Create the sandbox of a container with its own namespace ("bridge", user networks,
        "none"); returns the pinned namespace. On failure everything done is undone."""
        from tugboat.network import netns

        if rec.sandbox:
            self.release(rec)
        mode = network_mode(rec.host_config)
        if mode != "none":
            self.check_links(rec)
            for name, ep in ((rec.network_settings or {}).get("Networks") or {}).items():
                _check_ip_fits(self._network(name), ep.get("IPAMConfig"))
        path = self._netns_dir / rec.id
        netns.remove(path)   # a stale pin, from a run whose end tugd never saw
        settings = rec.network_settings or network_settings()
        if not settings["Networks"]:   # a record from before networking: its mode's network
            settings["Networks"][self._network(mode).name] = endpoint_settings()
        rec.network_settings = settings
        rec.sandbox = {"netns": str(path), "endpoints": [], "ports": [], "dns": False}
        try:
            netns.create(path, self._id_maps(rec))
            settings["SandboxID"] = secrets.token_hex(32)
            settings["SandboxKey"] = str(path)
            if mode == "none":
                settings["Networks"]["none"]["NetworkID"] = self._networks.get("none").id
            else:
                for name in list(settings["Networks"]):
                    self._join(rec, name)
                self._publish_ports(rec)
            self.write_etc(rec)
            if self._on_user_network(rec):
                self._dns.attach(rec.id, path)
                rec.sandbox["dns"] = True
        except TugboatError:
            self.release(rec)
            raise
        except Exception as e:   # kernel errors (OSError, netlink): the start fails with their text
            self.release(rec)
            raise TugboatError(f"failed to set up the network of container {rec.id}: {e}") from e
        except BaseException:
            self.release(rec)
            raise
        return path

    def _id_maps(self, rec: ContainerRecord) -> tuple[str, str] | None:
        """uid_map and gid_map of the user namespace a remapped container's sandbox belongs to."""
        if self.idmap is None or rec.host_config.get("UsernsMode") == "host":
            return None
        def text(maps: list[dict[str, int]]) -> str:
            return "".join(f"{m['containerID']} {m['hostID']} {m['size']}\n" for m in maps)
        uids, gids = self.idmap.oci()
        return text(uids), text(gids)

    def _on_user_network(self, rec: ContainerRecord) -> bool:
        return any(e["name"] not in PREDEFINED for e in (rec.sandbox or {}).get("endpoints", []))

    def _join(self, rec: ContainerRecord, name: str) -> dict:
        """One endpoint: address, veth eth<N>, registry entry; recorded step by step for release."""
        from tugboat.engine.network_record import Endpoint
        from tugboat.network import links

        assert rec.sandbox is not None and rec.network_settings is not None
        settings = rec.network_settings["Networks"][name]
        net = self._network(name)
        user = net.name not in PREDEFINED
        requested = (settings.get("IPAMConfig") or {}).get("IPv4Address") or None
        used = {e["ifname"] for e in rec.sandbox["endpoints"]}
        ifname = next(f"eth{i}" for i in range(len(used) + 1) if f"eth{i}" not in used)
        ip = self._networks.allocate_address(net.id, requested)
        endpoint_id = secrets.token_hex(32)
        entry = {"name": net.name, "net_id": net.id, "ip": ip, "ifname": ifname,
                 "host_ifname": self._link_prefix + endpoint_id[:15 - len(self._link_prefix)],
                 "bridge": net.bridge, "endpoint_id": endpoint_id, "registered": False}
        rec.sandbox["endpoints"].append(entry)
        first = ifname == "eth0"
        mac = (rec.config.get("MacAddress") if first else "") or links.mac_for(ip)
        plen = int(net.prefix_len)
        # an --internal network too: dockerd 20.10 gives its containers the gateway and a default
        # route; only forwarding out of the bridge is dropped (the firewall's isolation rules)
        gateway = str(net.gateway or "")
        links.connect_endpoint(links.EndpointLink(
            netns=Path(rec.sandbox["netns"]), bridge=net.bridge, host_ifname=entry["host_ifname"],
            ifname=ifname, address=f"{ip}/{plen}", mac=mac, gateway=gateway or None,
            default_route=first and bool(gateway), mtu=int(getattr(net, "mtu", 1500) or 1500)))
        aliases = list(settings.get("Aliases") or [])
        if user and rec.short_id not in aliases:
            aliases.append(rec.short_id)
        self._networks.add_endpoint(net.id, Endpoint(
            container_id=rec.id, name=rec.name.lstrip("/"), endpoint_id=endpoint_id, ip=ip, prefix_len=plen,
            gateway=gateway, mac=mac, aliases=aliases, host_ifname=entry["host_ifname"]))
        entry["registered"] = True
        if name != net.name:   # an id or prefix given at create: keyed by the name from now on
            rec.network_settings["Networks"][net.name] = rec.network_settings["Networks"].pop(name)
        settings.update({"NetworkID": net.id, "EndpointID": endpoint_id, "Gateway": gateway, "IPAddress": ip,
                         "IPPrefixLen": plen, "MacAddress": mac, "Aliases": aliases or None})
        if net.name == "bridge":
            for k in _TOP_LEVEL:
                rec.network_settings[k] = settings[k]
        self._events.publish("network", "connect", net.id,
                             {"container": rec.id, "name": net.name, "type": net.driver})
        return entry

    def _publish_ports(self, rec: ContainerRecord) -> None:
        from tugboat.network.firewall import PortMapping

        assert rec.sandbox is not None and rec.network_settings is not None
        primary = rec.sandbox["endpoints"][0] if rec.sandbox["endpoints"] else None
        if primary is None:
            return
        default_ip = str(getattr(self._networks.get(primary["net_id"]), "host_binding_ipv4", "") or self._default_ip)
        for w in container_ports.wanted(rec.config, rec.host_config, default_ip):
            candidates = range(w.host_port, max(w.host_last, w.host_port) + 1)
            error: TugboatError | None = None
            for candidate in candidates:
                try:
                    port = self._ports.reserve(w.proto, w.host_ip, candidate)
                    break
                except Conflict as e:
                    error = e
            else:
                assert error is not None
                raise TugboatError(f"driver failed programming external connectivity on endpoint "
                                   f"{rec.name.lstrip('/')} ({primary['endpoint_id']}): {error.message}")
            published = Published(w.proto, w.container_port, w.host_ip, port)
            rec.sandbox["ports"].append(published.to_json())
            self._firewall.publish(PortMapping(proto=w.proto, host_ip=w.host_ip, host_port=port,
                                               container_ip=primary["ip"], container_port=w.container_port,
                                               bridge=primary["bridge"]))
        rec.network_settings["Ports"] = self.ports_of(rec)

    def ports_of(self, rec: ContainerRecord) -> dict:
        published = [Published.from_json(p) for p in (rec.sandbox or {}).get("ports", [])]
        return container_ports.ports_map(rec.config, rec.host_config, published)

    def write_etc(self, rec: ContainerRecord) -> None:
        """/etc/hosts and resolv.conf for the container's current endpoints."""
        write_etc_files(rec, self.etc_network(rec))

    def etc_network(self, rec: ContainerRecord) -> EtcNetwork:
        sandbox = rec.sandbox or {}
        endpoints = sandbox.get("endpoints", [])
        link_lines: list[tuple[str, str]] = []
        if any(e["name"] == "bridge" for e in endpoints):
            for link, target, ip in self._linked(rec):
                names = container_links.hosts_line(link.alias, target.config.get("Hostname") or target.short_id,
                                                   target.name)
                link_lines.append((ip, names))
        gateway = ""
        try:
            gateway = str(self._networks.default_bridge().gateway or "")
        except TugboatError:
            pass
        return EtcNetwork(addresses=[e["ip"] for e in endpoints if e.get("registered")], links=link_lines,
                          embedded_dns=any(e["name"] not in PREDEFINED for e in endpoints),
                          host_gateway=gateway, daemon_dns=list(self._daemon_dns.get("dns") or []),
                          daemon_dns_search=list(self._daemon_dns.get("dns-search") or []),
                          daemon_dns_options=list(self._daemon_dns.get("dns-opts") or []))

    def remove_link(self, rec: ContainerRecord, alias: str) -> bool:
        """`docker rm --link /me/alias`: the legacy link leaves HostConfig.Links and, on a running
        container, /etc/hosts (its environment variables stay until the container restarts)."""
        name = f"/{rec.name.lstrip('/')}/{alias}"
        links = rec.host_config.get("Links") or []
        kept = [e for e in links if str(e).partition(":")[2] != name]
        if len(kept) == len(links):
            return False
        rec.host_config["Links"] = kept or None
        if rec.sandbox is not None:
            self.write_etc(rec)
        return True

    def link_env(self, rec: ContainerRecord) -> list[str]:
        """The --link environment variables (default bridge only, as dockerd)."""
        if network_mode(rec.host_config) != "bridge":
            return []
        out: list[str] = []
        for link, target, ip in self._linked(rec):
            out += container_links.env(rec.name, link.alias, ip, target.config.get("ExposedPorts") or {},
                                       target.config.get("Env") or [])
        return out

    def _linked(self, rec: ContainerRecord) -> Iterator[tuple[Any, ContainerRecord, str]]:
        """(link, target record, target's default-bridge IP) for each --link whose target exists
        and has an address now; the others are skipped, as dockerd does at (re)start."""
        for entry in rec.host_config.get("Links") or []:
            link = container_links.parse(entry)
            try:
                target = self._lookup(link.target)
            except NotFound:
                continue
            ip = ((target.network_settings or {}).get("Networks") or {}).get("bridge", {}).get("IPAddress")
            if ip:
                yield link, target, ip

    # --- release ------------------------------------------------------------------------------
    def release(self, rec: ContainerRecord) -> None:
        """Undo whatever ``setup``/``connect`` did, in reverse; idempotent, never raises."""
        from tugboat.network import netns

        sandbox = rec.sandbox
        if not sandbox:
            return
        if sandbox.get("dns"):
            self._quietly("detaching DNS", self._dns.detach, rec.id)
        self._unpublish_all(rec)
        for entry in reversed(sandbox.get("endpoints", [])):
            self._leave(rec, entry)
        self._quietly("removing netns", netns.remove, Path(sandbox["netns"]))
        rec.sandbox = None
        settings = rec.network_settings or network_settings()
        settings["Ports"] = {}
        for k in _TOP_LEVEL:
            settings[k] = 0 if k == "IPPrefixLen" else ""
        rec.network_settings = settings

    def _unpublish_all(self, rec: ContainerRecord) -> None:
        from tugboat.network.firewall import PortMapping

        sandbox = rec.sandbox or {}
        primary = sandbox["endpoints"][0] if sandbox.get("endpoints") else None
        for raw in reversed(sandbox.get("ports", [])):
            p = Published.from_json(raw)
            if primary is not None:
                self._quietly("unpublishing a port", self._firewall.unpublish, PortMapping(
                    proto=p.proto, host_ip=p.host_ip, host_port=p.host_port, container_ip=primary["ip"],
                    container_port=p.container_port, bridge=primary["bridge"]))
            self._quietly("releasing a port", self._ports.release, p.proto, p.host_ip, p.host_port)
        sandbox["ports"] = []

    def _leave(self, rec: ContainerRecord, entry: dict) -> None:
        from tugboat.network import links

        self._quietly("removing a veth", links.disconnect_endpoint, entry["host_ifname"])
        if entry.get("registered"):
            self._quietly("unregistering an endpoint", self._networks.remove_endpoint, entry["net_id"], rec.id)
        self._quietly("releasing an address", self._networks.release_address, entry["net_id"], entry["ip"])
        if rec.sandbox is not None and entry in rec.sandbox["endpoints"]:
            rec.sandbox["endpoints"].remove(entry)
        ep = ((rec.network_settings or {}).get("Networks") or {}).get(entry["name"])
        if ep is not None:
            for k in ("EndpointID", "Gateway", "IPAddress", "MacAddress"):
                ep[k] = ""
            ep["IPPrefixLen"] = 0
        if entry.get("registered"):
            self._events.publish("network", "disconnect", entry["net_id"],
                                 {"container": rec.id, "name": entry["name"], "type": self._driver(entry)})

    def _driver(self, entry: dict) -> str:
        try:
            return str(self._networks.get(entry["net_id"]).driver)
        except TugboatError:
            return "bridge"

    @staticmethod
    def _quietly(what: str, fn: Callable[..., Any], *args: Any) -> None:
        try:
            fn(*args)
        except Exception as e:  # noqa: BLE001 - teardown goes on; what is left is logged
            log.warning("%s: %s", what, e)

    # --- tugd restart -------------------------------------------------------------------------
    def restore(self, rec: ContainerRecord, running: bool) -> None:
        """A container found at tugd start: a running one keeps namespace and veths and gets its
        port reservations, firewall rules, registry entries and DNS back; a dead one is released."""
        from tugboat.network import netns
        from tugboat.network.firewall import PortMapping

        sandbox = rec.sandbox
        if not sandbox:
            return
        if not running or not netns.exists(Path(sandbox["netns"])):
            self.release(rec)
            return
        from tugboat.engine.network_record import Endpoint

        for entry in sandbox.get("endpoints", []):
            try:
                known = {e.container_id for e in self._networks.endpoints(entry["net_id"])}
                if rec.id in known:
                    continue
                with_address = self._networks.allocate_address(entry["net_id"], entry["ip"])
                ep = (rec.network_settings or {}).get("Networks", {}).get(entry["name"], {})
                self._networks.add_endpoint(entry["net_id"], Endpoint(
                    container_id=rec.id, name=rec.name.lstrip("/"), endpoint_id=entry["endpoint_id"],
                    ip=with_address, prefix_len=int(ep.get("IPPrefixLen") or 0), gateway=ep.get("Gateway") or "",
                    mac=ep.get("MacAddress") or "", aliases=list(ep.get("Aliases") or []),
                    host_ifname=entry["host_ifname"]))
            except TugboatError as e:
                log.warning("re-registering %s on %s: %s", rec.id, entry["name"], e)
        primary = sandbox["endpoints"][0] if sandbox.get("endpoints") else None
        for raw in sandbox.get("ports", []):
            p = Published.from_json(raw)
            try:
                self._ports.reserve(p.proto, p.host_ip, p.host_port)
            except TugboatError as e:
                log.warning("re-reserving %s/%s for %s: %s", p.host_port, p.proto, rec.id, e)
            if primary is not None:
                self._quietly("re-publishing a port", self._firewall.publish, PortMapping(
                    proto=p.proto, host_ip=p.host_ip, host_port=p.host_port, container_ip=primary["ip"],
                    container_port=p.container_port, bridge=primary["bridge"]))
        if sandbox.get("dns"):
            self._quietly("re-attaching DNS", self._dns.attach, rec.id, Path(sandbox["netns"]))

    # --- connect / disconnect -----------------------------------------------------------------
    def connect(self, rec: ContainerRecord, net_ref: str, endpoint_config: dict | None) -> Any:
        """`docker network connect`: a new endpoint on a running container, only the record otherwise."""
        net = self._network(net_ref)
        mode = network_mode(rec.host_config)
        if mode == "host" or net.name == "host":
            raise Forbidden("container cannot be disconnected from host network or connected to host network")
        if mode == "none" or net.name == "none" or mode.startswith("container:"):
            raise Forbidden("container cannot be connected to multiple networks with one of the networks "
                            "in private (none) mode" if mode == "none" or net.name == "none"
                            else "container sharing network namespace with another container or host "
                            "cannot be connected to any other network")
        rec.network_settings = rec.network_settings or network_settings()
        networks = rec.network_settings["Networks"]
        if net.name in networks:
            raise Forbidden(f"endpoint with name {rec.name.lstrip('/')} already exists in network {net.name}")
        cfg = endpoint_config or {}
        ipam = cfg.get("IPAMConfig") or None
        _check_ip(ipam)
        _check_ip_fits(net, ipam)
        aliases = cfg.get("Aliases") or None
        if aliases and net.name in PREDEFINED:
            raise InvalidArgument(ERR_ALIAS_DEFAULT)
        networks[net.name] = endpoint_settings(ipam, aliases)
        if rec.sandbox is None:
            return net
        try:
            entry = self._join(rec, net.name)
        except BaseException:
            failed = [e for e in rec.sandbox["endpoints"] if e["name"] == net.name]
            for e in failed:
                self._leave(rec, e)
            networks.pop(net.name, None)
            raise
        self.write_etc(rec)
        if entry["name"] not in PREDEFINED and not rec.sandbox.get("dns"):
            self._dns.attach(rec.id, Path(rec.sandbox["netns"]))
            rec.sandbox["dns"] = True
        return net

    def disconnect(self, rec: ContainerRecord, net_ref: str, force: bool) -> Any:
        """`docker network disconnect`: the endpoint goes (and the record's entry)."""
        net = self._network(net_ref)
        if net.name == "host" or network_mode(rec.host_config) == "host":
            raise Forbidden("container cannot be disconnected from host network or connected to host network")
        networks = (rec.network_settings or {}).get("Networks") or {}
        if net.name not in networks:
            raise Forbidden(f"container {rec.id} is not connected to network {net.name}")
        if rec.sandbox is not None:
            for entry in [e for e in rec.sandbox["endpoints"] if e["name"] == net.name]:
                if entry is rec.sandbox["endpoints"][0] and rec.sandbox.get("ports"):
                    self._unpublish_all(rec)
                    assert rec.network_settings is not None
                    rec.network_settings["Ports"] = self.ports_of(rec)
                self._leave(rec, entry)
            if rec.sandbox.get("dns") and not self._on_user_network(rec):
                self._quietly("detaching DNS", self._dns.detach, rec.id)
                rec.sandbox["dns"] = False
            self.write_etc(rec)
        networks.pop(net.name, None)
        if net.name == "bridge":
            for k in _TOP_LEVEL:
                rec.network_settings[k] = 0 if k == "IPPrefixLen" else ""  # type: ignore[index]
        return net

    # --- queries ------------------------------------------------------------------------------
    def counters(self, rec: ContainerRecord) -> dict | None:
        """stats' "networks": the interface counters of the sandbox, None without one."""
        from tugboat.network import links

        if not rec.sandbox:
            return None
        try:
            return links.interface_counters(Path(rec.sandbox["netns"])) or None
        except Exception as e:  # noqa: BLE001 - stats are informational
            log.info("interface counters of %s: %s", rec.id, e)
            return None

    def settings(self, rec: ContainerRecord) -> dict:
        """NetworkSettings for inspect (a copy)."""
        return copy.deepcopy(rec.network_settings) if rec.network_settings else network_settings()
