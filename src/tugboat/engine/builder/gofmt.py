"""Go's fmt verbs where the classic builder leaks them into history ``created_by`` strings:
``CMD ["sh"]`` is ``%q`` of a []string, ``HEALTHCHECK &{["CMD-SHELL" "true"] "5s" ...}``
is ``%q`` of a *HealthConfig, ``VOLUME [/data]`` is ``%v``.  Matching them keeps
``docker history`` identical to dockerd's."""

from __future__ import annotations

import json
from typing import Any


def quote(s: str) -> str:
    """strconv.Quote (close enough: JSON escaping differs only for rare control characters)."""
    return json.dumps(s, ensure_ascii=False)


def quote_list(items: list[str]) -> str:
    return "[" + " ".join(quote(i) for i in items) + "]"


def value_list(items: list[str]) -> str:
    return "[" + " ".join(items) + "]"


def quote_rune(n: int) -> str:
    """%q of an int: a Go rune literal."""
    c = chr(n)
    if c in "'\\":
        return "'\\" + c + "'"
    if 32 <= n < 127:
        return f"'{c}'"
    return f"'\\x{n:02x}'" if n < 256 else f"'\\u{n:04x}'"


def duration(ns: int) -> str:
    """time.Duration.String()."""
    if ns == 0:
        return "0s"
    neg = ns < 0
    u = abs(ns)
    if u < 1_000_000_000:
        for unit, size in (("ns", 1), ("µs", 1_000), ("ms", 1_000_000)):
            if u < size * 1000:
                return ("-" if neg else "") + _frac(u, size) + unit
    out = ""
    hours, rem = divmod(u, 3_600_000_000_000)
    minutes, rem = divmod(rem, 60_000_000_000)
    if hours:
        out += f"{hours}h"
    if hours or minutes:
        out += f"{minutes}m"
    out += _frac(rem, 1_000_000_000) + "s"
    return ("-" if neg else "") + out


def _frac(value: int, unit: int) -> str:
    whole, frac = divmod(value, unit)
    if not frac:
        return str(whole)
    digits = len(str(unit)) - 1
    return f"{whole}." + f"{frac:0{digits}d}".rstrip("0")


def healthcheck(hc: dict[str, Any]) -> str:
    parts = [quote_list(list(hc.get("Test") or [])), quote(duration(int(hc.get("Interval") or 0))),
             quote(duration(int(hc.get("Timeout") or 0))), quote(duration(int(hc.get("StartPeriod") or 0))),
             quote_rune(int(hc.get("Retries") or 0))]
    return "&{" + " ".join(parts) + "}"
