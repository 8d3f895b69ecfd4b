"""docker's go-units humanizers, bit for bit: sizes ("4.26MB", decimal, 3 significant digits as
ps/images/history print them; units.HumanSize's 4 for prune totals), binary sizes ("23.54GiB")
and durations ("2 weeks")."""

from __future__ import annotations

from tugboat.api.units import human_duration

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


def total_reclaimed(space: float) -> str:
    """The last line of every prune command: units.HumanSize, i.e. 4 significant digits."""
    return f"Total reclaimed space: {human_size(space, 4)}"


def ago(unix_seconds: float, now: float | None = None) -> str:
    import time
    now = time.time() if now is None else now
    return human_duration(now - unix_seconds) + " ago"


def go_time_string(unix_seconds: float) -> str:
    """time.Unix(s, 0).String() in local time: "2026-11-22 17:20:31 +0000 UTC"."""
    import time
    t = time.localtime(int(unix_seconds))
    return time.strftime("%Y-%m-%d %H:%M:%S %z %Z", t)
