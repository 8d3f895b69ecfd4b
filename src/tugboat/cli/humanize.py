"""docker's go-units humanizers, bit for bit: sizes ("4.26MB", decimal, 3 significant digits),
binary sizes ("23.54GiB") and durations ("2 weeks"), which ps/images/history print."""

from __future__ import annotations

import math

_DECIMAL = ["B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"]
_BINARY = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB", "ZiB", "YiB"]


def _go_g(value: float, precision: int) -> str:
    """Go's %.<p>g (same as C's for finite values)."""
    return f"{value:.{precision}g}"


def human_size(size: float, precision: int = 3) -> str:
    """units.HumanSizeWithPrecision: 1000-based units."""
    i = 0
    while size >= 1000.0 and i < len(_DECIMAL) - 1:
        size /= 1000.0
        i += 1
    return _go_g(size, precision) + _DECIMAL[i]


def bytes_size(size: float) -> str:
    """units.BytesSize: 1024-based units, 4 significant digits."""
    i = 0
    while size >= 1024.0 and i < len(_BINARY) - 1:
        size /= 1024.0
        i += 1
    return _go_g(size, 4) + _BINARY[i]


def human_duration(seconds_f: float) -> str:
    """units.HumanDuration."""
    seconds = int(seconds_f)
    if seconds < 1:
        return "Less than a second"
    if seconds == 1:
        return "1 second"
    if seconds < 60:
        return f"{seconds} seconds"
    minutes = int(seconds_f / 60)
    if minutes == 1:
        return "About a minute"
    if minutes < 60:
        return f"{minutes} minutes"
    hours = int(math.floor(seconds_f / 3600 + 0.5))  # math.Round: half away from zero
    if hours == 1:
        return "About an hour"
    if hours < 48:
        return f"{hours} hours"
    if hours < 24 * 7 * 2:
        return f"{hours // 24} days"
    if hours < 24 * 30 * 2:
        return f"{hours // 24 // 7} weeks"
    if hours < 24 * 365 * 2:
        return f"{hours // 24 // 30} months"
    return f"{int(seconds_f / 3600) // 24 // 365} years"


def ago(unix_seconds: float, now: float | None = None) -> str:
    import time
    now = time.time() if now is None else now
    return human_duration(now - unix_seconds) + " ago"


def go_time_string(unix_seconds: float) -> str:
    """time.Unix(s, 0).String() in local time: "2026-11-22 17:20:31 +0000 UTC"."""
    import time
    t = time.localtime(int(unix_seconds))
    return time.strftime("%Y-%m-%d %H:%M:%S %z %Z", t)
