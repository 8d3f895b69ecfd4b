"""Healthchecks: moby 20.10's daemon/health.go.

A container whose ``Config.Healthcheck.Test`` is ``["CMD", ...]`` or ``["CMD-SHELL", cmd]``
(``["NONE"]`` or nothing: no healthcheck) gets one monitor thread while it runs and is not
paused.  The thread waits ``Interval`` (30s by default), runs the probe as an exec in the
container (``exec_create``/``exec_start``/``exec_die`` events, as dockerd logs them for probes),
waits for it at most ``Timeout`` (30s; a probe that takes longer is killed and counts as a failure
with ExitCode -1 and "Health check exceeded timeout (30s)"), records the result and waits again.

``State.Health`` is ``{"Status", "FailingStreak", "Log"}``: "starting" from each start (the log of
earlier runs is kept), "healthy" after a success, "unhealthy" once ``Retries`` (3) failures in a row
were counted; failures while still "starting" inside ``StartPeriod`` are not counted.  The log holds
the last 5 results, their output cut at 4096 bytes.  A status change is a ``health_status: <status>``
event.  The health state is written to the record after every probe (dockerd checkpoints it too),
so inspect shows it after the container stopped and after a tugd restart.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
from collections.abc import Callable
from typing import Any

from tugboat.api.timefmt import now_ns, rfc3339nano
from tugboat.engine.container_process import new_id, process_env
from tugboat.errors import InvalidArgument, TugboatError

log = logging.getLogger(__name__)

STARTING, HEALTHY, UNHEALTHY, NONE = "starting", "healthy", "unhealthy", "none"
STATUSES = (STARTING, HEALTHY, UNHEALTHY, NONE)

MAX_OUTPUT = 4096
MAX_LOG_ENTRIES = 5
DEFAULT_INTERVAL_NS = 30_000_000_000
DEFAULT_TIMEOUT_NS = 30_000_000_000
DEFAULT_RETRIES = 3
MINIMUM_DURATION_NS = 1_000_000

# (container_id, argv, env, cwd, user, group_add) -> a started process with ``pid``,
# ``output(stop_fd)`` yielding (stream, bytes) and ``wait()`` giving the exit status.
Spawn = Callable[[str, list[str], list[str], str, str, list[str]], Any]
Publish = Callable[[Any, str, dict[str, str] | None], None]


def probe_command(config: dict[str, Any]) -> list[str] | None:
    """The probe's argv, or None when the container has no (enabled) healthcheck."""
    test = list((config.get("Healthcheck") or {}).get("Test") or [])
    if not test:
        return None
    if test[0] == "CMD":
        return test[1:] or None
    if test[0] == "CMD-SHELL":
        return list(config.get("Shell") or ["/bin/sh", "-c"]) + test[1:]
    if test[0] != "NONE":
        log.warning("Unknown healthcheck type '%s' (expected 'CMD')", test[0])
    return None


def validate(config: dict[str, Any]) -> None:
    """dockerd's create-time checks of Config.Healthcheck (verifyContainerSettings)."""
    hc = config.get("Healthcheck") or {}
    for key in ("Interval", "Timeout"):
        if 0 != int(hc.get(key) or 0) < MINIMUM_DURATION_NS:
            raise InvalidArgument(f"{key} in Healthcheck cannot be less than 1ms")
    if int(hc.get("Retries") or 0) < 0:
        raise InvalidArgument("Retries in Healthcheck cannot be negative")
    if 0 != int(hc.get("StartPeriod") or 0) < MINIMUM_DURATION_NS:
        raise InvalidArgument("StartPeriod in Healthcheck cannot be less than 1ms")


def status_text(health: dict[str, Any]) -> str:
    """moby's Health.String(): the parenthesised part of `docker ps`'s "Up 5 seconds (...)"."""
    status = health.get("Status") or UNHEALTHY
    return "health: starting" if status == STARTING else status


def health_status(health: dict[str, Any] | None) -> str:
    """The value `ps --filter health=` matches: "none" without a healthcheck."""
    return (health.get("Status") or UNHEALTHY) if health else NONE


def go_duration(ns: int) -> str:
    """time.Duration.String() for the timeout message ("30s", "500ms", "1m30s")."""
    from tugboat.engine.builder.gofmt import duration
    return duration(ns)


def apply_result(health: dict[str, Any], result: dict[str, Any], probe_start_ns: int, started_at_ns: int,
                 healthcheck: dict[str, Any]) -> bool:
    """moby's handleProbeResult: log the result, update streak and status; True if the status changed."""
    retries = int(healthcheck.get("Retries") or 0)
    if retries <= 0:
        retries = DEFAULT_RETRIES
    old = health.get("Status")
    health["Log"] = (list(health.get("Log") or []) + [result])[-MAX_LOG_ENTRIES:]
    if result["ExitCode"] == 0:
        health["FailingStreak"] = 0
        health["Status"] = HEALTHY
    else:
        count = True
        if health.get("Status") == STARTING:
            start_period = int(healthcheck.get("StartPeriod") or 0)
            count = probe_start_ns - started_at_ns >= start_period
        if count:
            health["FailingStreak"] = int(health.get("FailingStreak") or 0) + 1
            if health["FailingStreak"] >= retries:
                health["Status"] = UNHEALTHY
    return health.get("Status") != old


class LimitedOutput:
    """moby's limitedBuffer: the first 4096 bytes, "..." appended when more was written."""

    def __init__(self) -> None:
        self._buf = bytearray()
        self.truncated = False

    def write(self, data: bytes) -> None:
        keep = max(0, MAX_OUTPUT - len(self._buf))
        self._buf += data[:keep]
        if keep < len(data):
            self.truncated = True

    def text(self) -> str:
        return self._buf.decode(errors="replace") + ("..." if self.truncated else "")


def _exec_spawn(runtime: Any) -> Spawn:
    def spawn(container_id: str, argv: list[str], env: list[str], cwd: str, user: str,
              group_add: list[str]) -> Any:
        from tugboat.runtime.exec import exec_in
        return exec_in(runtime, container_id, argv, env, cwd, user, group_add, tty=False, stdin=False,
                       privileged=False)
    return spawn


class HealthMonitor:
    """One monitor thread per running container with a healthcheck.  The container service calls
    ``init`` at each start (and when tugd re-adopts a running container), ``stop`` at exit and
    pause, ``resume`` at unpause, always holding the container's lock; ``shutdown`` with tugd."""

    def __init__(self, runtime: Any, publish: Publish, spawn: Spawn | None = None) -> None:
        self._spawn = spawn or _exec_spawn(runtime)
        self._publish = publish
        self._stops: dict[str, threading.Event] = {}
        self._probes: dict[str, str] = {}     # container id -> the exec id of its running probe
        self._lock = threading.Lock()

    def probe_ids(self, container_id: str) -> list[str]:
        """The running probe's exec id: dockerd registers probes as execs, so ExecIDs lists them."""
        with self._lock:
            return [self._probes[container_id]] if container_id in self._probes else []

    def init(self, c: Any) -> None:
        """moby's initHealthMonitor: status "starting", streak 0 (the log is kept), monitor running."""
        rec = c.rec
        if probe_command(rec.config) is None:
            return
        health = dict(rec.state.health or {})
        health.update({"Status": STARTING, "FailingStreak": 0, "Log": list(health.get("Log") or [])})
        rec.state.health = health
        self.resume(c)

    def resume(self, c: Any) -> None:
        """Start the monitor thread if the container has a health state and none runs yet."""
        rec = c.rec
        if rec.state.health is None or probe_command(rec.config) is None:
            return
        with self._lock:
            if rec.id in self._stops:
                return
            stop = self._stops[rec.id] = threading.Event()
        threading.Thread(target=self._monitor, args=(c, stop), name=f"health-{rec.id[:12]}",
                         daemon=True).start()

    def stop(self, c: Any) -> None:
        """Stop the monitor (exit, pause). As moby's CloseMonitorChannel, a container whose monitor
        ran is then "unhealthy" (no event): inspect of a paused or exited container says so."""
        with self._lock:
            stop = self._stops.pop(c.rec.id, None)
        if stop is not None:
            stop.set()
            if c.rec.state.health is not None:
                c.rec.state.health["Status"] = UNHEALTHY

    def shutdown(self) -> None:
        with self._lock:
            stops, self._stops = list(self._stops.values()), {}
        for s in stops:
            s.set()

    # --- the monitor thread ---------------------------------------------------------------------
    def _monitor(self, c: Any, stop: threading.Event) -> None:
        hc = dict(c.rec.config.get("Healthcheck") or {})
        interval = int(hc.get("Interval") or 0) or DEFAULT_INTERVAL_NS
        while not stop.wait(interval / 1e9):
            start_ns = now_ns()
            try:
                result = self._probe(c, hc, start_ns)
            except Exception as e:  # noqa: BLE001 - moby records a probe error as a failed result
                log.warning("Health check for container %s error: %s", c.rec.id, e)
                result = {"Start": rfc3339nano(start_ns), "End": rfc3339nano(now_ns()), "ExitCode": -1,
                          "Output": str(e)}
            with c.lock:
                if stop.is_set():
                    return     # stopped while probing: the result is dropped, as moby's
                rec = c.rec
                health = rec.state.health
                if health is None:
                    return
                changed = apply_result(health, result, start_ns, rec.state.started_at_ns, hc)
                try:
                    rec.save()
                except OSError as e:
                    log.warning("saving health of %s: %s", rec.id, e)
                if changed:
                    self._publish(rec, "health_status: " + health["Status"], None)

    def _probe(self, c: Any, hc: dict[str, Any], start_ns: int) -> dict[str, Any]:
        """Run the probe once (moby's cmdProbe.run): an exec with no stdin and no TTY, as the
        container's user in its working directory, stdout and stderr captured together."""
        rec = c.rec
        cfg = rec.config
        argv = probe_command(cfg) or []
        timeout_ns = int(hc.get("Timeout") or 0) or DEFAULT_TIMEOUT_NS
        exec_id = new_id()
        shown = argv[0] + " " + " ".join(argv[1:])
        attrs = {"execID": exec_id}
        self._publish(rec, "exec_create: " + shown, attrs)
        env = process_env({"Hostname": cfg.get("Hostname"), "Tty": False, "Env": cfg.get("Env")})
        group_add = [str(g) for g in (rec.host_config or {}).get("GroupAdd") or []]
        try:
            proc = self._spawn(rec.id, argv, env, cfg.get("WorkingDir") or "/", cfg.get("User") or "", group_add)
        except TugboatError as e:
            return self._result(start_ns, -1, e.message)
        except Exception as e:  # noqa: BLE001 - runc's start error: dockerd's exec start error text
            return self._result(start_ns, -1, f"OCI runtime exec failed: {e}: unknown")
        self._publish(rec, "exec_start: " + shown, attrs)
        output = LimitedOutput()
        with self._lock:
            self._probes[rec.id] = exec_id
        try:
            timed_out = self._collect(proc, output, start_ns + timeout_ns)
            code = proc.wait()
        finally:
            with self._lock:
                self._probes.pop(rec.id, None)
        self._publish(rec, "exec_die", {**attrs, "exitCode": str(code)})
        if timed_out:
            return self._result(start_ns, -1, f"Health check exceeded timeout ({go_duration(timeout_ns)})")
        return self._result(start_ns, code, output.text())

    @staticmethod
    def _collect(proc: Any, output: LimitedOutput, deadline_ns: int) -> bool:
        """Read the probe's output until it ends or the deadline passes (then kill it); True on timeout."""
        wake_r, wake_w = os.pipe()
        fired = threading.Event()
        guard = threading.Lock()
        done = False

        def expire() -> None:
            with guard:
                if not done:
                    fired.set()
                    os.write(wake_w, b"x")

        timer = threading.Timer(max(0.0, (deadline_ns - now_ns()) / 1e9), expire)
        timer.daemon = True
        timer.start()
        try:
            for _stream, data in proc.output(wake_r):
                output.write(data)
        finally:
            timer.cancel()
            with guard:
                done = True
            if fired.is_set():
                try:
                    os.kill(proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            os.close(wake_r)
            os.close(wake_w)
        return fired.is_set()

    @staticmethod
    def _result(start_ns: int, code: int, text: str) -> dict[str, Any]:
        return {"Start": rfc3339nano(start_ns), "End": rfc3339nano(now_ns()), "ExitCode": code, "Output": text}
