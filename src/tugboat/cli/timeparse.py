"""docker's timetypes.GetTimestamp for --since/--until: a Go duration ("42m", "1h30m") counts back
from now, RFC 3339 / date forms are converted to unix seconds, numbers pass through."""

from __future__ import annotations

import re
import time

_DUR = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)")
_UNIT = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_go_duration(v: str) -> float | None:
    s = v.lstrip("+-")
    if not s:
        return None
    pos, total = 0, 0.0
    for m in _DUR.finditer(s):
        if m.start() != pos:
            return None
        total += float(m.group(1)) * _UNIT[m.group(2)]
        pos = m.end()
    if pos != len(s) or pos == 0:
        return None
    return -total if v.startswith("-") else total


def get_timestamp(value: str, now: float | None = None) -> str:
    now = time.time() if now is None else now
    d = parse_go_duration(value)
    if d is not None:
        t = now - d
        sec = int(t)
        return f"{sec}.{int(round((t - sec) * 1e9)):09d}"
    if re.fullmatch(r"\d+(\.\d+)?", value):
        return value
    import datetime
    v = value.replace("Z", "+00:00")
    # Keep the fraction as digits: a float would cut nanoseconds to microseconds, and
    # `--until <a line's own timestamp>` must still include that line, as docker's does.
    frac = ""
    m = re.match(r"^(.*T\d\d:\d\d:\d\d)\.(\d+)(.*)$", v)
    if m:
        v, frac = m.group(1) + m.group(3), m.group(2)
    for fmt in (None, "%Y-%m-%d", "%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"):
        try:
            if fmt is None:
                dt = datetime.datetime.fromisoformat(v)
            else:
                dt = datetime.datetime.strptime(v, fmt)
            if dt.tzinfo is None:
                dt = dt.astimezone()
            sec = int(dt.timestamp())
            return f"{sec}.{(frac + '000000000')[:9]}"
        except ValueError:
            continue
    raise ValueError(f'failed to parse value as time or duration: "{value}"')
