"""ExecService: `docker exec`, extra processes in running containers.

As in dockerd, exec instances live in memory only: they disappear with their
container and with a tugd restart (nothing of them is persisted), and an
instance runs once.  The service needs two things from outside, both injected
by wiring.py: ``lookup`` (a container reference -> its ContainerRecord, raising
NotFound as the container service does) and the runtime (``runtime/exec.py``
runs ``runc exec``).

The process starts when the server begins pumping a non-detached start (after
the connection was hijacked), so that a start failure is reported the way
dockerd does it: in-band, as the text "OCI runtime exec failed: ...\\r\\n" on
the stream, with ExitCode 126 in the exec's inspect.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Iterator
from typing import Any

from tugboat.engine.container_process import new_id, process_env
from tugboat.engine.container_state import PAUSED, RESTARTING
from tugboat.engine.events import NullEvents, container_attributes
from tugboat.errors import Conflict, InvalidArgument, NotFound, TugboatError
from tugboat.runtime.exec import ExecProcess, ExecStartError, exec_in

log = logging.getLogger("tugboat.engine.exec")

START_FAILED_EXIT = 126     # dockerd's exit code for any exec that could not start
RESIZE_WAIT = 10.0


class _Exec:
    """One exec instance (dockerd's exec.Config)."""

    def __init__(self, id: str, container_id: str, config: dict[str, Any]) -> None:
        self.id = id
        self.container_id = container_id
        self.config = config
        self.lock = threading.Lock()
        self.started = False
        self.running = False
        self.exit_code: int | None = None
        self.pid = 0
        self.process: ExecProcess | None = None
        self.launched = threading.Event()   # the start attempt is over (process running or failed)

    @property
    def tty(self) -> bool:
        return bool(self.config.get("Tty"))


def exec_env(container_config: dict[str, Any], exec_env: list[str], tty: bool,
             linked: list[str] | None = None) -> list[str]:
    """dockerd: the container's daemon environment (PATH, HOSTNAME, TERM with a TTY, the --link
    variables) and Config.Env, then the exec's Env replacing or appending by key."""
    env = process_env({"Hostname": container_config.get("Hostname"), "Tty": tty,
                       "Env": list(container_config.get("Env") or []) + list(exec_env)}, linked)
    return env


class ExecStream:
    """A started exec as the hijacked connection sees it: the same shape as an attach stream
    (``tty``, ``output()``, ``write_stdin``, ``close_stdin``, ``close``)."""

    def __init__(self, service: ExecService, ex: _Exec) -> None:
        self._service = service
        self._ex = ex
        self.tty = ex.tty
        self._wake_r, self._wake_w = os.pipe()
        self._lock = threading.Lock()
        self._launched = threading.Event()
        self._closed = False     # close() called: detached or the client went away
        self._done = False       # output() finished

    def output(self) -> Iterator[tuple[int, bytes]]:
        try:
            try:
                proc = self._service._launch(self._ex)
            except TugboatError as e:
                yield 1, (e.message + "\r\n").encode()
                return
            finally:
                self._launched.set()
            ended = False
            try:
                yield from proc.output(self._wake_r)
                ended = not self._closed
            finally:
                if ended:
                    self._service._finish(self._ex, proc, False)
                else:    # detached or the client went away: the process runs on, reap it later
                    threading.Thread(target=self._service._finish, args=(self._ex, proc, True),
                                     name=f"exec-{self._ex.id[:12]}", daemon=True).start()
        finally:
            with self._lock:
                self._done = True
                self._release()

    def write_stdin(self, data: bytes) -> None:
        self._launched.wait()      # stdin may arrive before the output side started the process
        proc = self._ex.process
        if proc is not None:
            proc.write_stdin(data)

    def close_stdin(self) -> None:
        """The client's half-close.  A pty has no end of input: with a TTY this is the client
        leaving (docker's CLI closes the connection when it detaches), so detach."""
        self._launched.wait()
        if self.tty:
            self.close()
            return
        proc = self._ex.process
        if proc is not None:
            proc.close_stdin()

    def close(self) -> None:
        """Detach (or the client went away): output stops, the process keeps running."""
        with self._lock:
            if not self._closed:
                self._closed = True
                if self._wake_w >= 0:
                    os.write(self._wake_w, b"x")
            self._release()

    def _release(self) -> None:
        if self._done and self._closed and self._wake_r >= 0:
            os.close(self._wake_r)
            os.close(self._wake_w)
            self._wake_r = self._wake_w = -1


def _exited(ex: _Exec) -> int | None:
    """The exit status of a process that exited while its output still drains, else None."""
    proc = ex.process
    return proc.exited() if proc is not None and ex.exit_code is None else None


class ExecService:
    """Create, start, resize and inspect exec instances (POST /containers/{id}/exec, /exec/...)."""

    def __init__(self, lookup: Callable[[str], Any], runtime: Any, events: Any = None,
                 link_env: Callable[[Any], list[str]] | None = None) -> None:
        self._lookup = lookup
        self._link_env = link_env      # a container record -> its --link variables (wiring.py)
        self._runtime = runtime
        self._events = events or NullEvents()
        self._execs: dict[str, _Exec] = {}
        self._lock = threading.Lock()

    # --- lookup ----------------------------------------------------------------------------
    def _get(self, exec_id: str) -> _Exec:
        with self._lock:
            ex = self._execs.get(exec_id)
        if ex is not None:
            try:
                self._lookup(ex.container_id)
            except NotFound:
                with self._lock:
                    self._execs.pop(exec_id, None)      # its container is gone: so is the exec
                ex = None
        if ex is None:
            raise NotFound(f"No such exec instance: {exec_id}")
        return ex

    def _publish(self, ex: _Exec, action: str, extra: dict[str, str] | None = None) -> None:
        """dockerd's exec events: "exec_create: <cmd>", "exec_start: <cmd>", "exec_die"."""
        try:
            rec = self._lookup(ex.container_id)
        except NotFound:
            return
        self._events.publish("container", action, rec.id,
                             container_attributes(rec.name, rec.config or {}, {"execID": ex.id, **(extra or {})}))

    def _sweep(self) -> None:
        """Forget the execs of removed containers (dockerd drops them with the container)."""
        with self._lock:
            by_container: dict[str, list[str]] = {}
            for ex in self._execs.values():
                by_container.setdefault(ex.container_id, []).append(ex.id)
        for cid, ids in by_container.items():
            try:
                self._lookup(cid)
            except NotFound:
                with self._lock:
                    for i in ids:
                        self._execs.pop(i, None)

    @staticmethod
    def _check_running(rec: Any, ref: str | None = None) -> None:
        """moby's getActiveContainer, in its order and wording (the paused message names the
        container as the client gave it)."""
        st = rec.state
        if not st.running:
            raise Conflict(f"Container {rec.id} is not running")
        if st.status == PAUSED:
            raise Conflict(f"Container {ref or rec.id} is paused, unpause the container before exec")
        if st.status == RESTARTING:
            raise Conflict(f"Container {rec.id} is restarting, wait until the container is running")

    # --- API -------------------------------------------------------------------------------
    def create(self, ref: str, config: dict[str, Any]) -> dict[str, str]:
        rec = self._lookup(ref)
        self._check_running(rec, ref)
        cmd = config.get("Cmd")
        if isinstance(cmd, str):
            cmd = [cmd]
        if not cmd:
            raise InvalidArgument("No exec command specified")
        env = config.get("Env") or []
        for e in env:
            if "=" not in e or e.startswith("="):
                raise InvalidArgument(f"invalid environment variable: {e}")
        ex = _Exec(new_id(), rec.id, {**config, "Cmd": [str(c) for c in cmd], "Env": list(env)})
        self._sweep()
        with self._lock:
            self._execs[ex.id] = ex
        self._publish(ex, "exec_create: " + " ".join(ex.config["Cmd"]))
        return {"Id": ex.id}

    def inspect(self, exec_id: str) -> dict[str, Any]:
        ex = self._get(exec_id)
        cfg = ex.config
        process: dict[str, Any] = {"tty": ex.tty, "entrypoint": cfg["Cmd"][0], "arguments": cfg["Cmd"][1:],
                                   "privileged": bool(cfg.get("Privileged"))}
        if cfg.get("User"):
            process["user"] = cfg["User"]
        running, code = ex.running, ex.exit_code
        early = _exited(ex)
        if early is not None:      # dockerd records the exit at once, before the streams end
            running, code = False, early
        return {"ID": ex.id, "Running": running, "ExitCode": code, "ProcessConfig": process,
                "OpenStdin": bool(cfg.get("AttachStdin")), "OpenStderr": bool(cfg.get("AttachStderr")),
                "OpenStdout": bool(cfg.get("AttachStdout")), "CanRemove": False,
                "ContainerID": ex.container_id, "DetachKeys": cfg.get("DetachKeys") or "", "Pid": ex.pid}

    def start(self, exec_id: str, detach: bool = False) -> ExecStream | None:
        """Claim the instance; detached, run it now (errors raised), else return the stream whose
        ``output()`` starts it."""
        ex = self._get(exec_id)
        with ex.lock:
            if ex.started:
                raise Conflict(f"Error: Exec command {ex.id} is already running")
            self._check_running(self._lookup(ex.container_id))
            ex.started = True
            ex.running = True
        if not detach:
            return ExecStream(self, ex)
        try:
            proc = self._launch(ex, stdin=False)
        except TugboatError:
            raise
        threading.Thread(target=self._finish, args=(ex, proc, True), name=f"exec-{ex.id[:12]}",
                         daemon=True).start()
        return None

    def resize(self, exec_id: str, height: int, width: int) -> None:
        ex = self._get(exec_id)
        if ex.started:
            ex.launched.wait(RESIZE_WAIT)   # clients resize right after start: let the process come up
        if ex.process is None:
            raise Conflict(f"Exec {ex.id} is not running")
        ex.process.resize(height, width)

    def ids_of(self, container_id: str) -> list[str]:
        """A container's ExecIDs: its execs not finished yet (dockerd drops them at exit)."""
        with self._lock:
            return [ex.id for ex in self._execs.values()
                    if ex.container_id == container_id and ex.exit_code is None and _exited(ex) is None]

    # --- the process -------------------------------------------------------------------------
    def _launch(self, ex: _Exec, stdin: bool | None = None) -> ExecProcess:
        cfg = ex.config
        try:
            rec = self._lookup(ex.container_id)
            self._check_running(rec)
            c = rec.config or {}
            user = cfg.get("User") or c.get("User") or ""
            group_add = [str(g) for g in (rec.host_config or {}).get("GroupAdd") or []]
            linked = self._link_env(rec) if self._link_env is not None else []
            proc = exec_in(self._runtime, rec.id, cfg["Cmd"], exec_env(c, cfg["Env"], ex.tty, linked),
                           cfg.get("WorkingDir") or c.get("WorkingDir") or "/", user, group_add, ex.tty,
                           bool(cfg.get("AttachStdin")) if stdin is None else stdin,
                           bool(cfg.get("Privileged")))
        except ExecStartError as e:
            self._ended(ex, START_FAILED_EXIT)
            raise TugboatError(f"OCI runtime exec failed: {e}: unknown") from e
        except TugboatError:
            self._ended(ex, START_FAILED_EXIT)
            raise
        except Exception as e:
            self._ended(ex, START_FAILED_EXIT)
            raise TugboatError(str(e)) from e
        ex.process, ex.pid = proc, proc.pid
        ex.launched.set()
        self._publish(ex, "exec_start: " + " ".join(cfg["Cmd"]))
        return proc

    def _finish(self, ex: _Exec, proc: ExecProcess, drain: bool) -> None:
        if drain:
            try:
                for _ in proc.output():
                    pass
            except OSError:
                pass
        try:
            code = proc.wait()
        except Exception:
            log.exception("waiting for exec %s", ex.id)
            code = 255
        self._ended(ex, code)
        self._publish(ex, "exec_die", {"exitCode": str(code)})

    @staticmethod
    def _ended(ex: _Exec, code: int) -> None:
        ex.exit_code = code
        ex.running = False
        ex.process = None
        ex.launched.set()
