"""Docker's timestamps: RFC 3339 with nanoseconds in UTC ("2024-01-02T03:04:05.123456789Z").

Timestamps are kept as integer nanoseconds since the epoch so that they survive
JSON round trips without losing precision.
"""

import time
from datetime import UTC, datetime

ZERO_TIME = "0001-01-01T00:00:00Z"


def now_ns() -> int:
    return time.time_ns()


def rfc3339nano(ns: int | None) -> str:
    """Format like Go's time.RFC3339Nano (trailing zeros of the fraction trimmed)."""
    if not ns:
        return ZERO_TIME
    secs, frac = divmod(ns, 1_000_000_000)
    base = datetime.fromtimestamp(secs, UTC).strftime("%Y-%m-%dT%H:%M:%S")
    if frac:
        return f"{base}.{frac:09d}".rstrip("0") + "Z"
    return base + "Z"


def parse_rfc3339(s: str) -> int:
    """Parse an RFC 3339 timestamp (any fraction length, Z or offset) to ns."""
    s = s.strip()
    if s.endswith("Z") or s.endswith("z"):
        s, offset = s[:-1], "+00:00"
    elif len(s) > 6 and s[-6] in "+-" and s[-3] == ":":
        s, offset = s[:-6], s[-6:]
    else:
        offset = "+00:00"
    frac_ns = 0
    if "." in s:
        s, frac = s.split(".", 1)
        frac_ns = int((frac + "000000000")[:9])
    dt = datetime.fromisoformat(s + offset)
    return int(dt.timestamp()) * 1_000_000_000 + frac_ns


def parse_since(value: str, now: int | None = None) -> int:
    """Parse docker's --since/--until values: unix seconds (with fraction),
    RFC 3339 dates, or relative durations like "10m" / "1h30m"."""
    now = now if now is not None else now_ns()
    v = value.strip()
    if not v:
        return 0
    try:
        if "." in v:
            sec, frac = v.split(".", 1)
            return int(sec) * 1_000_000_000 + int((frac + "000000000")[:9])
        return int(v) * 1_000_000_000
    except ValueError:
        pass
    dur = parse_duration(v)
    if dur is not None:
        return now - dur
    return parse_rfc3339(v)


_UNITS = {"ns": 1, "us": 1_000, "µs": 1_000, "ms": 1_000_000, "s": 1_000_000_000,
          "m": 60_000_000_000, "h": 3_600_000_000_000}


def parse_duration(v: str) -> int | None:
    """Go's time.ParseDuration subset ("1h2m3.5s"); None if v is not a duration."""
    import re

    parts = re.findall(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)", v)
    if not parts or "".join(n + u for n, u in parts) != v:
        return None
    return int(sum(float(n) * _UNITS[u] for n, u in parts))
