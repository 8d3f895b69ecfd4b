"""`ps` / `container ls`: GET /containers/json rendered with docker's columns and --format."""

from __future__ import annotations

from tugboat.cli.context import Context
from tugboat.cli.flags import B, I, L, S, Spec, parse
from tugboat.client.errors import APIError

FORMAT_HELP = "Format output using a custom template"


def ps(ctx: Context, argv: list[str], path: str) -> int:
    spec = Spec(path, f"docker {path} [OPTIONS]", "List containers", [
        B("all", "a", "Show all containers (default shows just running)"),
        L("filter", "f", "Filter output based on conditions provided", metavar="filter"),
        S("format", help=FORMAT_HELP),
        I("last", "n", "Show n last created containers (includes all states)", default=-1),
        B("latest", "l", "Show the latest created container (includes all states)"),
        B("no-trunc", help="Don't truncate output"),
        B("quiet", "q", "Only display container IDs"),
        B("size", "s", "Display total file sizes"),
    ], 0, 0)
    opts, _ = parse(spec, argv)
    from tugboat.cli.filters import filter_flag
    filters = filter_flag(opts["filter"], spec)
    from tugboat.cli import formatter as fm
    fmt = opts["format"]
    default = fm.CONTAINER_TABLE + ("\t{{.Size}}" if opts["size"] else "")
    if opts["quiet"] and fmt:
        ctx.eprint("WARNING: Ignoring custom format, because both --format and --quiet are set.")
        fmt = None
    tmpl = fm.resolve_format(fmt, default, "{{.ID}}", opts["quiet"])
    last = opts["last"]
    if opts["latest"] and last == -1:
        last = 1
    trunc = not opts["no_trunc"]
    import time
    now = time.time()
    probe = fm.ContainerRow({}, trunc, now)
    size = bool(opts["size"])
    if not size and fmt and fmt != "json":  # docker 28 does not probe its `json` keyword
        # like docker: run the template once on an empty row to see whether it reads .Size
        try:
            fm.render_rows(tmpl, [], fm.CONTAINER_TITLES, _Null(), probe=probe)
        except fm.FormatError as e:
            ctx.eprint(str(e))
            return 1
        size = probe.size_used
    try:
        containers = ctx.client.containers.list(all=opts["all"], limit=last, size=size, filters=filters)
    except APIError as e:
        ctx.daemon_error(e)
        return 1
    rows = [fm.ContainerRow(c, trunc, now) for c in containers]
    try:
        fm.render_rows(tmpl, rows, fm.CONTAINER_TITLES, ctx.out, probe=probe)
    except fm.FormatError as e:
        ctx.eprint(str(e))
        return 1
    return 0


class _Null:
    def write(self, _: str) -> int:
        return 0
