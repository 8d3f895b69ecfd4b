"""`system prune [-a] [--volumes] [-f] [--filter]`: docker's CLI composes it from the prune endpoints
(cli/command/system/prune.go): containers, networks, volumes (with --volumes), images (dangling, or
every unused one with -a) and the build cache, in that order, each printing what it deleted, then the
total reclaimed space."""

from __future__ import annotations

from tugboat.cli.context import Context
from tugboat.cli.flags import B, L, Spec, parse
from tugboat.cli.humanize import total_reclaimed
from tugboat.cli.prune import CONTINUE, confirmed, listing
from tugboat.client.errors import APIError, DaemonUnreachable

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    Filters = dict[str, dict[str, bool]]


def confirmation(all: bool, volumes: bool, filters: Filters) -> str:
    warnings = ["all stopped containers", "all networks not used by at least one container"]
    if volumes:
        warnings.append("all anonymous volumes not used by at least one container")
    warnings.append("all images without at least one container associated to them" if all
                    else "all dangling images")
    warnings.append("all build cache" if all else "unused build cache")
    text = "WARNING! This will remove:\n" + "".join(f"  - {w}\n" for w in warnings)
    shown = sorted(f"{k}={v}" for k, vals in filters.items() for v in vals)
    if shown:
        text += "\n  Items to be pruned will be filtered with:\n" + "".join(f"  - {f}\n" for f in shown)
    return text + "\n" + CONTINUE


def _containers(ctx: Context, all: bool, filters: Filters) -> tuple[int, str]:
    report = ctx.client.containers.prune(filters)
    deleted = report.get("ContainersDeleted") or []
    return (int(report.get("SpaceReclaimed") or 0) if deleted else 0), listing("Containers", deleted)


def _networks(ctx: Context, all: bool, filters: Filters) -> tuple[int, str]:
    report = ctx.client.networks.prune(filters)
    return 0, listing("Networks", report.get("NetworksDeleted") or [])


def _volumes(ctx: Context, all: bool, filters: Filters) -> tuple[int, str]:
    report = ctx.client.volumes.prune(filters)
    deleted = report.get("VolumesDeleted") or []
    return (int(report.get("SpaceReclaimed") or 0) if deleted else 0), listing("Volumes", deleted)


def _images(ctx: Context, all: bool, filters: Filters) -> tuple[int, str]:
    wanted = {k: dict(v) for k, v in filters.items()}
    wanted.setdefault("dangling", {})["false" if all else "true"] = True
    report = ctx.client.images.prune(wanted)
    deleted = report.get("ImagesDeleted") or []
    if not deleted:
        return 0, ""
    lines = [f"untagged: {d['Untagged']}" if d.get("Untagged") else f"deleted: {d.get('Deleted', '')}"
             for d in deleted]
    return int(report.get("SpaceReclaimed") or 0), listing("Images", lines)


def _build_cache(ctx: Context, all: bool, filters: Filters) -> tuple[int, str]:
    report = ctx.client.images.build_prune(all, filters)
    deleted = report.get("CachesDeleted") or []
    return int(report.get("SpaceReclaimed") or 0), listing("build cache objects", deleted)


def prune(ctx: Context, argv: list[str], path: str) -> int:
    spec = Spec(path, f"docker {path} [OPTIONS]", "Remove unused data", [
        B("all", "a", "Remove all unused images not just dangling ones"),
        L("filter", help='Provide filter values (e.g. "label=<key>=<value>")', metavar="filter"),
        B("force", "f", "Do not prompt for confirmation"),
        B("volumes", help="Prune anonymous volumes"),
    ], 0, 0)
    opts, _ = parse(spec, argv)
    from tugboat.cli.filters import filter_flag
    filters = filter_flag(opts["filter"], spec)
    if opts["volumes"] and "until" in filters:
        ctx.eprint('ERROR: The "until" filter is not supported with "--volumes"')
        return 1
    if not opts["force"] and not confirmed(ctx.out, confirmation(opts["all"], opts["volumes"], filters)):
        return 0
    steps: list[Any] = [_containers, _networks] + ([_volumes] if opts["volumes"] else []) + [_images, _build_cache]
    reclaimed = 0
    for step in steps:
        try:
            space, output = step(ctx, opts["all"], filters)
        except (APIError, DaemonUnreachable) as e:
            ctx.out.flush()
            ctx.daemon_error(e)
            return 1
        reclaimed += space
        if output:
            ctx.print(output)
    ctx.print(total_reclaimed(reclaimed))
    return 0
