"""`tug attach`: our stdin, stdout and stderr joined to a running container's main process.

As docker 20.10's CLI (cli/command/container/attach.go): inspect first (a stopped, paused or
restarting container is refused with docker's words), wait for the container to stop, attach
with stdin when the container keeps it open (and not --no-stdin), follow the window size with a
TTY, forward signals without one (--sig-proxy, default on), and exit with the container's status.
The detach keys (default ctrl-p,ctrl-q) end the attachment and leave the container running:
"read escape sequence", exit 1, as `exec` does.
"""

from __future__ import annotations

import os
import sys

from tugboat.cli.context import Context
from tugboat.cli.flags import B, Flag, S, Spec, parse
from tugboat.client.errors import APIError, DaemonUnreachable


def attach(ctx: Context, argv: list[str], path: str) -> int:
    spec = Spec(path, f"docker {path} [OPTIONS] CONTAINER",
                "Attach local standard input, output, and error streams to a running container",
                [S("detach-keys", help="Override the key sequence for detaching a container"),
                 B("no-stdin", help="Do not attach STDIN"),
                 Flag("sig-proxy", kind="bool", default=True,
                      help="Proxy all received signals to the process")], 1, 1)
    opts, args = parse(spec, argv)
    c = ctx.client.containers
    try:
        info = c.inspect(args[0])
    except (APIError, DaemonUnreachable) as e:
        ctx.daemon_error(e)
        return 1
    st = info.get("State") or {}
    if not st.get("Running"):
        ctx.eprint("You cannot attach to a stopped container, start it first")
        return 1
    if st.get("Paused"):
        ctx.eprint("You cannot attach to a paused container, unpause it first")
        return 1
    if st.get("Restarting"):
        ctx.eprint("You cannot attach to a restarting container, wait until it is running")
        return 1
    config = info.get("Config") or {}
    tty = bool(config.get("Tty"))
    stdin = bool(config.get("OpenStdin")) and not opts["no_stdin"]
    if tty and stdin and not os.isatty(sys.stdin.fileno()):
        ctx.eprint("the input device is not a TTY")
        return 1
    from tugboat.cli.commands.exec import _detach_keys, _pump_stdin
    try:
        keys = _detach_keys(opts["detach_keys"]) if tty else b""
    except ValueError:
        ctx.eprint(f"Invalid detach keys ({opts['detach_keys']}) provided")
        return 1

    from tugboat.cli.commands.run import _proxy_signals, _Waiter
    id = info["Id"]
    waiter = _Waiter(ctx, id, "not-running")
    waiter.begin()
    try:
        hijacked = c.attach(id, stdin=stdin, stdout=True, stderr=True)
    except (APIError, DaemonUnreachable) as e:
        ctx.daemon_error(e)
        return 1
    from tugboat.cli.terminal import attach_terminal
    restore = attach_terminal(lambda h, w: c.resize(id, h, w), stdin) if tty else None
    detached: list[bool] = []
    if stdin:
        import threading
        threading.Thread(target=_pump_stdin, args=(hijacked, keys, detached), daemon=True).start()
    if opts["sig_proxy"]:
        _proxy_signals(ctx, id, tty)

    from tugboat.cli.streams import relay_attached
    relay_attached(hijacked, tty, restore)
    if detached:
        ctx.eprint("read escape sequence")
        return 1
    result = waiter.result()
    if waiter.error is not None:
        ctx.daemon_error(waiter.error)
        return 1
    return int(result.get("StatusCode", 0))
