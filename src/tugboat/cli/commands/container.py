"""Lifecycle commands on existing containers: start, stop, kill, restart, rm, wait, logs, export, prune.

Multi-target commands behave like docker: each success prints the name as given, each failure
prints `Error response from daemon: ...` to stderr, and the exit code is 1 if any failed.
"""

from __future__ import annotations

import sys

from tugboat.cli.bulk import Refused, for_each
from tugboat.cli.context import Context
from tugboat.cli.flags import B, Flag, I, L, S, Spec, parse
from tugboat.client.errors import APIError

TERMINAL_REFUSAL = "cowardly refusing to save to a terminal. Use the -o flag or redirect"


def _spec(path: str, usage: str, desc: str, flags: list[Flag], lo: int = 1, hi: int = -1) -> Spec:
    return Spec(path, usage.replace("docker NAME", f"docker {path}"), desc, flags, lo, hi)


def start(ctx: Context, argv: list[str], path: str) -> int:
    spec = _spec(path, "docker NAME [OPTIONS] CONTAINER [CONTAINER...]", "Start one or more stopped containers",
                 [B("attach", "a", "Attach STDOUT/STDERR and forward signals"),
                  S("detach-keys", help="Override the key sequence for detaching a container"),
                  B("interactive", "i", "Attach container's STDIN")])
    opts, args = parse(spec, argv)
    if opts["attach"] or opts["interactive"]:
        if len(args) > 1:
            ctx.eprint("you cannot start and attach multiple containers at once")
            return 1
        from tugboat.cli.commands.run import attach_and_start
        try:
            info = ctx.client.containers.inspect(args[0])
        except APIError as e:
            ctx.daemon_error(e)
            return 1
        auto_remove = bool((info.get("HostConfig") or {}).get("AutoRemove"))
        return attach_and_start(ctx, info, stdin=bool(opts["interactive"]),
                                condition="removed" if auto_remove else "next-exit")
    return for_each(ctx, args, ctx.client.containers.start)


def stop(ctx: Context, argv: list[str], path: str) -> int:
    spec = _spec(path, "docker NAME [OPTIONS] CONTAINER [CONTAINER...]", "Stop one or more running containers",
                 [S("signal", "s", "Signal to send to the container"),
                  I("timeout", "t", "Seconds to wait before killing the container")])
    opts, args = parse(spec, argv)
    c = ctx.client.containers
    return for_each(ctx, args, lambda n: c.stop(n, opts["timeout"], opts["signal"]))


def restart(ctx: Context, argv: list[str], path: str) -> int:
    spec = _spec(path, "docker NAME [OPTIONS] CONTAINER [CONTAINER...]", "Restart one or more containers",
                 [S("signal", "s", "Signal to send to the container"),
                  I("timeout", "t", "Seconds to wait before killing the container")])
    opts, args = parse(spec, argv)
    c = ctx.client.containers
    return for_each(ctx, args, lambda n: c.restart(n, opts["timeout"], opts["signal"]))


def kill(ctx: Context, argv: list[str], path: str) -> int:
    spec = _spec(path, "docker NAME [OPTIONS] CONTAINER [CONTAINER...]", "Kill one or more running containers",
                 [S("signal", "s", "Signal to send to the container")])
    opts, args = parse(spec, argv)
    c = ctx.client.containers
    return for_each(ctx, args, lambda n: c.kill(n, opts["signal"]))


def rm(ctx: Context, argv: list[str], path: str) -> int:
    spec = _spec(path, "docker NAME [OPTIONS] CONTAINER [CONTAINER...]", "Remove one or more containers",
                 [B("force", "f", "Force the removal of a running container (uses SIGKILL)"),
                  B("link", "l", "Remove the specified link"),
                  B("volumes", "v", "Remove anonymous volumes associated with the container")])
    opts, args = parse(spec, argv)
    c = ctx.client.containers

    def remove(n: str) -> None:
        if not n.strip("/"):
            raise Refused("Container name cannot be empty")
        c.remove(n.strip("/"), opts["force"], opts["volumes"], opts["link"])
    return for_each(ctx, args, remove)


def wait(ctx: Context, argv: list[str], path: str) -> int:
    spec = _spec(path, "docker NAME CONTAINER [CONTAINER...]",
                 "Block until one or more containers stop, then print their exit codes", [])
    _, args = parse(spec, argv)
    c = ctx.client.containers
    return for_each(ctx, args, lambda n: ctx.print(c.wait(n).get("StatusCode", 0)), echo=False)


def logs(ctx: Context, argv: list[str], path: str) -> int:
    spec = _spec(path, "docker NAME [OPTIONS] CONTAINER", "Fetch the logs of a container",
                 [B("details", help="Show extra details provided to logs"),
                  B("follow", "f", "Follow log output"),
                  S("since", help='Show logs since timestamp (e.g. "2013-01-02T13:23:37Z") or relative '
                    '(e.g. "42m" for 42 minutes)'),
                  S("tail", "n", "Number of lines to show from the end of the logs", default="all"),
                  B("timestamps", "t", "Show timestamps"),
                  S("until", help='Show logs before a timestamp (e.g. "2013-01-02T13:23:37Z") or relative '
                    '(e.g. "42m" for 42 minutes)')], 1, 1)
    opts, args = parse(spec, argv)
    from tugboat.cli.timeparse import get_timestamp
    c = ctx.client.containers
    try:
        info = c.inspect(args[0])
        times = {}
        for key in ("since", "until"):
            if opts[key]:
                try:
                    times[key] = get_timestamp(opts[key])
                except ValueError as e:
                    raise ValueError(f'invalid value for "{key}": {e}') from None
        params = {"stdout": True, "stderr": True, "follow": opts["follow"] or None,
                  "timestamps": opts["timestamps"] or None, "details": opts["details"] or None,
                  "tail": opts["tail"], **times}
        resp = c.logs(info["Id"], **params)
    except ValueError as e:
        ctx.eprint(str(e))
        return 1
    except APIError as e:
        ctx.daemon_error(e)
        return 1
    tty = bool((info.get("Config") or {}).get("Tty"))
    from tugboat.cli.streams import copy_output
    copy_output(resp.iter_chunks(), tty)
    return 0


def export(ctx: Context, argv: list[str], path: str) -> int:
    spec = _spec(path, "docker NAME [OPTIONS] CONTAINER", "Export a container's filesystem as a tar archive",
                 [S("output", "o", "Write to a file, instead of STDOUT")], 1, 1)
    opts, args = parse(spec, argv)
    if not opts["output"] and sys.stdout.isatty():
        ctx.eprint(TERMINAL_REFUSAL)
        return 1
    try:
        resp = ctx.client.containers.export(args[0])
    except APIError as e:
        ctx.daemon_error(e)
        return 1
    from tugboat.cli.streams import write_stream
    return write_stream(ctx, resp.iter_chunks(), opts["output"])


def prune(ctx: Context, argv: list[str], path: str) -> int:
    spec = _spec(path, "docker NAME [OPTIONS]", "Remove all stopped containers",
                 [L("filter", help='Provide filter values (e.g. "until=<timestamp>")', metavar="filter"),
                  B("force", "f", "Do not prompt for confirmation")], 0, 0)
    opts, _ = parse(spec, argv)
    from tugboat.cli import prune as pr
    warning = "WARNING! This will remove all stopped containers."
    if not opts["force"] and not pr.confirmed(sys.stdout, f"{warning}\n{pr.CONTINUE}"):
        return 0
    from tugboat.cli.filters import parse_filters
    try:
        report = ctx.client.containers.prune(parse_filters(opts["filter"]))
    except APIError as e:
        ctx.daemon_error(e)
        return 1
    pr.print_report(ctx, "Containers", report.get("ContainersDeleted") or [],
                    report.get("SpaceReclaimed") or 0)
    return 0
