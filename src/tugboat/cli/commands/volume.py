"""`volume create|ls|inspect|rm|prune`: docker's volume commands, flags and output."""

from __future__ import annotations

import sys

from tugboat.cli.context import Context
from tugboat.cli.flags import B, L, S, Spec, UsageError, parse
from tugboat.client.errors import APIError, DaemonUnreachable

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

FORMAT_HELP = "Format output using a custom template"
VOLUME_TITLES = {"Name": "VOLUME NAME", "Driver": "DRIVER", "Scope": "SCOPE", "Mountpoint": "MOUNTPOINT",
                 "Labels": "LABELS", "Links": "LINKS", "Size": "SIZE", "Group": "GROUP",
                 "Availability": "AVAILABILITY", "Status": "STATUS"}
VOLUME_TABLE = "table {{.Driver}}\t{{.Name}}"
PRUNE_WARNING = "WARNING! This will remove all local volumes not used by at least one container."


class VolumeRow:
    """docker's volumeContext: the fields `volume ls --format` can use."""

    go_type = "formatter.volumeContext"

    def __init__(self, v: dict[str, Any]) -> None:
        self.v = v

    def Name(self) -> str:
        return str(self.v.get("Name", ""))

    def Driver(self) -> str:
        return str(self.v.get("Driver", ""))

    def Scope(self) -> str:
        return str(self.v.get("Scope", ""))

    def Mountpoint(self) -> str:
        return str(self.v.get("Mountpoint", ""))

    def Labels(self) -> str:
        labels = self.v.get("Labels") or {}
        return ",".join(f"{k}={v}" for k, v in sorted(labels.items()))

    def Label(self, name: str) -> str:
        return str((self.v.get("Labels") or {}).get(name, ""))

    def Links(self) -> str:
        usage = self.v.get("UsageData")
        return str(usage["RefCount"]) if usage else "N/A"

    def Size(self) -> str:
        usage = self.v.get("UsageData")
        if not usage or usage.get("Size", -1) < 0:
            return "N/A"
        from tugboat.cli.humanize import human_size
        return human_size(usage["Size"])

    def Group(self) -> str:
        return "N/A"

    def Availability(self) -> str:
        return "N/A"

    def Status(self) -> str:
        return "N/A"

    def to_json(self) -> dict[str, Any]:
        return {k: getattr(self, k)() for k in sorted(VOLUME_TITLES)}


def _key_values(values: list[str]) -> dict[str, str]:
    out = {}
    for v in values:
        k, _, val = v.partition("=")
        out[k] = val
    return out


def create(ctx: Context, argv: list[str], path: str) -> int:
    spec = Spec(path, f"docker {path} [OPTIONS] [VOLUME]", "Create a volume", [
        S("driver", "d", 'Specify volume driver name', default="local"),
        L("label", help="Set metadata for a volume"),
        S("name", help="Specify volume name", hidden=True),
        L("opt", "o", "Set driver specific options", metavar="map"),
    ], 0, 1)
    opts, args = parse(spec, argv)
    if args and opts["name"]:
        raise UsageError("conflicting options: either specify --name or provide positional arg, not both",
                         spec)
    try:
        vol = ctx.client.volumes.create(args[0] if args else opts["name"], opts["driver"],
                                        _key_values(opts["opt"]), _key_values(opts["label"]))
    except (APIError, DaemonUnreachable) as e:
        ctx.daemon_error(e)
        return 1
    ctx.print(vol.get("Name", ""))
    return 0


def ls(ctx: Context, argv: list[str], path: str) -> int:
    spec = Spec(path, f"docker {path} [OPTIONS]", "List volumes", [
        L("filter", "f", 'Provide filter values (e.g. "dangling=true")', metavar="filter"),
        S("format", help=FORMAT_HELP),
        B("quiet", "q", "Only display volume names"),
    ], 0, 0, aliases="docker volume ls, docker volume list")
    opts, _ = parse(spec, argv)
    from tugboat.cli.filters import filter_flag
    filters = filter_flag(opts["filter"], spec)
    from tugboat.cli import formatter as fm
    tmpl = fm.resolve_format(opts["format"], VOLUME_TABLE, "{{.Name}}", opts["quiet"])
    try:
        vols = ctx.client.volumes.list(filters).get("Volumes") or []
    except (APIError, DaemonUnreachable) as e:
        ctx.daemon_error(e)
        return 1
    rows = [VolumeRow(v) for v in sorted(vols, key=lambda v: fm.natural_key(v.get("Name", "")))]
    try:
        fm.render_rows(tmpl, rows, VOLUME_TITLES, ctx.out, probe=VolumeRow({}), errors=fm.IMAGE_ERRORS)
    except fm.FormatError as e:
        ctx.eprint(str(e))
        return 1
    return 0


def inspect(ctx: Context, argv: list[str], path: str) -> int:
    spec = Spec(path, f"docker {path} [OPTIONS] VOLUME [VOLUME...]",
                "Display detailed information on one or more volumes", [S("format", "f", FORMAT_HELP)], 1, -1)
    opts, args = parse(spec, argv)
    from tugboat.cli.commands.inspect import inspect_each
    t = ctx.client.transport
    return inspect_each(ctx, opts["format"], args,
                        lambda name: t.request("GET", f"/volumes/{name}").read().decode().strip())


def rm(ctx: Context, argv: list[str], path: str) -> int:
    spec = Spec(path, f"docker {path} [OPTIONS] VOLUME [VOLUME...]", "Remove one or more volumes", [
        B("force", "f", "Force the removal of one or more volumes"),
    ], 1, -1, aliases="docker volume rm, docker volume remove")
    opts, args = parse(spec, argv)
    from tugboat.cli.bulk import for_each
    return for_each(ctx, args, lambda name: ctx.client.volumes.remove(name, opts["force"]))


def prune(ctx: Context, argv: list[str], path: str) -> int:
    spec = Spec(path, f"docker {path} [OPTIONS]", "Remove unused local volumes", [
        B("all", "a", "Remove all unused volumes, not just anonymous ones"),
        L("filter", help='Provide filter values (e.g. "label=<label>")', metavar="filter"),
        B("force", "f", "Do not prompt for confirmation"),
    ], 0, 0)
    opts, _ = parse(spec, argv)
    from tugboat.cli.filters import parse_filters
    filters = parse_filters(opts["filter"])
    from tugboat.cli import prune as pr
    if not opts["force"] and not pr.confirmed(sys.stdout, f"{PRUNE_WARNING}\n{pr.CONTINUE}"):
        return 0
    try:
        report = ctx.client.volumes.prune(filters)
    except (APIError, DaemonUnreachable) as e:
        ctx.daemon_error(e)
        return 1
    pr.print_report(ctx, "Volumes", report.get("VolumesDeleted") or [], report.get("SpaceReclaimed") or 0)
    return 0
