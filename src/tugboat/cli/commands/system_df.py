"""`system df [-v] [--format]`: docker's disk usage summary and its verbose sections.

The numbers are computed client-side from GET /system/df exactly as docker's formatter
(cli/command/formatter/disk_usage.go) does: images are "active" when a container uses them and
their reclaimable space is LayersSize minus what active images use alone; containers are active
when running, paused or restarting and only SizeRw counts; volumes are active with a RefCount;
build cache records count unless in use and not shared.
"""

from __future__ import annotations

import time

from tugboat.cli import formatter as fm
from tugboat.cli.context import Context
from tugboat.cli.flags import B, S, Spec, parse
from tugboat.cli.humanize import ago, human_size
from tugboat.client.errors import APIError, DaemonUnreachable

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

SUMMARY_TITLES = {"Type": "TYPE", "TotalCount": "TOTAL", "Active": "ACTIVE", "Size": "SIZE",
                  "Reclaimable": "RECLAIMABLE"}
SUMMARY_TABLE = "table {{.Type}}\t{{.TotalCount}}\t{{.Active}}\t{{.Size}}\t{{.Reclaimable}}"
SUMMARY_RAW = "type: {{.Type}}\ntotal: {{.TotalCount}}\nactive: {{.Active}}\nsize: {{.Size}}\n" \
              "reclaimable: {{.Reclaimable}}\n"
IMAGES_TABLE = "table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}\t{{.SharedSize}}\t" \
               "{{.UniqueSize}}\t{{.Containers}}"
CONTAINERS_TABLE = "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.LocalVolumes}}\t{{.Size}}\t{{.RunningFor}}\t" \
                   "{{.Status}}\t{{.Names}}"
VOLUMES_TABLE = "table {{.Name}}\t{{.Links}}\t{{.Size}}"
CACHE_TITLES = {"ID": "CACHE ID", "CacheType": "CACHE TYPE", "Size": "SIZE", "CreatedSince": "CREATED",
                "LastUsedSince": "LAST USED", "UsageCount": "USAGE", "Shared": "SHARED",
                "Description": "DESCRIPTION", "InUse": "IN USE", "CreatedAt": "CREATED AT"}
CACHE_TABLE = "table {{.ID}}\t{{.CacheType}}\t{{.Size}}\t{{.CreatedSince}}\t{{.LastUsedSince}}\t" \
              "{{.UsageCount}}\t{{.Shared}}"


def _size(n: float) -> str:
    """units.HumanSize (4 significant digits)."""
    return human_size(n, 4)


def _reclaimable(reclaimable: int, total: int) -> str:
    if total > 0:
        return f"{_size(reclaimable)} ({reclaimable * 100 // total}%)"
    return _size(reclaimable)


class SummaryRow:
    """One line of the summary table (docker's diskUsage{Images,Containers,Volumes,Builder}Context)."""

    def __init__(self, go_type: str, kind: str, total: int, active: int, size: str, reclaimable: str) -> None:
        self.go_type = go_type
        self._values = {"Type": kind, "TotalCount": str(total), "Active": str(active), "Size": size,
                        "Reclaimable": reclaimable}

    def Type(self) -> str:
        return self._values["Type"]

    def TotalCount(self) -> str:
        return self._values["TotalCount"]

    def Active(self) -> str:
        return self._values["Active"]

    def Size(self) -> str:
        return self._values["Size"]

    def Reclaimable(self) -> str:
        return self._values["Reclaimable"]

    def to_json(self) -> dict[str, str]:
        return {k: self._values[k] for k in sorted(self._values)}


def _active_container(c: dict[str, Any]) -> bool:
    state = str(c.get("State") or "")
    return any(s in state for s in ("running", "paused", "restarting"))


def summary_rows(du: dict[str, Any]) -> list[SummaryRow]:
    images = du.get("Images") or []
    layers = int(du.get("LayersSize") or 0)
    used = sum(int(i.get("VirtualSize", i.get("Size", 0)) or 0) - int(i.get("SharedSize") or 0)
               for i in images if i.get("Containers") and i.get("VirtualSize", 0) != -1 and i.get("SharedSize") != -1)
    rows = [SummaryRow("*formatter.diskUsageImagesContext", "Images", len(images),
                       sum(1 for i in images if (i.get("Containers") or 0) > 0), _size(layers),
                       _reclaimable(layers - used, layers))]
    containers = du.get("Containers") or []
    total = sum(int(c.get("SizeRw") or 0) for c in containers)
    idle = sum(int(c.get("SizeRw") or 0) for c in containers if not _active_container(c))
    rows.append(SummaryRow("*formatter.diskUsageContainersContext", "Containers", len(containers),
                           sum(1 for c in containers if _active_container(c)), _size(total),
                           _reclaimable(idle, total)))
    volumes = du.get("Volumes") or []
    sizes = [(int((v.get("UsageData") or {}).get("Size", -1)), int((v.get("UsageData") or {}).get("RefCount", 0)))
             for v in volumes]
    vtotal = sum(s for s, _ in sizes if s != -1)
    vfree = sum(s for s, refs in sizes if s != -1 and refs == 0)
    rows.append(SummaryRow("*formatter.diskUsageVolumesContext", "Local Volumes", len(volumes),
                           sum(1 for _, refs in sizes if refs > 0), _size(vtotal), _reclaimable(vfree, vtotal)))
    cache = du.get("BuildCache") or []
    builder = sum(int(b.get("Size") or 0) for b in cache if not b.get("Shared"))
    in_use = sum(int(b.get("Size") or 0) for b in cache if b.get("InUse") and not b.get("Shared"))
    rows.append(SummaryRow("*formatter.diskUsageBuilderContext", "Build Cache", len(cache),
                           sum(1 for b in cache if b.get("InUse")), _size(builder), _size(builder - in_use)))
    return rows


class CacheRow:
    """docker's buildCacheContext."""

    go_type = "*formatter.buildCacheContext"

    def __init__(self, b: dict[str, Any], trunc: bool, now: float) -> None:
        self.b, self.trunc, self.now = b, trunc, now

    def ID(self) -> str:
        i = str(self.b.get("ID") or "")
        return (i[:12] + ("*" if self.b.get("InUse") else "")) if self.trunc else i

    def CacheType(self) -> str:
        return str(self.b.get("Type") or "")

    def Description(self) -> str:
        return str(self.b.get("Description") or "")

    def Size(self) -> str:
        return human_size(int(self.b.get("Size") or 0))

    def _since(self, key: str) -> str:
        from tugboat.api.timefmt import parse_rfc3339
        value = self.b.get(key)
        return ago(parse_rfc3339(value) / 1e9, self.now) if value else ""

    def CreatedAt(self) -> str:
        return str(self.b.get("CreatedAt") or "")

    def CreatedSince(self) -> str:
        return self._since("CreatedAt")

    def LastUsedSince(self) -> str:
        return self._since("LastUsedAt")

    def UsageCount(self) -> str:
        return str(self.b.get("UsageCount") or 0)

    def InUse(self) -> str:
        return str(bool(self.b.get("InUse"))).lower()

    def Shared(self) -> str:
        return str(bool(self.b.get("Shared"))).lower()

    def to_json(self) -> dict[str, str]:
        return {k: getattr(self, k)() for k in sorted(CACHE_TITLES)}


def _dangling(i: dict[str, Any]) -> bool:
    return (i.get("RepoTags") or []) == ["<none>:<none>"] and (i.get("RepoDigests") or []) == ["<none>@<none>"]


def verbose_rows(du: dict[str, Any], trunc: bool) -> dict[str, list[Any]]:
    from tugboat.cli.commands.volume import VolumeRow
    now = time.time()
    images = []
    for i in du.get("Images") or []:
        repo = tag = "<none>"
        tags = i.get("RepoTags") or []
        if tags and not _dangling(i):
            name, tag = fm.split_repo_tag(tags[0])
            repo = fm.familiar_name(name)
            if not tag:
                repo, tag = "<none>", "<none>"
        images.append(fm.ImageRow(i, repo, tag, "", trunc, now))
    containers = [fm.ContainerRow({**c, "SizeRootFs": 0}, trunc, now) for c in du.get("Containers") or []]
    volumes = [VolumeRow(v) for v in du.get("Volumes") or []]
    cache = sorted(du.get("BuildCache") or [], key=lambda b: (str(b.get("LastUsedAt") or ""), str(b.get("ID"))),
                   reverse=True)
    return {"Images": images, "Containers": containers, "Volumes": volumes,
            "BuildCache": [CacheRow(b, trunc, now) for b in cache]}


def _verbose_table(out: Any, du: dict[str, Any]) -> None:
    from tugboat.cli.commands.volume import VOLUME_TITLES, VolumeRow
    rows = verbose_rows(du, trunc=True)
    out.write("Images space usage:\n\n")
    fm.render_rows(IMAGES_TABLE, rows["Images"], fm.IMAGE_TITLES, out)
    out.write("\nContainers space usage:\n\n")
    fm.render_rows(CONTAINERS_TABLE, rows["Containers"], fm.CONTAINER_TITLES, out)
    out.write("\nLocal Volumes space usage:\n\n")
    fm.render_rows(VOLUMES_TABLE, rows["Volumes"], VOLUME_TITLES, out, probe=VolumeRow({}))
    cache_size = sum(int(b.get("Size") or 0) for b in du.get("BuildCache") or [] if not b.get("Shared"))
    out.write(f"\nBuild cache usage: {_size(cache_size)}\n\n")
    fm.render_rows(CACHE_TABLE, rows["BuildCache"], CACHE_TITLES, out)


def df(ctx: Context, argv: list[str], path: str) -> int:
    spec = Spec(path, f"docker {path} [OPTIONS]", "Show docker disk usage", [
        S("format", help="Format output using a custom template"),
        B("verbose", "v", "Show detailed information on space usage"),
    ], 0, 0)
    opts, _ = parse(spec, argv)
    try:
        du = ctx.client.system.df()
    except (APIError, DaemonUnreachable) as e:
        ctx.daemon_error(e)
        return 1
    fmt = opts["format"] or fm.TABLE
    try:
        if not opts["verbose"]:
            tmpl = {fm.TABLE: SUMMARY_TABLE, "json": "{{json .}}", "raw": SUMMARY_RAW}.get(fmt, fmt)
            fm.render_rows(tmpl, summary_rows(du), SUMMARY_TITLES, ctx.out, errors=fm.IMAGE_ERRORS)
        elif fmt == fm.TABLE:
            _verbose_table(ctx.out, du)
        else:
            return _verbose_template(ctx, du, fmt)
    except fm.FormatError as e:
        ctx.out.flush()
        ctx.eprint(str(e))
        return 1
    return 0


def _verbose_template(ctx: Context, du: dict[str, Any], fmt: str) -> int:
    """A -v template runs once on the whole {Images, Containers, Volumes, BuildCache} context."""
    from tugboat.cli.gotemplate import Struct, Template, TemplateError

    class DiskUsageContext(Struct):
        go_type = "*formatter.diskUsageContext"

        def to_json(self) -> dict[str, Any]:
            return dict(self)

    if fmt == "json":
        fmt = "{{json .}}"     # docker writes no newline after a -v template
    _, text = fm.expand_format(fmt)
    try:
        tmpl = Template(text)
        ctx.out.write(tmpl.execute(DiskUsageContext(verbose_rows(du, trunc=fmt.startswith(fm.TABLE)))))
    except TemplateError as e:
        ctx.out.flush()
        ctx.eprint(str(e))
        return 1
    return 0
