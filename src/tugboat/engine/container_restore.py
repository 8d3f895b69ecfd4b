"""Bringing the containers back when tugd starts.

Containers outlive tugd (their monitors keep running), so at start every record is
loaded and reconciled with reality: a live monitor is watched again, a dead one's
exit status is read and recorded, interrupted removals are finished, exited
AutoRemove containers are removed, and restart policies bring their containers up.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tugboat.api.timefmt import now_ns
from tugboat.engine.container_index import ContainerIndex
from tugboat.engine.container_record import ContainerRecord
from tugboat.engine.container_restart import should_restart
from tugboat.engine.container_state import EXITED, REMOVING, RESTARTING, RUNNING, State
from tugboat.errors import Conflict, TugboatError
from tugboat.runtime.types import MonitorRef
from tugboat.store.atomic import remove_tmp_files

log = logging.getLogger(__name__)


class ContainerRestore:
    """Mixed into ContainerService; relies on its index, runtime and lifecycle helpers."""

    _root: Path
    _index: ContainerIndex[Any]
    _runtime: Any
    _container_class: Callable[[ContainerRecord], Any]
    _health: Any     # container_health.HealthMonitor
    _vols: Any       # container_mounts.ContainerVolumes

    def _watch(self, c: Any, monitor: MonitorRef) -> None: ...

    def _restore_network(self, rec: ContainerRecord, running: bool) -> None:
        """Re-adopt (running) or release (dead) the container's network sandbox."""
        networking = getattr(self, "networking", None)
        if networking is not None and rec.sandbox:
            try:
                networking.restore(rec, running)
            except Exception as e:  # noqa: BLE001 - one container's network must not stop tugd
                log.error("restoring the network of %s: %s", rec.id, e)

    def _finish_remove(self, c: Any) -> None: ...

    def _start_locked(self, c: Any) -> None: ...

    def restore(self) -> None:
        for c in self._load_all():
            rec = c.rec
            if not rec.state.running and rec.sandbox:   # tugd died between an exit and its release
                with c.lock:
                    self._restore_network(rec, False)
                    rec.save()
            if rec.state.status == RESTARTING:       # tugd stopped during a restart delay
                with c.lock:
                    rec.state.transition(EXITED)
                    rec.save()
                    c.stopped.set()
            elif rec.state.running and self._readopt(c):
                continue
            if rec.state.status == REMOVING or (rec.auto_remove and not rec.state.running):
                with c.lock:
                    rec.state = State(**{**rec.state.to_json(), "status": REMOVING})
                    try:
                        self._finish_remove(c)
                    except TugboatError as e:
                        log.error("removing %s: %s", rec.id, e)
                continue
            if rec.has_been_started and should_restart(rec.host_config.get("RestartPolicy"), rec.state.exit_code,
                                                       rec.restart_count, rec.manually_stopped):
                threading.Thread(target=self._start_at_boot, args=(c,), daemon=True).start()

    def _load_all(self) -> list[Any]:
        loaded = []
        for d in sorted(self._root.iterdir()) if self._root.exists() else []:
            if not d.is_dir() or self._index.has_id(d.name):
                continue
            remove_tmp_files(d)
            try:
                rec = ContainerRecord.load(d)
            except (OSError, ValueError, KeyError, TypeError) as e:
                log.error("skipping unreadable container record %s: %s", d, e)
                continue
            if rec is None:
                continue
            try:
                self._index.reserve(rec.name, rec.id)
            except Conflict:
                log.error("container %s: name %s is taken, skipping", rec.id, rec.name)
                continue
            c = self._container_class(rec)
            self._index.add(rec.id, c)
            loaded.append(c)
        return loaded

    def _readopt(self, c: Any) -> bool:
        """Watch a container whose monitor is still alive (True); else record how it ended."""
        rec = c.rec
        ref = MonitorRef(**rec.monitor) if rec.monitor else None
        try:
            if ref is not None and self._runtime.is_alive(ref):
                c.stopped.clear()
                with c.lock:   # ports, rules and DNS back before an exit can release them
                    self._restore_network(rec, True)
                self._vols.adopt(rec)   # its volume mounts are counted again before an exit can come
                self._watch(c, ref)
                if rec.state.status == RUNNING:      # moby restarts the healthcheck ("starting")
                    with c.lock:
                        self._health.init(c)
                        rec.save()
                return True
        except Exception as e:  # noqa: BLE001 - treat as dead: the record must not stay "running"
            log.warning("re-adopting %s: %s", rec.id, e)
        status = None
        try:
            status = self._runtime.read_exit(rec.state_dir)
        except Exception as e:  # noqa: BLE001
            log.warning("reading exit status of %s: %s", rec.id, e)
        with c.lock:
            st = rec.state
            st.transition(EXITED)
            st.pid = 0
            st.exit_code = int(status.exit_code) if status else 255
            st.finished_at_ns = int(status.finished_at_ns) if status else now_ns()
            st.oom_killed = bool(status.oom_killed) if status else False
            st.error = (status.error if status else "") or ""
            rec.monitor = None
            self._restore_network(rec, False)
            rec.save()
            c.stopped.set()
        try:
            self._runtime.cleanup(rec.id)
        except Exception as e:  # noqa: BLE001
            log.warning("cleanup of %s: %s", rec.id, e)
        return False

    def _start_at_boot(self, c: Any) -> None:
        with c.lock:
            if c.rec.state.running or not self._index.has_id(c.rec.id):
                return
            try:
                self._start_locked(c)
            except Exception as e:  # noqa: BLE001 - recorded in State.Error by the start path
                log.warning("restart policy: starting %s: %s", c.rec.id, e)
