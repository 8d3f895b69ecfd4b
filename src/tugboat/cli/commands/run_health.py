"""run/create healthcheck flags: --health-cmd/-interval/-timeout/-retries/-start-period and
--no-healthcheck, turned into Config.Healthcheck as docker's CLI does (cli/command/container/opts.go):
the durations are Go durations (nanoseconds on the wire), --health-cmd becomes ["CMD-SHELL", cmd],
--no-healthcheck ["NONE"], and no flag at all leaves the image's HEALTHCHECK alone."""

from __future__ import annotations

import re
from typing import Any

from tugboat.cli.flags import B, I, S, Spec, UsageError
from tugboat.cli.timeparse import parse_go_duration

_DURATIONS = ("health_interval", "health_timeout", "health_start_period")


def flags() -> list[Any]:
    return [
        S("health-cmd", help="Command to run to check health"),
        S("health-interval", help="Time between running the check (ms|s|m|h) (default 0s)", metavar="duration"),
        I("health-retries", help="Consecutive failures needed to report unhealthy"),
        S("health-start-period", help="Start period for the container to initialize before starting "
                                      "health-retries countdown (ms|s|m|h) (default 0s)", metavar="duration"),
        S("health-timeout", help="Maximum time to allow one check to run (ms|s|m|h) (default 0s)",
          metavar="duration"),
        B("no-healthcheck", help="Disable any container-specified HEALTHCHECK"),
    ]


def _duration_ns(value: str) -> int | None:
    """Go's time.ParseDuration in nanoseconds; None if invalid."""
    if value in ("0", "+0", "-0"):
        return 0
    seconds = parse_go_duration(value)
    return None if seconds is None else int(round(seconds * 1e9))


def check_flags(opts: dict[str, Any], spec: Spec) -> None:
    """pflag's duration parsing: a bad value is a usage error."""
    for key in _DURATIONS:
        value = opts[key]
        if value is None or _duration_ns(value) is not None:
            continue
        flag = "--" + key.replace("_", "-")
        why = (f'time: missing unit in duration "{value}"' if re.fullmatch(r"[-+]?\d+(\.\d*)?", value)
               else f'time: invalid duration "{value}"')
        raise UsageError(f'invalid argument "{value}" for "{flag}" flag: {why}', spec)


def config(opts: dict[str, Any]) -> dict[str, Any] | None:
    """Config.Healthcheck from the flags, or None; ValueError with docker's message when they conflict."""
    interval, timeout, start = (_duration_ns(opts[k]) or 0 if opts[k] is not None else 0 for k in _DURATIONS)
    retries = opts["health_retries"] or 0
    have = bool(opts["health_cmd"]) or bool(interval or timeout or start or retries)
    if opts["no_healthcheck"]:
        if have:
            raise ValueError("--no-healthcheck conflicts with --health-* options")
        return {"Test": ["NONE"]}
    if not have:
        return None
    for name, value in (("interval", interval), ("timeout", timeout), ("retries", retries),
                        ("start-period", start)):
        if value < 0:
            raise ValueError(f"--health-{name} cannot be negative")
    hc: dict[str, Any] = {}
    if opts["health_cmd"]:
        hc["Test"] = ["CMD-SHELL", opts["health_cmd"]]
    fields = {"Interval": interval, "Timeout": timeout, "StartPeriod": start, "Retries": retries}
    hc.update({k: v for k, v in fields.items() if v})   # Go's omitempty
    return hc
