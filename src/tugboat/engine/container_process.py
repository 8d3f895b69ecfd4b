"""How a container's process is described and how its failures are reported.

Small rules dockerd applies around the runtime: signal names, the process
environment it adds (PATH, HOSTNAME, TERM), random IDs, and the exit code plus
message a failed `runc create` turns into (127 / 126 and the "OCI runtime create
failed" wording that `docker run` users and scripts recognise).
"""

from __future__ import annotations

import secrets
import signal as _signal

from tugboat.errors import InvalidArgument, TugboatError

DEFAULT_PATH = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
_START_MARKER = "unable to start container process: "


def parse_signal(value: str | int | None, default: int = _signal.SIGKILL) -> int:
    """dockerd's signal.ParseSignal: "KILL", "SIGKILL", "9"; raises InvalidArgument."""
    if value is None or value == "":
        return int(default)
    s = str(value).strip()
    if s.isdigit():
        n = int(s)
        return int(default) if n == 0 else n
    name = s.upper()
    name = name if name.startswith("SIG") else "SIG" + name
    try:
        return int(_signal.Signals[name])
    except KeyError:
        raise InvalidArgument(f"Invalid signal: {value}") from None


def new_id() -> str:
    """64 hex chars whose 12-char short form is not all digits (moby's GenerateRandomID)."""
    while True:
        cid = secrets.token_hex(32)
        if not cid[:12].isdigit():
            return cid


def process_env(config: dict, linked: list[str] | None = None) -> list[str]:
    """moby's CreateDaemonEnvironment: PATH, HOSTNAME, TERM (tty), the --link variables, then
    Config.Env wins by key (ReplaceOrAppendEnvValues: a value replaces in place, so `-e PATH=...`
    stays first)."""
    env = [DEFAULT_PATH, "HOSTNAME=" + (config.get("Hostname") or "")]
    if config.get("Tty"):
        env.append("TERM=xterm")
    env += linked or []
    where = {x.split("=", 1)[0]: i for i, x in enumerate(env)}
    for e in config.get("Env") or []:
        key = e.split("=", 1)[0]
        if key in where:
            env[where[key]] = e
        else:
            where[key] = len(env)
            env.append(e)
    return env


def start_error(message: str) -> tuple[int, str, type[TugboatError]]:
    """Map a runtime create failure to (exit code, dockerd's message, error class)."""
    core = message.split(_START_MARKER, 1)[1] if _START_MARKER in message else message
    if core.endswith(": unknown"):
        core = core[: -len(": unknown")]
    low = core.lower()
    if "executable file not found" in low or "no such file or directory" in low:
        code = 127
    elif "permission denied" in low:
        code = 126
    else:
        code = 128
    if code == 128 and _START_MARKER not in message:
        return code, message, TugboatError
    full = ("failed to create shim task: OCI runtime create failed: runc create failed: "
            f"{_START_MARKER}{core}: unknown")
    return code, full, InvalidArgument if code != 128 else TugboatError
