"""``GET /networks`` and ``POST /networks/prune`` filters, as dockerd 20.10 applies them
(daemon/network/filter.go, daemon/prune.go): name and id are regular expressions searched in
the value (Go's filters.Match), driver/scope/type exact, dangling a boolean, label key[=value].
"""

from __future__ import annotations

import re
from collections.abc import Callable

from tugboat.api.timefmt import parse_since
from tugboat.engine.network_record import Network
from tugboat.errors import InvalidArgument

LIST_KEYS = frozenset({"dangling", "driver", "id", "label", "name", "scope", "type"})
PRUNE_KEYS = frozenset({"until", "label", "label!"})


def _match(patterns: list[str], value: str) -> bool:
    """Go's filters.Args.Match: exact, else any pattern that is a regexp found in ``value``."""
    for p in patterns:
        if p == value:
            return True
        try:
            if re.search(p, value):
                return True
        except re.error:
            continue
    return False


def _labels(specs: list[str], labels: dict[str, str]) -> bool:
    """Every spec ("key" or "key=value") must hold."""
    for spec in specs:
        key, eq, value = spec.partition("=")
        if key not in labels or (eq and labels[key] != value):
            return False
    return True


def _parse_bool(key: str, value: str) -> bool:
    low = value.lower()
    if low in ("true", "1"):
        return True
    if low in ("false", "0"):
        return False
    raise InvalidArgument(f"invalid value for filter '{key}', must be \"true\" (or \"1\"), "
                          "or \"false\" (or \"0\")")


def list_predicate(filters: dict[str, list[str]]) -> Callable[[Network], bool]:
    """Validate ``filters`` and return the test a network must pass to be listed. dockerd 20.10
    judges "dangling" on the list's own Containers maps, which are always empty: every custom
    network is dangling, used or not (checked against dockerd)."""
    for key in filters:
        if key not in LIST_KEYS:
            raise InvalidArgument(f"Invalid filter '{key}'")
    for t in filters.get("type", []):
        if t not in ("custom", "builtin"):
            raise InvalidArgument(f"invalid filter: 'type'='{t}'")
    dangling = [_parse_bool("dangling", v) for v in filters.get("dangling", [])]

    def keep(n: Network) -> bool:
        if filters.get("name") and not _match(filters["name"], n.name):
            return False
        if filters.get("id") and not _match(filters["id"], n.id):
            return False
        if filters.get("driver") and n.driver not in filters["driver"]:
            return False
        if filters.get("scope") and n.scope not in filters["scope"]:
            return False
        if filters.get("type") and ("builtin" if n.predefined else "custom") not in filters["type"]:
            return False
        if not _labels(filters.get("label", []), n.labels):
            return False
        if dangling and (not n.predefined) != dangling[-1]:
            return False
        return True

    return keep


def prune_predicate(filters: dict[str, list[str]]) -> Callable[[Network], bool]:
    """Validate prune ``filters``; the test a unused custom network must pass to be removed."""
    for key in filters:
        if key not in PRUNE_KEYS:
            raise InvalidArgument(f"Invalid filter '{key}'")
    until = None
    if filters.get("until"):
        raw = filters["until"][-1]
        try:
            until = parse_since(raw)
        except (ValueError, OverflowError):
            raise InvalidArgument(f'failed to parse value as time or duration: "{raw}"') from None

    def keep(n: Network) -> bool:
        if until is not None and n.created_ns > until:
            return False
        if not _labels(filters.get("label", []), n.labels):
            return False
        return not any(_labels([spec], n.labels) for spec in filters.get("label!", []))

    return keep
