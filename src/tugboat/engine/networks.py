"""NetworkService: networks as objects — records, IPAM state, endpoint registry and events.

The API side (create/inspect/list/remove/prune) speaks the Engine API's shapes with dockerd
20.10's rules and words; the container side (get/allocate_address/add_endpoint/...) is what
engine/container_network.py builds sandboxes with. Each network is one JSON file under
<data-root>/network/<id>.json holding its configuration, its allocated addresses and its
endpoints, rewritten atomically on every change, so IPAM state survives tugd restarts.

The kernel is reached only through two injected collaborators: ``links`` (ensure_bridge,
remove_bridge, bridge_exists, host_routes of network/links.py) and ``firewall``
(network/firewall.py's add_network/remove_network). One lock guards everything.
"""

from __future__ import annotations

import builtins
import contextlib
import copy
import logging
import os
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from tugboat.api.timefmt import now_ns
from tugboat.engine import network_filters
from tugboat.engine.container_process import new_id
from tugboat.engine.network_record import (
    OPT_BRIDGE_NAME,
    OPT_DEFAULT_BRIDGE,
    OPT_HOST_IP,
    OPT_ICC,
    OPT_MASQ,
    OPT_MTU,
    PREDEFINED,
    Endpoint,
    Network,
    NetworkSettingsConfig,
)
from tugboat.errors import Conflict, Forbidden, InvalidArgument, NotFound, TugboatError
from tugboat.network import ipam
from tugboat.store.atomic import read_json, remove_tmp_files, write_json

log = logging.getLogger(__name__)

_GO_TRUE = ("1", "t", "T", "TRUE", "true", "True")
_GO_FALSE = ("0", "f", "F", "FALSE", "false", "False")
_IFNAME_MAX = 15


@dataclass
class _Entry:
    """A network and its mutable state."""

    net: Network
    pools: list[ipam.AddressPool]
    endpoints: dict[str, Endpoint] = field(default_factory=dict)   # container id -> endpoint

    def to_dict(self) -> dict[str, Any]:
        return {"network": self.net.to_dict(),
                "allocated": [a for p in self.pools for a in p.allocated],
                "endpoints": [ep.to_dict() for ep in self.endpoints.values()]}


def _entry(net: Network, allocated: Iterable[str] = ()) -> _Entry:
    pools = [ipam.AddressPool(c, [a for a in allocated if ipam.parse_address(a) in c.subnet])
             for c in net.configs]
    return _Entry(net, pools)


def _go_bool(key: str, value: str) -> bool:
    if value in _GO_TRUE:
        return True
    if value in _GO_FALSE:
        return False
    raise InvalidArgument(f'failed to parse {key} value: {value} (strconv.ParseBool: parsing "{value}": '
                          "invalid syntax)")


def _go_int(key: str, value: str) -> int:
    try:
        return int(value, 10)
    except ValueError:
        raise InvalidArgument(f'failed to parse {key} value: {value} (strconv.Atoi: parsing "{value}": '
                              "invalid syntax)") from None


class NetworkService:
    def __init__(self, root: Path, settings: NetworkSettingsConfig, firewall: Any, events: Any,
                 links: Any = None) -> None:
        if links is None:
            from tugboat.network import links as real_links
            links = real_links
        self._root = root
        self._settings = settings
        self._firewall = firewall
        self._events = events
        self._links = links
        self._pools = ipam.parse_pools(settings.default_address_pools)
        self._lock = threading.RLock()
        self._nets: dict[str, _Entry] = {}
        root.mkdir(parents=True, exist_ok=True, mode=0o700)
        remove_tmp_files(root)
        self._load()
        self._ensure_predefined()

    # -- persistence -----------------------------------------------------------------------------
    def _load(self) -> None:
        for name in sorted(os.listdir(self._root)):
            if not name.endswith(".json"):
                continue
            try:
                data = read_json(self._root / name)
                entry = _entry(Network.from_dict(data["network"]), data.get("allocated") or [])
                for ep in data.get("endpoints") or []:
                    e = Endpoint.from_dict(ep)
                    entry.endpoints[e.container_id] = e
            except (KeyError, TypeError, ValueError, TugboatError) as e:
                log.error("ignoring unreadable network record %s: %s", name, e)
                continue
            self._nets[entry.net.id] = entry

    def _save(self, entry: _Entry) -> None:
        write_json(self._root / f"{entry.net.id}.json", entry.to_dict())

    def _ensure_predefined(self) -> None:
        """bridge/host/none: their ids persist; the default bridge follows the daemon settings."""
        have = {e.net.name: e for e in self._nets.values() if e.net.predefined}
        s = self._settings
        bip = ipam.parse_bip(s.bip)
        wanted = {
            "bridge": Network(
                id="", name="bridge", driver="bridge", created_ns=0, bridge=s.bridge, configs=(bip,),
                ipam_options=None, predefined=True, mtu=s.mtu, icc=s.icc, masquerade=s.ip_masq,
                host_binding_ipv4=s.ip,
                options={OPT_DEFAULT_BRIDGE: "true", OPT_ICC: str(s.icc).lower(),
                         OPT_MASQ: str(s.ip_masq).lower(), OPT_HOST_IP: s.ip, OPT_BRIDGE_NAME: s.bridge,
                         OPT_MTU: str(s.mtu)}),
            "host": Network(id="", name="host", driver="host", created_ns=0, predefined=True),
            "none": Network(id="", name="none", driver="null", created_ns=0, predefined=True),
        }
        for name, net in wanted.items():
            old = have.get(name)
            net = replace(net, id=old.net.id if old else new_id(),
                          created_ns=old.net.created_ns if old else now_ns())
            if old and old.net == net:
                continue
            entry = _entry(net, [a for p in old.pools for a in p.allocated] if old else [])
            if old:
                entry.endpoints = old.endpoints
            self._nets[net.id] = entry
            self._save(entry)

    def restore(self) -> None:
        """tugd start: every bridge network's Linux bridge and firewall rules, recreated if missing.
        Call after ``Firewall.setup``/``reset`` and before containers restore their own rules."""
        with self._lock:
            for entry in self._nets.values():
                if entry.net.driver == "bridge":
                    try:
                        self._plumb(entry.net)
                    except Exception as e:   # noqa: BLE001 - one broken network must not stop tugd
                        log.error("cannot restore network %s (%s): %s", entry.net.name, entry.net.bridge, e)

    # -- kernel ----------------------------------------------------------------------------------
    def _plumb(self, net: Network) -> None:
        self._links.ensure_bridge(net.bridge, f"{net.gateway}/{net.prefix_len}", net.mtu)
        self._firewall.add_network(net.bridge, net.subnet, internal=net.internal, icc=net.icc)

    def _unplumb(self, net: Network) -> None:
        self._firewall.remove_network(net.bridge, net.subnet, internal=net.internal, icc=net.icc)
        self._links.remove_bridge(net.bridge)

    # -- lookup ----------------------------------------------------------------------------------
    def _find(self, ref: str) -> _Entry:
        """dockerd's FindNetwork: full id, then unique name, then unique id prefix."""
        if ref in self._nets:
            return self._nets[ref]
        by_name = [e for e in self._nets.values() if e.net.name == ref]
        if len(by_name) == 1:
            return by_name[0]
        if len(by_name) > 1:
            raise InvalidArgument(f"network {ref} is ambiguous ({len(by_name)} matches found based on name)")
        by_prefix = [e for i, e in self._nets.items() if ref and i.startswith(ref)]
        if len(by_prefix) == 1:
            return by_prefix[0]
        if len(by_prefix) > 1:
            raise InvalidArgument(f"network {ref} is ambiguous ({len(by_prefix)} matches found based on "
                                  "ID prefix)")
        raise NotFound(f"network {ref} not found")

    def _entry_by_id(self, net_id: str) -> _Entry:
        entry = self._nets.get(net_id)
        if entry is None:
            raise NotFound(f"network {net_id} not found")
        return entry

    # -- container side --------------------------------------------------------------------------
    def get(self, ref: str) -> Network:
        with self._lock:
            return self._find(ref).net

    def default_bridge(self) -> Network:
        with self._lock:
            return next(e.net for e in self._nets.values() if e.net.predefined and e.net.name == "bridge")

    def allocate_address(self, net_id: str, requested: str | None = None) -> str:
        """An address of the network for a container: ``requested`` (--ip) or the lowest free one."""
        with self._lock:
            entry = self._entry_by_id(net_id)
            if not entry.pools:
                raise InvalidArgument(f"network {entry.net.name} has no IP address management")
            if requested:
                target = ipam.parse_address(requested) if _is_ipv4(requested) else None
                pool = next((p for p in entry.pools if target is not None and target in p.config.subnet),
                            entry.pools[0])
                ip = pool.allocate(requested)
            else:
                ip = _first_free(entry.pools)
            self._save(entry)
            return ip

    def release_address(self, net_id: str, ip: str) -> None:
        """Give ``ip`` back; idempotent, and silent if the network is gone."""
        with self._lock:
            entry = self._nets.get(net_id)
            if entry is None or not ip:
                return
            for p in entry.pools:
                if p.in_use(ip):
                    p.release(ip)
                    self._save(entry)

    def add_endpoint(self, net_id: str, ep: Endpoint) -> None:
        """Record a container's endpoint (replacing the container's previous one on this network)."""
        with self._lock:
            entry = self._entry_by_id(net_id)
            entry.endpoints[ep.container_id] = copy.deepcopy(ep)
            self._save(entry)

    def remove_endpoint(self, net_id: str, container_id: str) -> None:
        """Forget a container's endpoint (its address is released by ``release_address``); idempotent."""
        with self._lock:
            entry = self._nets.get(net_id)
            if entry is not None and entry.endpoints.pop(container_id, None) is not None:
                self._save(entry)

    def endpoints(self, net_id: str) -> builtins.list[Endpoint]:
        """Copies of the network's endpoints ([] for an unknown network)."""
        with self._lock:
            entry = self._nets.get(net_id)
            return [copy.deepcopy(ep) for ep in entry.endpoints.values()] if entry else []

    # -- API side --------------------------------------------------------------------------------
    def create(self, body: dict[str, Any]) -> dict[str, str]:
        """POST /networks/create: NetworkCreateRequest -> {"Id", "Warning"}."""
        if not isinstance(body, dict):
            raise InvalidArgument("invalid network create request")
        name = str(body.get("Name") or "")
        if not name:
            raise InvalidArgument(f"invalid name: {name}")
        driver = str(body.get("Driver") or "bridge")
        if name in PREDEFINED:
            raise Forbidden(f"operation is not permitted on predefined {name} network ")
        _check_unsupported(body, driver)
        with self._lock:
            warning = ""
            same = [e.net for e in self._nets.values() if e.net.name == name]
            if same:
                if body.get("CheckDuplicate"):
                    raise Conflict(f"network with name {name} already exists")
                warning = f"Network with name {name} (id : {same[0].id}) already exists"
            net = self._new_bridge_network(name, body)
            entry = _entry(net)
            try:
                self._plumb(net)
                self._save(entry)
            except BaseException:
                with contextlib.suppress(Exception):
                    self._unplumb(net)
                raise
            self._nets[net.id] = entry
        self._publish(net, "create")
        return {"Id": net.id, "Warning": warning}

    def _new_bridge_network(self, name: str, body: dict[str, Any]) -> Network:
        ipam_body = body.get("IPAM") or {}
        user_configs = [ipam.parse_config(c) for c in ipam_body.get("Config") or []]
        if len(user_configs) > 1:
            raise Forbidden("bridge driver doesn't support multiple subnets")
        used = [c.subnet for e in self._nets.values() for c in e.net.configs]
        if user_configs:
            if ipam.overlaps(user_configs[0].subnet, used):
                raise Forbidden(ipam.ERR_OVERLAP)
            configs = (user_configs[0],)
        else:
            configs = (ipam.config_for(ipam.choose_subnet(self._pools, used, self._links.host_routes())),)
        options = {str(k): str(v) for k, v in (body.get("Options") or {}).items()}
        net_id = new_id()
        bridge = options.get(OPT_BRIDGE_NAME) or self._settings.user_bridge(net_id)
        self._check_bridge_name(bridge, bool(options.get(OPT_BRIDGE_NAME)))
        s = self._settings
        return Network(
            id=net_id, name=name, driver="bridge", created_ns=now_ns(), bridge=bridge, configs=configs,
            user_subnet=bool(user_configs), internal=bool(body.get("Internal")),
            attachable=bool(body.get("Attachable")), ipam_driver=str(ipam_body.get("Driver") or "default"),
            ipam_options={str(k): str(v) for k, v in (ipam_body.get("Options") or {}).items()},
            options=options, labels={str(k): str(v) for k, v in (body.get("Labels") or {}).items()},
            mtu=_go_int(OPT_MTU, options[OPT_MTU]) if OPT_MTU in options else s.mtu,
            icc=_go_bool(OPT_ICC, options[OPT_ICC]) if OPT_ICC in options else True,
            masquerade=_go_bool(OPT_MASQ, options[OPT_MASQ]) if OPT_MASQ in options else True,
            host_binding_ipv4=options.get(OPT_HOST_IP) or s.ip)

    def _check_bridge_name(self, bridge: str, given: bool) -> None:
        if len(bridge) > _IFNAME_MAX or not bridge or "/" in bridge or any(c.isspace() for c in bridge):
            raise InvalidArgument(f"invalid bridge name {bridge}: an interface name has 1 to 15 characters, "
                                  "no '/' and no space")
        for e in self._nets.values():
            if e.net.bridge == bridge:
                raise Forbidden(f"cannot create network {bridge}: conflicts with network {e.net.id} "
                                f"({e.net.name}): networks have same bridge name")
        if given and self._links.bridge_exists(bridge):
            # dockerd would take the bridge over, re-addressing it: never do that to someone else's
            raise Conflict(f"bridge {bridge} already exists on the host and is not Tugboat's")

    def inspect(self, ref: str, verbose: bool = False, scope: str = "") -> dict[str, Any]:
        """GET /networks/{id}. ``verbose`` adds nothing for local networks (as dockerd)."""
        with self._lock:
            entry = self._find(ref)
            if scope and scope != entry.net.scope:
                raise NotFound(f"network {ref} not found")
            return entry.net.api(list(entry.endpoints.values()))

    def list(self, filters: dict[str, builtins.list[str]] | None = None) -> builtins.list[dict[str, Any]]:
        """GET /networks (its Containers maps are empty, as dockerd's list)."""
        keep = network_filters.list_predicate(dict(filters or {}))
        with self._lock:
            nets = sorted((e.net for e in self._nets.values()), key=lambda n: (n.name, n.id))
            return [n.api(None) for n in nets if keep(n)]

    def remove(self, ref: str) -> None:
        with self._lock:
            entry = self._find(ref)
            self._remove(entry)
        self._publish(entry.net, "destroy")

    def _remove(self, entry: _Entry) -> None:
        net = entry.net
        if net.predefined:
            raise Forbidden(f"{net.name} is a pre-defined network and cannot be removed")
        if entry.endpoints:
            raise Forbidden(f"error while removing network: network {net.name} id {net.id} has active endpoints")
        self._unplumb(net)
        try:
            os.unlink(self._root / f"{net.id}.json")
        except FileNotFoundError:
            pass
        del self._nets[net.id]

    def prune(self, filters: dict[str, builtins.list[str]] | None = None) -> dict[str, Any]:
        """POST /networks/prune: every custom network without endpoints that passes the filters."""
        keep = network_filters.prune_predicate(dict(filters or {}))
        deleted: builtins.list[Network] = []
        with self._lock:
            for entry in sorted(self._nets.values(), key=lambda e: e.net.name):
                if entry.net.predefined or entry.endpoints or not keep(entry.net):
                    continue
                try:
                    self._remove(entry)
                except TugboatError as e:
                    log.warning("prune: cannot remove network %s: %s", entry.net.name, e)
                    continue
                deleted.append(entry.net)
        for net in deleted:
            self._publish(net, "destroy")
        if self._events is not None:
            self._events.publish("network", "prune", "", {"reclaimed": "0"})
        return {"NetworksDeleted": [n.name for n in deleted] or None}

    def _publish(self, net: Network, action: str) -> None:
        if self._events is not None:
            self._events.publish("network", action, net.id, {"name": net.name, "type": net.driver})


def _is_ipv4(text: str) -> bool:
    try:
        ipam.parse_address(text)
        return True
    except ValueError:
        return False


def _first_free(pools: builtins.list[ipam.AddressPool]) -> str:
    for i, pool in enumerate(pools):
        try:
            return pool.allocate()
        except ipam.NoAddresses:
            if i == len(pools) - 1:
                raise
    raise ipam.NoAddresses(ipam.ERR_NO_ADDRESSES)


def _check_unsupported(body: dict[str, Any], driver: str) -> None:
    """dockerd's refusals, in its words, for what a single local daemon cannot do."""
    if driver in ("host", "null"):
        raise Forbidden(f'only one instance of "{driver}" network is allowed')
    if driver == "overlay":
        raise TugboatError('This node is not a swarm manager. Use "docker swarm init" or "docker swarm join" '
                           "to connect this node to swarm and try again.")
    if driver != "bridge":
        raise NotFound(f'plugin "{driver}" not found')
    ipam_driver = str((body.get("IPAM") or {}).get("Driver") or "default")
    if ipam_driver != "default":
        raise NotFound(f'plugin "{ipam_driver}" not found')
    if body.get("Ingress"):
        raise Forbidden("Ingress network can only be global scope network")
    if body.get("ConfigOnly") or (body.get("ConfigFrom") or {}).get("Network"):
        raise InvalidArgument("config-only networks are not supported by Tugboat")
    if body.get("EnableIPv6"):
        raise NotFound("could not find an available, non-overlapping IPv6 address pool among the defaults to "
                       "assign to the network")
