"""`tug exec`: docker's sequence, create -> start (hijacked) -> inspect for the exit code.

As docker 20.10's CLI: the command exits with the process's status read from the exec's
inspect (126 when dockerd could not start it: the reason arrives in-band on the stream),
daemon refusals print "Error response from daemon: ..." and exit 1, -d starts detached
and prints nothing.  With -t the remote pty follows our window size; with -i too our
terminal goes raw so keystrokes (and the detach keys) pass through unmodified.
"""

from __future__ import annotations

import os
import sys

from tugboat.cli.context import Context
from tugboat.cli.flags import B, L, S, Spec, parse
from tugboat.client.errors import APIError, DaemonUnreachable

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


def _spec(path: str) -> Spec:
    flags = [
        B("detach", "d", "Detached mode: run command in the background"),
        S("detach-keys", help="Override the key sequence for detaching a container"),
        L("env", "e", "Set environment variables"),
        L("env-file", help="Read in a file of environment variables"),
        B("interactive", "i", "Keep STDIN open even if not attached"),
        B("privileged", help="Give extended privileges to the command"),
        B("tty", "t", "Allocate a pseudo-TTY"),
        S("user", "u", "Username or UID (format: <name|uid>[:<group|gid>])"),
        S("workdir", "w", "Working directory inside the container"),
    ]
    return Spec(path, f"docker {path} [OPTIONS] CONTAINER COMMAND [ARG...]",
                "Run a command in a running container", flags, 2, -1, interspersed=False)


def exec_(ctx: Context, argv: list[str], path: str) -> int:
    from tugboat.cli.commands.run import RunError, _lookup_env, read_kv_file
    from tugboat.cli.flags import UsageError
    spec = _spec(path)
    opts, args = parse(spec, argv)
    container, cmd = args[0], args[1:]
    for e in opts["env"]:
        if e.startswith("="):      # docker's opts.ValidateEnv, a flag error
            raise UsageError(f'invalid argument "{e}" for "-e, --env" flag: invalid environment variable: {e}',
                             spec)
    try:
        env: list[str] = []
        for f in opts["env_file"]:
            env += read_kv_file(f, env=True)
        env += [e for e in (_lookup_env(x) for x in opts["env"]) if e is not None]
    except RunError as e:
        ctx.eprint(str(e))
        return 1
    detach = bool(opts["detach"])
    tty, stdin = bool(opts["tty"]), bool(opts["interactive"])
    if tty and stdin and not detach and not os.isatty(sys.stdin.fileno()):
        ctx.eprint("the input device is not a TTY")
        return 1
    config: dict[str, Any] = {
        "User": opts["user"] or "", "Privileged": bool(opts["privileged"]), "Tty": tty,
        "AttachStdin": stdin and not detach, "AttachStdout": not detach, "AttachStderr": not detach,
        "Detach": detach, "DetachKeys": opts["detach_keys"] or "", "Env": env or None,
        "WorkingDir": opts["workdir"] or "", "Cmd": cmd,
    }
    from tugboat.client.execs import Execs
    execs = Execs(ctx.client.transport)
    try:
        exec_id = execs.create(container, config)["Id"]
        if detach:
            execs.start_detached(exec_id, tty)
            return 0
        hijacked = execs.start(exec_id, tty)
    except (APIError, DaemonUnreachable) as e:
        ctx.daemon_error(e)
        return 1
    from tugboat.cli.terminal import attach_terminal
    restore = attach_terminal(lambda h, w: execs.resize(exec_id, h, w), stdin) if tty else None
    detached: list[bool] = []
    if stdin:
        import threading
        try:
            keys = _detach_keys(opts["detach_keys"]) if tty else b""
        except ValueError:       # the daemon refused it at create already; not reached
            keys = b""
        threading.Thread(target=_pump_stdin, args=(hijacked, keys, detached), daemon=True).start()

    from tugboat.cli.streams import relay_attached
    relay_attached(hijacked, tty, restore)
    if detached:
        ctx.eprint("read escape sequence")
        return 1
    try:
        code = execs.inspect(exec_id).get("ExitCode")
    except (APIError, DaemonUnreachable) as e:
        ctx.daemon_error(e)
        return 1
    return int(code or 0)


_CTRL = {f"ctrl-{c}": i for i, c in enumerate("@abcdefghijklmnopqrstuvwxyz[\\]^_")}


def _detach_keys(spec: str | None) -> bytes:
    """moby/term.ToBytes of --detach-keys (default ctrl-p,ctrl-q); ValueError if invalid."""
    out = bytearray()
    for key in (spec or "ctrl-p,ctrl-q").split(","):
        if len(key) == 1:
            out += key.encode()
        elif key in _CTRL:
            out.append(_CTRL[key])
        else:
            raise ValueError(key)
    return bytes(out)


def _pump_stdin(sock: Any, keys: bytes, detached: list[bool]) -> None:
    """Our stdin to the exec, as docker's escape proxy: with a TTY, bytes that may start the
    detach sequence are held back; once it is complete the connection is closed (the process
    runs on) and ``detached`` records it."""
    fd = sys.stdin.fileno()
    held = b""
    try:
        while True:
            data = os.read(fd, 65536)
            if not data:
                break
            out = bytearray()
            for b in data:
                if keys and b == keys[len(held)]:
                    held += bytes([b])
                    if held == keys:
                        detached.append(True)
                        if out:
                            sock.sendall(bytes(out))
                        import socket
                        sock.sock.shutdown(socket.SHUT_RDWR)
                        return
                    continue
                out += held
                held = b""
                if keys and b == keys[0]:
                    held = bytes([b])
                else:
                    out.append(b)
            if out:
                sock.sendall(bytes(out))
    except OSError:
        pass
    finally:
        if not detached:
            sock.close_write()
