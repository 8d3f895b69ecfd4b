"""Running an extra process in a running container: ``runc exec``.

Unlike a container's init, an exec process does not outlive tugd (dockerd's
exec records vanish with a daemon restart too), so no monitor is involved: tugd
spawns the exec shim (runtime/exec_shim.py) as its own child and keeps its stdio;
the shim runs ``runc exec --detach --process <json> --pid-file <f> <id>``, is the
process's parent and exits with its status when it exits, which is how the exit
code comes back: as under dockerd, a background child still holding the output
does not hold the exec.  Without a TTY the process gets tugd's pipes; with a TTY,
the shim's stdin/stdout is a pty of tugd's, to and from which it copies the
container's pty.  Output written within EXIT_GRACE seconds after the exit still
reaches the client (dockerd waits 2 seconds for the streams, then closes them); the
shim writes the status beside the pid file at the exit, so that exec inspect has
it at once, as dockerd's.

Whether the process started is told by the pid file: runc writes it only once
the process runs.  When runc exits without one, what it printed is its own error
("exec failed: unable to start container process: ..."), not the process's
output; nothing is forwarded before that is known.
"""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tugboat.runtime.runc import Runc, clean_error
from tugboat.runtime.spec import capabilities, detect_host
from tugboat.runtime.users import ResolvedUser

START_TIMEOUT = 60.0
EXIT_GRACE = 2.0
SHIM = Path(__file__).with_name("exec_shim.py")


class ExecStartError(Exception):
    """runc could not start the process; ``str()`` is runc's cleaned message."""


def build_process(base: dict[str, Any], args: list[str], env: list[str], cwd: str, user: ResolvedUser,
                  tty: bool, privileged: bool) -> dict[str, Any]:
    """The OCI process of an exec: the container's init process (rlimits, apparmor, no_new_privileges,
    capabilities) with the exec's own args, env, cwd, user and terminal; all the host's capabilities
    when privileged."""
    proc = json.loads(json.dumps(base))
    proc.pop("consoleSize", None)
    proc.update({"terminal": bool(tty), "args": list(args), "env": list(env), "cwd": cwd or "/",
                 "user": {"uid": user.uid, "gid": user.gid, "additionalGids": list(user.additional_gids)}})
    if privileged:
        # As moby's execSetPlatformOpt, inheritable included: in a container that is not
        # privileged itself, runc then fails "unable to apply caps: operation not permitted",
        # exactly as under dockerd.
        caps = capabilities({"Privileged": True}, detect_host())
        proc["capabilities"] = {k: list(caps) for k in ("bounding", "effective", "inheritable", "permitted")}
    return proc


class ExecProcess:
    """One started ``runc exec``: stdin, output and exit status of the process in the container."""

    def __init__(self, proc: subprocess.Popen[bytes], pid: int, tty_master: int | None,
                 stdin_w: int | None, outputs: dict[int, int], workdir: str) -> None:
        self._proc = proc
        self.pid = pid
        self.tty = tty_master is not None
        self._master = tty_master
        self._stdin_w = stdin_w
        self._outputs = outputs          # read fd -> stream number (1 stdout, 2 stderr)
        self._workdir = workdir
        self._lock = threading.Lock()

    def write_stdin(self, data: bytes) -> None:
        fd = self._master if self._master is not None else self._stdin_w
        if fd is None:
            return
        view = memoryview(data)
        while view:
            n = os.write(fd, view)
            view = view[n:]

    def close_stdin(self) -> None:
        """End of input: close the pipe (a pty has no such thing: nothing happens)."""
        with self._lock:
            if self._stdin_w is not None:
                os.close(self._stdin_w)
                self._stdin_w = None

    def resize(self, height: int, width: int) -> None:
        if self._master is None:
            return
        import fcntl
        import struct
        import termios
        fcntl.ioctl(self._master, termios.TIOCSWINSZ, struct.pack("HHHH", height, width, 0, 0))
        try:
            os.kill(self._proc.pid, signal.SIGWINCH)   # the shim copies its terminal's size inward
        except ProcessLookupError:
            pass

    def output(self, stop_fd: int | None = None) -> Iterator[tuple[int, bytes]]:
        """(stream, bytes) until the process's output ends (stream 1 for a TTY), or until
        ``stop_fd`` becomes readable (a client detaching: the process keeps running).

        Output also ends EXIT_GRACE seconds after the process exited (its shim did), without
        waiting for a background child that keeps it open."""
        open_fds = {self._master: 1} if self._master is not None else dict(self._outputs)
        pidfd = os.pidfd_open(self._proc.pid)
        deadline: float | None = None
        try:
            while open_fds:
                watch = [*open_fds, *([pidfd] if deadline is None else []),
                         *([stop_fd] if stop_fd is not None else [])]
                timeout = None if deadline is None else max(0.0, deadline - time.monotonic())
                ready, _, _ = select.select(watch, [], [], timeout)
                if stop_fd is not None and stop_fd in ready:
                    return
                if not ready:
                    return
                if pidfd in ready:
                    deadline = time.monotonic() + EXIT_GRACE
                    continue
                for fd in ready:
                    data = _read(fd)
                    if data:
                        yield open_fds[fd], data
                    else:
                        del open_fds[fd]
        finally:
            os.close(pidfd)

    def exited(self) -> int | None:
        """The process's exit status as soon as it exited (its output may still be draining)."""
        try:
            return int(Path(self._workdir, "status").read_text())
        except (OSError, ValueError):
            return None

    def wait(self) -> int:
        """The process's exit status (the shim's, or 128+signal); releases every fd."""
        code = self._proc.wait()
        with self._lock:
            fds = [*self._outputs, *(x for x in (self._master, self._stdin_w) if x is not None)]
            self._outputs, self._master, self._stdin_w = {}, None, None
        for fd in fds:
            try:
                os.close(fd)
            except OSError:
                pass
        _rmtree(self._workdir)
        return code if code >= 0 else 128 - code


def _read(fd: int) -> bytes:
    try:
        return os.read(fd, 32768)
    except OSError:          # a pty's EIO: every slave fd is closed
        return b""


def start_exec(runc: Runc, container_id: str, process: dict[str, Any], tty: bool, stdin: bool,
               workdir: Path) -> ExecProcess:
    """Spawn the shim (``runc exec``) and return once the process runs; ExecStartError if it cannot."""
    workdir.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = tempfile.mkdtemp(prefix="exec-", dir=workdir)
    proc_file, pid_file, log_file = (os.path.join(tmp, n) for n in ("process.json", "pid", "runc.log"))
    Path(proc_file).write_text(json.dumps(process))
    args = [runc.binary, "--root", str(runc.root), "--log", log_file, "--log-format", "json",
            "exec", "--detach", "--process", proc_file, "--pid-file", pid_file]
    shim = [sys.executable, "-I", str(SHIM), pid_file, str(EXIT_GRACE), "1" if tty else "0"]
    child: list[int] = []
    mine: list[int] = []
    outputs: dict[int, int] = {}
    stdin_w: int | None = None
    master: int | None = None
    try:
        if tty:
            # the shim copies the container's pty to and from its own stdio, a pty of ours in raw
            # mode (window size on SIGWINCH), its stderr apart for runc's own errors.
            import tty as _tty
            master, slave = os.openpty()
            os.set_inheritable(master, False)
            _tty.setraw(slave)
            err_r, err_w = os.pipe()
            child, mine = [slave, err_w], [err_r, master]
            stdio = (slave, slave, err_w)
        else:
            if stdin:
                in_r, stdin_w = os.pipe()
            else:
                in_r = os.open(os.devnull, os.O_RDONLY)
            out_r, out_w = os.pipe()
            err_r, err_w = os.pipe()
            outputs = {out_r: 1, err_r: 2}
            child, mine = [in_r, out_w, err_w], [out_r, err_r] + ([stdin_w] if stdin_w is not None else [])
            stdio = (in_r, out_w, err_w)
        try:
            proc = subprocess.Popen([*shim, *args, container_id], stdin=stdio[0], stdout=stdio[1],
                                    stderr=stdio[2], cwd="/", start_new_session=True)
        finally:
            for fd in set(child):
                os.close(fd)
        pid = _wait_started(proc, Path(pid_file), Path(log_file))
        if pid is None:
            message = _start_error(Path(log_file), err_r)
            for fd in mine:
                os.close(fd)
            _rmtree(tmp)
            raise ExecStartError(message)
        if tty:
            os.close(err_r)   # runc's stderr, unused once the process runs
        return ExecProcess(proc, pid, master, stdin_w, outputs, tmp)
    except ExecStartError:
        raise
    except BaseException:
        for fd in mine:
            try:
                os.close(fd)
            except OSError:
                pass
        _rmtree(tmp)
        raise


def _wait_started(proc: subprocess.Popen[bytes], pid_file: Path, log_file: Path) -> int | None:
    """The process's pid once runc wrote it, or None when runc exited without starting it."""
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        try:
            text = pid_file.read_text().strip()
        except OSError:
            text = ""
        if text:
            return int(text)
        if proc.poll() is not None:
            try:                       # the pid file may land just before runc exits
                text = pid_file.read_text().strip()
            except OSError:
                text = ""
            return int(text) if text else None
        time.sleep(0.005)
    proc.kill()
    proc.wait()
    return None


def _start_error(log_file: Path, stderr_fd: int) -> str:
    """runc's message: from its log, else from its stderr (runc has exited: the pipe is at EOF)."""
    try:
        text = log_file.read_text(errors="replace")
    except OSError:
        text = ""
    chunks = []
    while select.select([stderr_fd], [], [], 1.0)[0]:   # bounded: never hang on a stray writer
        data = _read(stderr_fd)
        if not data:
            break
        chunks.append(data)
    return clean_error(text) or clean_error(b"".join(chunks).decode(errors="replace")) or "runc exec failed"


def _rmtree(path: str) -> None:
    import shutil
    shutil.rmtree(path, ignore_errors=True)


def exec_in(runtime: Any, container_id: str, args: list[str], env: list[str], cwd: str, user: str,
            group_add: list[str], tty: bool, stdin: bool, privileged: bool) -> ExecProcess:
    """What the engine calls: resolve ``user`` inside the container's rootfs (InvalidArgument
    "unable to find user ..." as dockerd), build the process from the container's config.json and
    start it.  ``runtime`` is the ContainerRuntime (bundle paths and the runc wrapper)."""
    from tugboat.runtime.users import resolve_user
    bundle = runtime.bundle(container_id)
    try:
        base = json.loads((bundle / "config.json").read_text()).get("process") or {}
    except (OSError, ValueError) as e:
        raise ExecStartError(f"container {container_id} has no runtime bundle: {e}") from e
    resolved = resolve_user(bundle / "rootfs", user, group_add)
    process = build_process(base, args, env, cwd, resolved, tty, privileged)
    return start_exec(runtime.runc, container_id, process, tty, stdin, runtime.exec_root / "exec")
