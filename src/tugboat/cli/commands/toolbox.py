"""Commands on one container's insides and state: pause, unpause, rename, top, diff.

Output and exit codes as docker 28 against dockerd 20.10: pause/unpause echo each name as
given and report failures per container (exit 1 if any failed); rename adds docker's
"Error: failed to rename container named X" line.
"""

from __future__ import annotations

from tugboat.cli.bulk import for_each
from tugboat.cli.context import Context
from tugboat.cli.flags import Spec, parse
from tugboat.client.errors import APIError, DaemonUnreachable


def pause(ctx: Context, argv: list[str], path: str) -> int:
    spec = Spec(path, f"docker {path} CONTAINER [CONTAINER...]",
                "Pause all processes within one or more containers", [], 1, -1)
    _, args = parse(spec, argv)
    return for_each(ctx, args, ctx.client.containers.pause)


def unpause(ctx: Context, argv: list[str], path: str) -> int:
    spec = Spec(path, f"docker {path} CONTAINER [CONTAINER...]",
                "Unpause all processes within one or more containers", [], 1, -1)
    _, args = parse(spec, argv)
    return for_each(ctx, args, ctx.client.containers.unpause)


def rename(ctx: Context, argv: list[str], path: str) -> int:
    spec = Spec(path, f"docker {path} CONTAINER NEW_NAME", "Rename a container", [], 2, 2)
    _, args = parse(spec, argv)
    old, new = args[0].strip(), args[1].strip()
    if not old or not new:
        ctx.eprint("Error: Neither old nor new names may be empty")
        return 1
    try:
        ctx.client.containers.rename(old, new)
    except (APIError, DaemonUnreachable) as e:
        ctx.daemon_error(e)
        ctx.eprint(f"Error: failed to rename container named {old}")
        return 1
    return 0


def top(ctx: Context, argv: list[str], path: str) -> int:
    spec = Spec(path, f"docker {path} CONTAINER [ps OPTIONS]",
                "Display the running processes of a container", [], 1, -1, interspersed=False)
    _, args = parse(spec, argv)
    try:
        procs = ctx.client.containers.top(args[0], " ".join(args[1:]) or None)
    except (APIError, DaemonUnreachable) as e:
        ctx.daemon_error(e)
        return 1
    from tugboat.cli.table import tabwrite
    lines = ["\t".join(procs.get("Titles") or [])]
    lines += ["\t".join(p) for p in procs.get("Processes") or []]
    ctx.out.write(tabwrite("\n".join(lines) + "\n", minwidth=20))
    return 0


_KIND = {0: "C", 1: "A", 2: "D"}


def diff(ctx: Context, argv: list[str], path: str) -> int:
    spec = Spec(path, f"docker {path} CONTAINER",
                "Inspect changes to files or directories on a container's filesystem",
                [], 1, 1)
    _, args = parse(spec, argv)
    try:
        changes = ctx.client.containers.changes(args[0]) or []
    except (APIError, DaemonUnreachable) as e:
        ctx.daemon_error(e)
        return 1
    for ch in changes:
        ctx.print(f"{_KIND.get(ch.get('Kind', 0), '?')} {ch.get('Path', '')}")
    return 0
