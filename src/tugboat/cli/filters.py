"""`-f key=value` flags -> the API's filters JSON, in the map form docker's CLI sends."""

from __future__ import annotations


class FilterError(ValueError):
    pass


def parse_filters(values: list[str]) -> dict[str, dict[str, bool]]:
    out: dict[str, dict[str, bool]] = {}
    for v in values:
        key, eq, val = v.partition("=")
        if not eq:
            raise FilterError("bad format of filter (expected name=value)")
        out.setdefault(key.strip().lower(), {})[val.strip()] = True
    return out
