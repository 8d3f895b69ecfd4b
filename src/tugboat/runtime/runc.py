"""A thin, stateless wrapper around the runc binary.

Every call is ``runc --root <exec_root>/runc --log-format json <command>``: a
private state root means several tugd instances (tests start many) never see
each other's containers.  runc's failures become tugboat.errors carrying runc's
own message, cleaned of logrus decoration, e.g.
'runc create failed: unable to start container process: exec: "nosuchcmd":
executable file not found in $PATH'.  The monitor runs ``runc create`` itself
(it must own the container's stdio), but uses ``clean_error`` semantics too.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

from tugboat.errors import NotFound, TugboatError, Unavailable

_LOGRUS = re.compile(r'level=(\w+)\s+msg="((?:[^"\\]|\\.)*)"')
DEFAULT_TIMEOUT = 60.0


def _go_unquote(s: str) -> str:
    try:
        return str(json.loads('"' + s + '"'))
    except ValueError:
        return s.replace('\\"', '"').replace("\\\\", "\\")


def clean_error(output: str) -> str:
    """The message of runc's last error line; plain text passes through.

    runc prints errors as JSON log records ({"level":"error","msg":...}), as logrus
    text (time="..." level=error msg="...") or as a bare line; warnings and debug
    lines are ignored when an error line exists.
    """
    errors: list[str] = []
    plain: list[str] = []
    for line in output.splitlines():
        line = line.strip()
        if not line:
            continue
        if line.startswith("{"):
            try:
                rec = json.loads(line)
            except ValueError:
                rec = None
            if isinstance(rec, dict) and "msg" in rec:
                if rec.get("level") in ("error", "fatal", "panic"):
                    errors.append(str(rec["msg"]))
                continue
        m = _LOGRUS.search(line)
        if m:
            if m.group(1) in ("error", "fatal", "panic"):
                errors.append(_go_unquote(m.group(2)))
            continue
        plain.append(line)
    if errors:
        return errors[-1]
    return "\n".join(plain).strip()


def runc_version(binary: str) -> tuple[str, str]:
    """(version, commit) from `<binary> --version`; ("", "") if it is missing or says nothing
    usable. For /version and /info, which report the runtime as dockerd does."""
    import shutil
    import subprocess

    exe = shutil.which(binary)
    if not exe:
        return "", ""
    try:
        out = subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=5).stdout
    except (OSError, subprocess.SubprocessError):
        return "", ""
    version = commit = ""
    for line in out.splitlines():
        if line.startswith("runc version "):
            version = line[len("runc version "):].strip()
        elif line.startswith("commit: "):
            commit = line[len("commit: "):].strip()
    return version, commit


class RuncError(TugboatError):
    """runc exited non-zero; ``.message`` is runc's cleaned message."""


class ContainerNotFound(NotFound):
    """runc has no such container in its state root."""


class Runc:
    def __init__(self, binary: str, root: Path) -> None:
        self.binary = binary
        self.root = root

    def base_args(self) -> list[str]:
        return [self.binary, "--root", str(self.root), "--log-format", "json"]

    def _run(self, *args: str, timeout: float = DEFAULT_TIMEOUT, input: bytes | None = None) -> str:
        try:
            if input is None:
                proc = subprocess.run(self.base_args() + list(args), stdin=subprocess.DEVNULL,
                                      capture_output=True, timeout=timeout, check=False)
            else:
                proc = subprocess.run(self.base_args() + list(args), input=input,
                                      capture_output=True, timeout=timeout, check=False)
        except FileNotFoundError as e:
            raise Unavailable(f"runtime binary {self.binary!r} not found") from e
        except subprocess.TimeoutExpired as e:
            raise TugboatError(f"runc {args[0]} timed out after {timeout:.0f}s") from e
        if proc.returncode != 0:
            msg = clean_error(proc.stderr.decode(errors="replace")) or \
                clean_error(proc.stdout.decode(errors="replace")) or f"runc {args[0]} failed"
            if "does not exist" in msg or "container not found" in msg:
                raise ContainerNotFound(msg)
            raise RuncError(msg)
        return proc.stdout.decode(errors="replace")

    def create(self, id: str, bundle: Path, pid_file: Path, console_socket: Path | None = None) -> None:
        args = ["create", "--bundle", str(bundle), "--pid-file", str(pid_file)]
        if console_socket:
            args += ["--console-socket", str(console_socket)]
        self._run(*args, id)

    def start(self, id: str) -> None:
        self._run("start", id)

    def kill(self, id: str, sig: int, all: bool = False) -> None:
        self._run("kill", *(["--all"] if all else []), id, str(sig))

    def delete(self, id: str, force: bool = False) -> None:
        self._run("delete", *(["--force"] if force else []), id)

    def state(self, id: str) -> dict[str, Any] | None:
        """runc's state record ({"status": "created"|"running"|"paused"|"stopped", "pid": ...}),
        or None when runc does not know the container."""
        try:
            out = self._run("state", id)
        except ContainerNotFound:
            return None
        data = json.loads(out)
        return data if isinstance(data, dict) else None

    def list_all(self) -> list[dict[str, Any]]:
        out = self._run("list", "--format", "json")
        data = json.loads(out or "null")
        return data if isinstance(data, list) else []

    def pause(self, id: str) -> None:
        self._run("pause", id)

    def resume(self, id: str) -> None:
        self._run("resume", id)

    def update(self, id: str, resources: dict[str, Any]) -> None:
        """``runc update --resources -``: an OCI linux.resources object; absent fields keep their value."""
        self._run("update", "--resources", "-", id, input=json.dumps(resources).encode())

    def ps(self, id: str) -> list[int]:
        """Host pids of every process in the container."""
        data = json.loads(self._run("ps", "--format", "json", id) or "null")
        return [int(p) for p in data or []]

    def stats(self, id: str) -> dict[str, Any]:
        """One ``runc events --stats`` sample: {"type": "stats", "id": ..., "data": {...}}."""
        data = json.loads(self._run("events", "--stats", id) or "{}")
        return data if isinstance(data, dict) else {}
