"""Image commands: images, rmi, tag, import, save, load, history, image prune."""

from __future__ import annotations

import sys

from tugboat.cli.context import Context
from tugboat.cli.flags import B, L, S, Spec, parse
from tugboat.cli.jsonmessage import show
from tugboat.client.errors import APIError, DaemonUnreachable

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

FORMAT_HELP = "Format output using a custom template"
TERMINAL_REFUSAL = "cowardly refusing to save to a terminal. Use the -o flag or redirect"


def images(ctx: Context, argv: list[str], path: str) -> int:
    spec = Spec(path, f"docker {path} [OPTIONS] [REPOSITORY[:TAG]]", "List images", [
        B("all", "a", "Show all images (default hides intermediate images)"),
        B("digests", help="Show digests"),
        L("filter", "f", "Filter output based on conditions provided", metavar="filter"),
        S("format", help=FORMAT_HELP),
        B("no-trunc", help="Don't truncate output"),
        B("quiet", "q", "Only show image IDs"),
    ], 0, 1)
    opts, args = parse(spec, argv)
    from tugboat.cli.filters import filter_flag
    filters = filter_flag(opts["filter"], spec)
    if args:
        filters.setdefault("reference", {})[args[0]] = True
    from tugboat.cli import formatter as fm
    default = fm.IMAGE_TABLE_DIGESTS if opts["digests"] else fm.IMAGE_TABLE
    tmpl = fm.resolve_format(opts["format"], default, "{{.ID}}", opts["quiet"])
    try:
        imgs = ctx.client.images.list(all=opts["all"], filters=filters)
    except APIError as e:
        ctx.daemon_error(e)
        return 1
    trunc = not opts["no_trunc"]
    rows = fm.image_rows(imgs, opts["digests"], trunc)
    try:
        fm.render_rows(tmpl, rows, fm.IMAGE_TITLES, ctx.out, probe=fm.ImageRow({}, "", "", "", trunc),
                       errors=fm.IMAGE_ERRORS)
    except fm.FormatError as e:
        ctx.eprint(str(e))
        return 1
    return 0


def rmi(ctx: Context, argv: list[str], path: str) -> int:
    spec = Spec(path, f"docker {path} [OPTIONS] IMAGE [IMAGE...]", "Remove one or more images", [
        B("force", "f", "Force removal of the image"),
        B("no-prune", help="Do not delete untagged parents"),
    ], 1, -1)
    opts, args = parse(spec, argv)

    def remove(name: str) -> None:
        for it in ctx.client.images.remove(name, opts["force"], opts["no_prune"]):
            if it.get("Untagged"):
                ctx.print(f"Untagged: {it['Untagged']}")
            if it.get("Deleted"):
                ctx.print(f"Deleted: {it['Deleted']}")
    from tugboat.cli.bulk import for_each
    return for_each(ctx, args, remove, echo=False)


def _split_target(ref: str) -> tuple[str, str | None]:
    from tugboat.cli.formatter import split_repo_tag
    repo, tag = split_repo_tag(ref)
    return repo, tag or None


def tag(ctx: Context, argv: list[str], path: str) -> int:
    spec = Spec(path, f"docker {path} SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]",
                "Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE", [], 2, 2)
    _, args = parse(spec, argv)
    repo, t = _split_target(args[1])
    try:
        ctx.client.images.tag(args[0], repo, t)
    except (APIError, DaemonUnreachable) as e:
        ctx.daemon_error(e)
        return 1
    return 0


def import_(ctx: Context, argv: list[str], path: str) -> int:
    spec = Spec(path, f"docker {path} [OPTIONS] file|URL|- [REPOSITORY[:TAG]]",
                "Import the contents from a tarball to create a filesystem image", [
                    L("change", "c", "Apply Dockerfile instruction to the created image"),
                    S("message", "m", "Set commit message for imported image"),
                    S("platform", help="Set platform if server is multi-platform capable"),
                ], 1, 2)
    opts, args = parse(spec, argv)
    src = args[0]
    params: dict[str, Any] = {"fromSrc": "-", "message": opts["message"] or None,
                              "platform": opts["platform"] or None, "changes": opts["change"] or None}
    if len(args) > 1:
        repo, t = _split_target(args[1])
        params["repo"] = repo
        params["tag"] = t
    body: Any = None
    f = None
    try:
        if src == "-":
            from tugboat.client.transport import chunks_of
            body = chunks_of(sys.stdin.buffer)
        elif "://" in src:
            params["fromSrc"] = src
        else:
            try:
                f = open(src, "rb")
            except OSError as e:
                ctx.eprint(f"open {src}: {(e.strerror or str(e)).lower()}")
                return 1
            from tugboat.client.transport import chunks_of
            body = chunks_of(f)
        try:
            resp = ctx.client.images.create(params, body, {"Content-Type": "application/x-tar"})
        except (APIError, DaemonUnreachable) as e:
            ctx.daemon_error(e)
            return 1
        return show(ctx, resp, ctx.out)
    finally:
        if f is not None:
            f.close()


def save(ctx: Context, argv: list[str], path: str) -> int:
    spec = Spec(path, f"docker {path} [OPTIONS] IMAGE [IMAGE...]",
                "Save one or more images to a tar archive (streamed to STDOUT by default)", [
                    S("output", "o", "Write to a file, instead of STDOUT"),
                    S("platform", help="Save only the given platform variant", hidden=True),
                ], 1, -1)
    opts, args = parse(spec, argv)
    if not opts["output"] and sys.stdout.isatty():
        ctx.eprint(TERMINAL_REFUSAL)
        return 1
    try:
        resp = ctx.client.images.save(args)
    except (APIError, DaemonUnreachable) as e:
        ctx.daemon_error(e)
        return 1
    from tugboat.cli.streams import write_stream
    return write_stream(ctx, resp.iter_chunks(), opts["output"])


def load(ctx: Context, argv: list[str], path: str) -> int:
    spec = Spec(path, f"docker {path} [OPTIONS]", "Load an image from a tar archive or STDIN", [
        S("input", "i", "Read from tar archive file, instead of STDIN"),
        B("quiet", "q", "Suppress the load output"),
    ], 0, 0)
    opts, _ = parse(spec, argv)
    from tugboat.client.transport import chunks_of
    if opts["input"]:
        try:
            f: Any = open(opts["input"], "rb")
        except OSError as e:
            ctx.eprint(f"open {opts['input']}: {(e.strerror or str(e)).lower()}")
            return 1
    else:
        if sys.stdin.isatty():
            ctx.eprint("requested load from stdin, but stdin is empty")
            return 1
        f = sys.stdin.buffer
    try:
        try:
            resp = ctx.client.images.load(chunks_of(f), quiet=True if opts["quiet"] else not sys.stdout.isatty())
        except (APIError, DaemonUnreachable) as e:
            ctx.daemon_error(e)
            return 1
        return show(ctx, resp, ctx.out)
    finally:
        if f is not sys.stdin.buffer:
            f.close()


def history(ctx: Context, argv: list[str], path: str) -> int:
    spec = Spec(path, f"docker {path} [OPTIONS] IMAGE", "Show the history of an image", [
        S("format", help=FORMAT_HELP),
        B("human", "H", "Print sizes and dates in human readable format"),
        B("no-trunc", help="Don't truncate output"),
        B("quiet", "q", "Only show image IDs"),
    ], 1, 1)
    for f in spec.flags:
        if f.long == "human":
            f.default = True
    opts, args = parse(spec, argv)
    try:
        hist = ctx.client.images.history(args[0])
    except (APIError, DaemonUnreachable) as e:
        ctx.daemon_error(e)
        return 1
    from tugboat.cli import formatter as fm
    tmpl = fm.resolve_format(opts["format"], fm.HISTORY_TABLE, "{{.ID}}", opts["quiet"])
    trunc = not opts["no_trunc"]
    rows = [fm.HistoryRow(h, trunc, bool(opts["human"])) for h in hist]
    try:
        titles = fm.HISTORY_TITLES if opts["human"] else {**fm.HISTORY_TITLES, "CreatedSince": "CREATED AT"}
        fm.render_rows(tmpl, rows, titles, ctx.out, probe=fm.HistoryRow({}, trunc, True),
                       errors=fm.IMAGE_ERRORS)
    except fm.FormatError as e:
        ctx.eprint(str(e))
        return 1
    return 0


def prune(ctx: Context, argv: list[str], path: str) -> int:
    spec = Spec(path, f"docker {path} [OPTIONS]", "Remove unused images", [
        B("all", "a", "Remove all unused images, not just dangling ones"),
        L("filter", help='Provide filter values (e.g. "until=<timestamp>")', metavar="filter"),
        B("force", "f", "Do not prompt for confirmation"),
    ], 0, 0)
    opts, _ = parse(spec, argv)
    from tugboat.cli import prune as pr
    warning = ("WARNING! This will remove all images without at least one container associated to them."
               if opts["all"] else "WARNING! This will remove all dangling images.")
    if not opts["force"] and not pr.confirmed(sys.stdout, f"{warning}\n{pr.CONTINUE}"):
        return 0
    from tugboat.cli.filters import parse_filters
    filters = parse_filters(opts["filter"])
    filters.setdefault("dangling", {})["false" if opts["all"] else "true"] = True
    try:
        report = ctx.client.images.prune(filters)
    except (APIError, DaemonUnreachable) as e:
        ctx.daemon_error(e)
        return 1
    lines = [f"{k.lower()}: {d[k]}" for d in report.get("ImagesDeleted") or []
             for k in ("Untagged", "Deleted") if d.get(k)]
    pr.print_report(ctx, "Images", lines, report.get("SpaceReclaimed") or 0)
    return 0

