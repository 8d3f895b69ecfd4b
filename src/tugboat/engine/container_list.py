"""`GET /containers/json`: filters, ordering and the ContainerSummary shape.

Filter semantics follow moby 20.10's daemon/list.go: id and name are unanchored
regular expressions, labels match "key" or "key=value" (all must match), status and
exited filters (and before/since/limit) make stopped containers visible without
`all`, and unknown filter keys are rejected with dockerd's messages.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from tugboat.engine.container_health import STATUSES as HEALTH_STATUSES
from tugboat.engine.container_health import health_status
from tugboat.engine.container_ports import port_filter, summary_ports
from tugboat.engine.container_record import ContainerRecord, api_mounts
from tugboat.engine.container_state import STATUSES
from tugboat.errors import InvalidArgument, NotFound, TugboatError

ACCEPTED = {"ancestor", "before", "expose", "exited", "health", "id", "isolation", "is-task", "label",
            "name", "network", "publish", "since", "status", "volume"}


def _regex_any(patterns: list[str], *values: str) -> bool:
    for p in patterns:
        if p in values:
            return True
        try:
            if any(re.search(p, v) for v in values):
                return True
        except re.error:
            continue
    return False


def _labels_match(wanted: list[str], labels: dict) -> bool:
    for w in wanted:
        key, eq, value = w.partition("=")
        if key not in labels or (eq and labels[key] != value):
            return False
    return True


def command_string(path: str, args: list[str]) -> str:
    """moby's summary Command: args containing a space are single-quoted."""
    if not args:
        return path
    return path + " " + " ".join(f"'{a}'" if " " in a else a for a in args)


def summary(rec: ContainerRecord, sizes: dict | None = None) -> dict:
    out = {
        "Id": rec.id, "Names": [rec.name], "Image": rec.config.get("Image") or rec.image_id,
        "ImageID": rec.image_id, "Command": command_string(rec.path, rec.args),
        "Created": rec.created_ns // 1_000_000_000,
        "Ports": summary_ports((rec.network_settings or {}).get("Ports") or {}),
    }
    if sizes:
        out.update(sizes)
    out.update({
        "Labels": dict(rec.config.get("Labels") or {}), "State": rec.state.status,
        "Status": rec.state.human(), "HostConfig": {"NetworkMode": rec.host_config.get("NetworkMode", "default")},
        "NetworkSettings": {"Networks": _summary_networks(rec)}, "Mounts": api_mounts(rec),
    })
    return out


def _summary_networks(rec: ContainerRecord) -> dict:
    """NetworkSettings.Networks as GET /containers/json shows them (dockerd 20.10: no aliases)."""
    return {name: {**ep, "Aliases": None}
            for name, ep in ((rec.network_settings or {}).get("Networks") or {}).items()}


def _on_network(wanted: list[str], rec: ContainerRecord) -> bool:
    """moby's network filter: a network the container is on, by name or (prefix of its) id."""
    networks = (rec.network_settings or {}).get("Networks") or {}
    for w in wanted:
        for name, ep in networks.items():
            if w == name or (ep.get("NetworkID") and ep["NetworkID"].startswith(w)):
                return True
    return _regex_any(wanted, rec.host_config.get("NetworkMode", "")) if not networks else False


def select(records: list[ContainerRecord], all: bool, limit: int, filters: dict[str, list[str]] | None,
           lookup: Callable[[str], ContainerRecord],
           resolve_image: Callable[[str], str | None]) -> list[ContainerRecord]:
    """The records `docker ps` shows, newest first."""
    f = {k: list(v) for k, v in (filters or {}).items() if v is not None}
    for key in f:
        if key not in ACCEPTED:
            raise InvalidArgument(f"Invalid filter '{key}'")
    for s in f.get("status", []):
        if s not in STATUSES:
            raise InvalidArgument(f"Invalid filter 'status={s}'")
    for h in f.get("health", []):
        if h not in HEALTH_STATUSES:
            raise InvalidArgument(f"Unrecognised filter value for health: {h}")
    exited: list[int] = []
    for v in f.get("exited", []):
        try:
            exited.append(int(v))
        except ValueError:
            raise TugboatError(f'strconv.Atoi: parsing "{v}": invalid syntax') from None

    def bound(key: str) -> int | None:
        vals = f.get(key)
        if not vals:
            return None
        try:
            return lookup(vals[-1]).created_ns
        except NotFound:
            raise TugboatError(f"no such container {vals[-1]}") from None

    before, since = bound("before"), bound("since")
    ancestors: set[str] = set()
    for ref in f.get("ancestor", []):
        iid = resolve_image(ref)
        if iid:
            ancestors.add(iid)
    publish_keys, expose_keys = port_filter(f.get("publish", [])), port_filter(f.get("expose", []))
    show_stopped = (all or limit > 0 or before is not None or since is not None
                    or "status" in f or "exited" in f)

    out = []
    for rec in sorted(records, key=lambda r: r.created_ns, reverse=True):
        st = rec.state
        if not show_stopped and not st.running:
            continue
        if before is not None and rec.created_ns >= before:
            continue
        if since is not None and rec.created_ns <= since:
            continue
        if "id" in f and not _regex_any(f["id"], rec.id):
            continue
        if "name" in f and not _regex_any(f["name"], rec.name, rec.name.lstrip("/")):
            continue
        if "label" in f and not _labels_match(f["label"], rec.config.get("Labels") or {}):
            continue
        if "status" in f and st.status not in f["status"]:
            continue
        if exited and not (st.exit_code in exited and not st.running and st.started_at_ns):
            continue
        if "ancestor" in f and rec.image_id not in ancestors and rec.config.get("Image") not in f["ancestor"]:
            continue
        if "health" in f and health_status(st.health) not in f["health"]:
            continue
        if "is-task" in f and "true" in f["is-task"]:
            continue
        if "network" in f and not _on_network(f["network"], rec):
            continue
        if "publish" in f and not publish_keys & set((rec.network_settings or {}).get("Ports") or {}) \
                and not publish_keys & set(rec.host_config.get("PortBindings") or {}):
            continue
        if "expose" in f and not expose_keys & set(rec.config.get("ExposedPorts") or {}):
            continue
        if "volume" in f:
            mounted = {k for m in api_mounts(rec) for k in (m.get("Name") or m["Source"], m["Destination"])}
            if not mounted & set(f["volume"]):   # a volume name (a bind's source) or a destination
                continue
        out.append(rec)
        if limit > 0 and len(out) >= limit:
            break
    return out
