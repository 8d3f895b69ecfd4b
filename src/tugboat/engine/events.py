"""The daemon's event log (``docker events``): one bus shared by every service.

Services call ``publish`` at the moments dockerd logs an event (create, start, die, ...);
``GET /events`` subscribes.  Like moby's daemon/events package the bus keeps the last
``MAX_EVENTS`` messages so that ``--since`` can replay the past, and every subscriber gets its
own unbounded queue, so a slow client never blocks the publisher (which often holds a
container lock).  Messages are the API's EventMessage, including the legacy
``status``/``id``/``from`` fields dockerd 20.10 still fills for containers and images.
Filtering follows daemon/events/filter.go (exact, fuzzy-prefix and label matching).
"""

from __future__ import annotations

import queue
import threading
from collections import deque
from collections.abc import Mapping
from typing import Any

from tugboat.api.timefmt import now_ns

MAX_EVENTS = 1000
FILTER_KEYS = frozenset({"container", "event", "type", "image", "label", "volume", "network", "daemon",
                         "plugin", "node", "service", "secret", "config", "scope"})
_FUZZY_EVENTS = {"health_status", "exec_create", "exec_start"}


def message(type_: str, action: str, actor_id: str, attributes: Mapping[str, str] | None,
            time_ns: int) -> dict[str, Any]:
    """An EventMessage in dockerd's field order (legacy fields first, omitted when empty)."""
    attrs = {k: str(v) for k, v in sorted((attributes or {}).items())}   # a Go map: sorted keys
    msg: dict[str, Any] = {}
    if type_ in ("container", "image"):
        msg["status"] = action
        msg["id"] = actor_id
        if type_ == "container" and attrs.get("image"):
            msg["from"] = attrs["image"]
    msg.update({"Type": type_, "Action": action, "Actor": {"ID": actor_id, "Attributes": attrs},
                "scope": "local", "time": time_ns // 1_000_000_000, "timeNano": time_ns})
    return msg


def validate_filters(filters: Mapping[str, list[str]] | None) -> dict[str, list[str]]:
    """dockerd 20.10 does not validate event filter keys: unknown ones are ignored."""
    return {k: list(v) for k, v in (filters or {}).items() if k in FILTER_KEYS}


def _exact(f: Mapping[str, list[str]], key: str, value: str) -> bool:
    vals = f.get(key)
    return not vals or value in vals


def _fuzzy(f: Mapping[str, list[str]], key: str, value: str) -> bool:
    vals = f.get(key)
    return not vals or any(value == v or (value.startswith(v)) for v in vals)


def _strip_tag(name: str) -> str:
    """reference.TrimNamed for filter purposes: drop a ":tag" after the last "/"."""
    head, _, last = name.rpartition("/")
    if ":" in last:
        last = last.split(":", 1)[0]
    return f"{head}/{last}" if head else last


def matches(f: Mapping[str, list[str]], msg: Mapping[str, Any]) -> bool:
    """daemon/events/filter.go Include for the filter keys we produce events for."""
    typ, action = msg["Type"], msg["Action"]
    actor_id = msg["Actor"]["ID"]
    attrs: Mapping[str, str] = msg["Actor"]["Attributes"]
    if f.get("event") and _FUZZY_EVENTS & set(f["event"]):
        ok_event = _fuzzy(f, "event", action)
    else:
        ok_event = _exact(f, "event", action)
    if not ok_event or not _exact(f, "type", typ) or not _exact(f, "scope", msg.get("scope", "local")):
        return False
    if f.get("container") and (typ != "container" or not (
            _fuzzy(f, "container", actor_id) or _fuzzy(f, "container", attrs.get("name", "")))):
        return False
    if f.get("image"):
        name = attrs.get("name" if typ == "image" else "image", "")
        if not any(_exact(f, "image", v) for v in (actor_id, name, _strip_tag(actor_id), _strip_tag(name))):
            return False
    for key in ("volume", "network", "plugin", "node", "service", "secret", "config", "daemon"):
        if f.get(key) and typ != key:
            return False
    for key in ("volume", "network"):   # fuzzyMatchName: the actor's ID (prefix) or its name
        if f.get(key) and not (_fuzzy(f, key, actor_id) or _fuzzy(f, key, attrs.get("name", ""))):
            return False
    if f.get("volume") and not (_fuzzy(f, "volume", actor_id) or _fuzzy(f, "volume", attrs.get("name", ""))):
        return False
    for spec in f.get("label", []):
        k, eq, v = spec.partition("=")
        if k not in attrs or (eq and attrs[k] != v):
            return False
    return True


class Subscription:
    """A live feed: ``get(timeout)`` returns the next matching message or None on timeout."""

    def __init__(self, bus: EventBus, filters: dict[str, list[str]]) -> None:
        self._bus = bus
        self.filters = filters
        self.queue: queue.SimpleQueue[dict[str, Any]] = queue.SimpleQueue()

    def get(self, timeout: float | None = None) -> dict[str, Any] | None:
        try:
            return self.queue.get(timeout=timeout)
        except queue.Empty:
            return None

    def close(self) -> None:
        self._bus.unsubscribe(self)


class EventBus:
    """Thread-safe publish/subscribe with a ring buffer of the last ``MAX_EVENTS`` messages."""

    def __init__(self, max_events: int = MAX_EVENTS) -> None:
        self._lock = threading.Lock()
        self._events: deque[dict[str, Any]] = deque(maxlen=max_events)
        self._subs: list[Subscription] = []

    def publish(self, type_: str, action: str, actor_id: str,
                attributes: Mapping[str, str] | None = None) -> dict[str, Any]:
        with self._lock:
            msg = message(type_, action, actor_id, attributes, now_ns())
            self._events.append(msg)
            subs = list(self._subs)
        for s in subs:
            if matches(s.filters, msg):
                s.queue.put(msg)
        return msg

    def subscribe(self, since_ns: int = 0, until_ns: int = 0,
                  filters: Mapping[str, list[str]] | None = None) -> tuple[list[dict[str, Any]], Subscription]:
        """(past messages to replay, live subscription) taken atomically, as moby's SubscribeTopic.
        Past messages are only replayed when since or until is given."""
        f = validate_filters(filters)
        sub = Subscription(self, f)
        with self._lock:
            past: list[dict[str, Any]] = []
            if since_ns or until_ns:
                past = [m for m in self._events if m["timeNano"] >= since_ns
                        and not (until_ns and m["timeNano"] > until_ns) and matches(f, m)]
            self._subs.append(sub)
        return past, sub

    def unsubscribe(self, sub: Subscription) -> None:
        with self._lock:
            if sub in self._subs:
                self._subs.remove(sub)


class NullEvents:
    """Stands in when a service is built without a bus (unit tests)."""

    def publish(self, type_: str, action: str, actor_id: str,
                attributes: Mapping[str, str] | None = None) -> None:
        return None


def container_attributes(name: str, config: Mapping[str, Any],
                         extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """dockerd's LogContainerEventWithAttributes: the container's labels, image and name."""
    attrs = {str(k): str(v) for k, v in (config.get("Labels") or {}).items()}
    attrs.update(extra or {})
    attrs["image"] = str(config.get("Image") or "")
    attrs["name"] = name.lstrip("/")
    return attrs
