"""`tug events`: the daemon's event stream, printed as docker/cli cli/command/system/events.go
prints it ("<time> <type> <action> <actor id> (k=v, ...)", time in local RFC 3339 with fixed
nanoseconds) or through --format."""

from __future__ import annotations

import datetime
from typing import Any

from tugboat.cli.context import Context
from tugboat.cli.filters import FilterError, parse_filters
from tugboat.cli.flags import L, S, Spec, parse
from tugboat.cli.gotemplate import GoMap, Struct, Template, TemplateError
from tugboat.client.errors import APIError, DaemonUnreachable


class EventStruct(Struct):
    """events.Message: Go field names over the JSON keys."""

    aliases = {"Status": "status", "ID": "id", "From": "from", "Scope": "scope", "Time": "time",
               "TimeNano": "timeNano"}


def fixed_time(ns: int) -> str:
    """Go's "2006-01-02T15:04:05.000000000Z07:00" in local time."""
    dt = datetime.datetime.fromtimestamp(ns // 1_000_000_000).astimezone()
    off = dt.utcoffset() or datetime.timedelta(0)
    mins = int(off.total_seconds()) // 60
    zone = "Z" if mins == 0 else f"{'+' if mins > 0 else '-'}{abs(mins) // 60:02d}:{abs(mins) % 60:02d}"
    return dt.strftime("%Y-%m-%dT%H:%M:%S") + f".{ns % 1_000_000_000:09d}" + zone


def pretty(ev: dict[str, Any]) -> str:
    ns = int(ev.get("timeNano") or 0) or int(ev.get("time") or 0) * 1_000_000_000
    actor = ev.get("Actor") or {}
    line = (f"{fixed_time(ns)} " if ns else "") + f"{ev.get('Type', '')} {ev.get('Action', '')} {actor.get('ID', '')}"
    attrs = actor.get("Attributes") or {}
    if attrs:
        line += " (" + ", ".join(f"{k}={attrs[k]}" for k in sorted(attrs)) + ")"
    return line


def _templated(ev: dict[str, Any]) -> EventStruct:
    actor = dict(ev.get("Actor") or {})
    actor["Attributes"] = GoMap(actor.get("Attributes") or {})
    return EventStruct({**ev, "Actor": Struct(actor)})


def events(ctx: Context, argv: list[str], path: str) -> int:
    spec = Spec(path, f"docker {path} [OPTIONS]", "Get real time events from the server", [
        L("filter", "f", "Filter output based on conditions provided", metavar="filter"),
        S("format", help="Format output using a custom template"),
        S("since", help="Show all events created since timestamp"),
        S("until", help="Stream events until this timestamp"),
    ], 0, 0)
    opts, _ = parse(spec, argv)
    from tugboat.cli.timeparse import get_timestamp
    try:
        filters = parse_filters(opts["filter"] or [])
        since = get_timestamp(opts["since"]) if opts["since"] else None
        until = get_timestamp(opts["until"]) if opts["until"] else None
    except (FilterError, ValueError) as e:
        ctx.eprint(str(e))
        return 125
    fmt = opts["format"] or ""
    tmpl = None
    if fmt:
        try:
            tmpl = Template("{{json .}}" if fmt == "json" else fmt)
        except TemplateError as e:
            ctx.eprint(f"Error parsing format: {e}")
            return 64
    try:
        resp = ctx.client.events.stream(since, until, filters)  # type: ignore[arg-type]
        for ev in resp.iter_json():
            if tmpl is None:
                ctx.out.write(pretty(ev) + "\n")
            else:
                ctx.out.write(tmpl.execute(_templated(ev)) + "\n")
            ctx.out.flush()
    except (APIError, DaemonUnreachable) as e:
        ctx.daemon_error(e)
        return 1
    except TemplateError as e:
        ctx.eprint(str(e))
        return 1
    except KeyboardInterrupt:
        return 130
    return 0
