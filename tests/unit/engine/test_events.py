"""The event bus: message shape, replay window, live delivery and docker's filter rules."""

from __future__ import annotations

import threading

from tugboat.engine.events import EventBus, container_attributes, matches, message


def _c(action: str, cid: str = "abc123", name: str = "web", image: str = "busybox:latest",
       labels: dict[str, str] | None = None) -> dict:
    attrs = container_attributes("/" + name, {"Image": image, "Labels": labels or {}})
    return message("container", action, cid, attrs, 1_700_000_000_123_456_789)


def test_message_shape_has_legacy_fields_and_sorted_attributes():
    m = _c("die")
    assert list(m) == ["status", "id", "from", "Type", "Action", "Actor", "scope", "time", "timeNano"]
    assert m["from"] == "busybox:latest" and m["time"] == 1_700_000_000
    assert list(m["Actor"]["Attributes"]) == ["image", "name"]
    img = message("image", "tag", "sha256:x", {"name": "a:b"}, 1)
    assert "from" not in img and img["status"] == "tag"
    net = message("network", "connect", "n1", {}, 1)
    assert "status" not in net and "id" not in net


def test_filters():
    m = _c("start", labels={"k": "v"})
    assert matches({}, m)
    assert matches({"container": ["web"]}, m)
    assert matches({"container": ["abc"]}, m)              # ID prefix
    assert not matches({"container": ["other"]}, m)
    assert matches({"event": ["start", "die"]}, m)
    assert not matches({"event": ["sta"]}, m)              # exact for ordinary events
    assert matches({"type": ["container"]}, m)
    assert not matches({"type": ["image"]}, m)
    assert matches({"image": ["busybox"]}, m)              # tag stripped
    assert matches({"image": ["busybox:latest"]}, m)
    assert not matches({"image": ["alpine"]}, m)
    assert matches({"label": ["k"]}, m) and matches({"label": ["k=v"]}, m)
    assert not matches({"label": ["k=w"]}, m)
    assert not matches({"network": ["x"]}, m)
    assert matches({"event": ["health_status"]}, _c("health_status: healthy"))   # fuzzy for these


def test_subscribe_replays_window_and_delivers_live():
    bus = EventBus(max_events=3)
    for a in ("create", "start", "die", "destroy"):
        bus.publish("container", a, "abc", {"name": "web"})
    past, sub = bus.subscribe(since_ns=1)
    assert [m["Action"] for m in past] == ["start", "die", "destroy"]   # ring of 3
    got: list[str] = []
    t = threading.Thread(target=lambda: got.append((sub.get(timeout=5) or {}).get("Action", "")))
    t.start()
    bus.publish("container", "create", "def", {"name": "x"})
    t.join(5)
    assert got == ["create"]
    sub.close()
    none_past, sub2 = bus.subscribe()
    assert none_past == []   # no since/until: nothing replayed
    sub2.close()


def test_until_and_filters_on_replay():
    bus = EventBus()
    first = bus.publish("container", "create", "abc", {"name": "web"})
    bus.publish("image", "tag", "sha256:1", {"name": "a:b"})
    past, sub = bus.subscribe(since_ns=1, until_ns=first["timeNano"])
    assert [m["Action"] for m in past] == ["create"]
    sub.close()
    past, sub = bus.subscribe(since_ns=1, filters={"type": ["image"], "bogus": ["x"]})
    assert [m["Action"] for m in past] == ["tag"]
    sub.close()
