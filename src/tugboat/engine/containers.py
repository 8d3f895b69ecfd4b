"""Container service: lifecycle of containers (create/start/stop/kill/wait/remove),
listing and inspection, logs and attach.

The service keeps one in-memory ``_Container`` per container (record + lock + the
waiters and attach streams registered on it) and writes the record to
``<root>/<id>/config.v2.json`` on every state change, so a restarted tugd can
``restore()`` everything and re-adopt containers whose monitors kept running.
Only the runtime runs processes; only the layer store touches filesystems.

Locking: the name/ID index has its own lock (taken only inside ``ContainerIndex``);
each container has an RLock held for the whole of a state change.  Nothing waits for a
container to exit while holding its lock, because the exit callback needs it.
"""

from __future__ import annotations

import builtins
import functools
import logging
import shutil
import signal as _signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tugboat.api.timefmt import now_ns
from tugboat.engine import container_list
from tugboat.engine.container_index import ContainerIndex
from tugboat.engine.container_logs import LogEntry, read_log
from tugboat.engine.container_mounts import mount_points, prepare_sources
from tugboat.engine.container_names import normalize, random_name
from tugboat.engine.container_process import new_id, parse_signal, process_env, start_error
from tugboat.engine.container_record import (
    ContainerRecord,
    build_host_config,
    command_of,
    merge_config,
    write_etc_files,
)
from tugboat.engine.container_state import CREATED, EXITED, PAUSED, REMOVING, RUNNING, State
from tugboat.engine.container_streams import (
    CONDITIONS,
    NOT_RUNNING,
    REMOVED,
    ContainerAttach,
    ContainerWaiter,
)
from tugboat.errors import (
    Conflict,
    InvalidArgument,
    NotFound,
    NotImplementedYet,
    NotModified,
    TugboatError,
)
from tugboat.runtime.types import MonitorRef, ProcessSpec, StartRequest
from tugboat.store.atomic import remove_tmp_files

if TYPE_CHECKING:
    from tugboat.engine.images import ImageService
    from tugboat.runtime import ContainerRuntime
    from tugboat.store.layers import LayerStore

# Re-exported: the server codes against these names in this module.
from tugboat.engine.container_streams import ContainerAttach as AttachStream  # noqa: E402,F401
from tugboat.engine.container_streams import ContainerWaiter as Waiter  # noqa: E402,F401

__all__ = ["AttachStream", "ContainerService", "LogEntry", "Waiter"]

log = logging.getLogger(__name__)

DEFAULT_STOP_TIMEOUT = 10
KILL_WAIT_SECONDS = 30


class _Container:
    """A record plus what lives only in memory: its lock, waiters, pending attaches."""

    def __init__(self, rec: ContainerRecord) -> None:
        self.rec = rec
        self.lock = threading.RLock()
        self.waiters: list[ContainerWaiter] = []
        self.attaches: list[ContainerAttach] = []
        self.stopped = threading.Event()   # set whenever the container is not running
        if not rec.state.running:
            self.stopped.set()


class ContainerService:
    """See module docstring. ``ref`` everywhere is a full ID, a unique ID prefix or a
    name (with or without a leading "/")."""

    def __init__(self, root: Path, images: ImageService, layers: LayerStore,
                 runtime: ContainerRuntime) -> None:
        self._root = Path(root)
        self._root.mkdir(parents=True, exist_ok=True, mode=0o710)
        self._images = images
        self._layers = layers
        self._runtime = runtime
        self._index: ContainerIndex[_Container] = ContainerIndex()
        self._create_lock = threading.Lock()   # name generation + reservation

    # --- lookup -------------------------------------------------------------------------------
    def _get(self, ref: str) -> _Container:
        return self._index.get(ref)

    def _driver(self) -> str:
        return str(getattr(self._layers, "driver_name", "") or "")

    # --- create -------------------------------------------------------------------------------
    def create(self, name: str | None, body: dict, platform: str | None = None) -> dict:
        """body is the API's ContainerConfig + "HostConfig" + "NetworkingConfig".
        Returns {"Id": ..., "Warnings": [...]}."""
        if not isinstance(body, dict) or not body:
            raise InvalidArgument("Config cannot be empty in order to create a container")
        user = {k: v for k, v in body.items() if k not in ("HostConfig", "NetworkingConfig")}
        host_config = build_host_config(body.get("HostConfig"))
        mount_points(host_config)   # validate now: a bad -v fails `docker create`
        image_ref = user.get("Image") or ""
        if not image_ref:
            raise InvalidArgument("No image was specified")  # TODO(dockerd): check wording
        image = self._images.resolve(image_ref)
        config = merge_config(user, (image.config or {}).get("config") or {})
        wd = config.get("WorkingDir") or ""
        if wd and not wd.startswith("/"):
            raise InvalidArgument(
                f"the working directory '{wd}' is invalid, it needs to be an absolute path")
        if config.get("StopSignal"):
            parse_signal(config["StopSignal"])
        argv = command_of(config)
        if not argv:
            raise InvalidArgument("No command specified")
        cid = new_id()
        if not config.get("Hostname"):
            config["Hostname"] = cid[:12]
        with self._create_lock:
            if name:
                full_name = normalize(name)
            else:
                retry = 0
                full_name = "/" + random_name(retry)
                while self._index.name_taken(full_name):
                    retry += 1
                    full_name = "/" + random_name(retry)
            self._index.reserve(full_name, cid)
        directory = self._root / cid
        rec = ContainerRecord(id=cid, name=full_name, created_ns=now_ns(), path=argv[0], args=argv[1:],
                              config=config, host_config=host_config, image_id=image.id,
                              directory=directory, driver=self._driver(),
                              networking_config=body.get("NetworkingConfig"),
                              rw_parent=image.top_chain_id)
        try:
            directory.mkdir(mode=0o710)
            rec.state_dir.mkdir(mode=0o700)
            self._layers.create_rw(cid, image.top_chain_id)
            write_etc_files(rec)
            rec.save()
        except BaseException:
            self._index.release_name(full_name, cid)
            self._discard_files(cid, directory)
            raise
        self._index.add(cid, _Container(rec))
        return {"Id": cid, "Warnings": []}

    def _discard_files(self, cid: str, directory: Path) -> None:
        try:
            self._layers.remove_rw(cid)
        except Exception as e:  # noqa: BLE001 - best effort during rollback
            log.warning("removing RW layer of %s: %s", cid, e)
        shutil.rmtree(directory, ignore_errors=True)

    # --- start --------------------------------------------------------------------------------
    def start(self, ref: str) -> None:
        c = self._get(ref)
        with c.lock:
            rec = c.rec
            if rec.state.running:
                raise NotModified("Container already started")
            if rec.state.status == REMOVING:
                raise Conflict("container is marked for removal and cannot be started")
            argv = command_of(rec.config)
            if not argv:
                raise InvalidArgument("No command specified")
            req = self._start_request(rec, argv)
            try:
                started = self._runtime.create(req)
            except TugboatError as e:
                raise self._failed_start(c, e) from e
            st = rec.state
            st.transition(RUNNING)
            st.pid, st.started_at_ns, st.exit_code, st.error, st.oom_killed = \
                started.pid, now_ns(), 0, "", False
            rec.monitor = {"pid": started.monitor.pid, "start_time": started.monitor.start_time}
            rec.has_been_started = True
            rec.save()
            c.stopped.clear()
            pending, c.attaches = c.attaches, []
            for a in pending:
                if not a.waiting:
                    continue
                try:
                    a.connect(self._runtime.attach(rec.id))
                except Exception as e:  # noqa: BLE001 - an attach failure must not fail the start
                    log.warning("attach to %s: %s", rec.id, e)
                    a.end()
            self._watch(c, started.monitor)
            try:
                self._runtime.start(rec.id)
            except TugboatError:
                try:
                    self._runtime.signal(rec.id, _signal.SIGKILL)
                except TugboatError:
                    pass
                raise

    def _watch(self, c: _Container, monitor: MonitorRef) -> None:
        """runtime.watch, retried while the previous run's watcher thread is still finishing
        (it calls our _on_exit, which wakes the client that now starts the container again)."""
        deadline = time.monotonic() + 5
        while True:
            try:
                self._runtime.watch(c.rec.id, monitor, c.rec.state_dir, functools.partial(self._on_exit, c))
                return
            except Conflict:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.01)

    def _start_request(self, rec: ContainerRecord, argv: list[str]) -> StartRequest:
        cfg = rec.config
        points = mount_points(rec.host_config)
        prepare_sources(points)
        proc = ProcessSpec(args=argv, env=process_env(cfg), cwd=cfg.get("WorkingDir") or "/",
                           user=cfg.get("User") or "", tty=bool(cfg.get("Tty")),
                           open_stdin=bool(cfg.get("OpenStdin")), stdin_once=bool(cfg.get("StdinOnce")))
        return StartRequest(
            id=rec.id, rootfs_mounts=list(self._layers.rw_mounts(rec.id)), process=proc,
            hostname=cfg.get("Hostname") or rec.short_id, domainname=cfg.get("Domainname") or "",
            host_config=rec.host_config, labels=dict(cfg.get("Labels") or {}),
            etc_files={"/etc/hosts": rec.etc_path("hosts"), "/etc/hostname": rec.etc_path("hostname"),
                       "/etc/resolv.conf": rec.etc_path("resolv.conf")},
            log_path=rec.log_path, state_dir=rec.state_dir,
            stop_signal=cfg.get("StopSignal") or "SIGTERM", netns_path=None,
            extra_mounts=[mp.to_oci() for mp in points])

    def _failed_start(self, c: _Container, err: TugboatError) -> TugboatError:
        """dockerd: the container stays "created" (or "exited"), with Error and ExitCode set."""
        rec = c.rec
        code, message, cls = start_error(err.message)
        rec.state.exit_code, rec.state.error = code, message
        rec.save()
        try:
            self._runtime.cleanup(rec.id)
        except Exception as e:  # noqa: BLE001
            log.warning("cleanup of %s after failed start: %s", rec.id, e)
        for a in c.attaches:
            a.end()
        c.attaches = []
        if rec.auto_remove:
            threading.Thread(target=self._auto_remove, args=(c,), daemon=True).start()
        return cls(message)

    # --- exit ---------------------------------------------------------------------------------
    def _on_exit(self, c: _Container, status: Any) -> None:
        """Called once per run by the runtime's watcher thread."""
        with c.lock:
            rec = c.rec
            if not rec.state.running:
                return
            st = rec.state
            st.transition(EXITED)
            st.pid, st.exit_code = 0, int(status.exit_code)
            st.finished_at_ns = int(status.finished_at_ns or now_ns())
            st.oom_killed = bool(getattr(status, "oom_killed", False))
            st.error = getattr(status, "error", "") or ""
            rec.monitor = None
            rec.save()   # the runtime's watcher has already cleaned up (runc delete, unmount)
            c.stopped.set()
            keep = []
            for w in c.waiters:
                if w.condition == REMOVED:
                    keep.append(w)
                else:
                    w.release(st.exit_code)
            c.waiters = keep
        if rec.auto_remove:
            self._auto_remove(c)

    def _auto_remove(self, c: _Container) -> None:
        try:
            self._remove(c, force=True)
        except (NotFound, Conflict):
            pass
        except Exception as e:  # noqa: BLE001
            log.warning("auto-removing %s: %s", c.rec.id, e)

    # --- stop / kill / restart ----------------------------------------------------------------
    def stop(self, ref: str, timeout: int | None = None, signal: str | None = None) -> None:
        c = self._get(ref)
        with c.lock:
            if not c.rec.state.running:
                raise NotModified("Container already stopped")
            cfg = c.rec.config
            sig = parse_signal(signal or cfg.get("StopSignal") or "SIGTERM")
            if timeout is None:
                timeout = cfg.get("StopTimeout")
                timeout = DEFAULT_STOP_TIMEOUT if timeout is None else int(timeout)
            self._signal(c, sig)
        if c.stopped.wait(None if timeout < 0 else timeout):
            return
        self._signal(c, _signal.SIGKILL)
        if not c.stopped.wait(KILL_WAIT_SECONDS):
            raise TugboatError(f"Cannot stop container {ref}: tried to kill container, "
                               "but did not receive an exit event")

    def _signal(self, c: _Container, sig: int) -> None:
        """Deliver a stop/kill signal; a paused container is thawed so it can act on it."""
        try:
            self._runtime.signal(c.rec.id, sig)
        except TugboatError as e:
            if c.rec.state.running and not c.stopped.is_set():
                log.info("signal %d to %s: %s", sig, c.rec.id, e)
        if c.rec.state.status == PAUSED:
            try:
                self._runtime.resume(c.rec.id)
                c.rec.state.transition(RUNNING)
                c.rec.save()
            except TugboatError as e:
                log.info("resume of %s: %s", c.rec.id, e)

    def kill(self, ref: str, signal: str | None = None) -> None:
        c = self._get(ref)
        sig = parse_signal(signal)
        if sig > 64 or sig < 0:
            raise TugboatError(
                f"Cannot kill container: {ref}: The linux daemon does not support signal {signal}")
        with c.lock:
            not_running = Conflict(f"Cannot kill container: {ref}: Container {c.rec.id} is not running")
            if not c.rec.state.running:
                raise not_running
            try:
                self._runtime.signal(c.rec.id, sig)
            except (Conflict, NotFound) as e:   # exited a moment ago
                raise not_running from e
            if sig == _signal.SIGKILL and c.rec.state.status == PAUSED:
                self._signal(c, sig)   # thaw it so that the kill takes effect
        if sig == _signal.SIGKILL:
            c.stopped.wait(KILL_WAIT_SECONDS)

    def restart(self, ref: str, timeout: int | None = None) -> None:
        try:
            self.stop(ref, timeout)
        except NotModified:
            pass
        self.start(ref)

    def pause(self, ref: str) -> None:
        c = self._get(ref)
        with c.lock:
            st = c.rec.state
            if not st.running:
                raise Conflict(f"Container {c.rec.id} is not running")
            if st.status == PAUSED:
                raise Conflict(f"Container {c.rec.id} is already paused")
            self._runtime.pause(c.rec.id)
            st.transition(PAUSED)
            c.rec.save()

    def unpause(self, ref: str) -> None:
        c = self._get(ref)
        with c.lock:
            st = c.rec.state
            if st.status != PAUSED:
                raise Conflict(f"Container {c.rec.id} is not paused")
            self._runtime.resume(c.rec.id)
            st.transition(RUNNING)
            c.rec.save()

    def resize(self, ref: str, height: int, width: int) -> None:
        """TTY window size (POST /containers/{id}/resize)."""
        c = self._get(ref)
        if not c.rec.state.running:
            raise Conflict(f"Container {c.rec.id} is not running")
        self._runtime.resize(c.rec.id, height, width)

    # --- wait ---------------------------------------------------------------------------------
    def wait_begin(self, ref: str, condition: str = "not-running") -> ContainerWaiter:
        condition = condition or NOT_RUNNING
        if condition not in CONDITIONS:
            raise InvalidArgument(f'invalid condition: "{condition}"')
        c = self._get(ref)
        with c.lock:
            w = ContainerWaiter(condition, on_cancel=functools.partial(self._forget_waiter, c))
            if condition == NOT_RUNNING and not c.rec.state.running:
                w.release(c.rec.state.exit_code, c.rec.state.error)
            else:
                c.waiters.append(w)
            return w

    def _forget_waiter(self, c: _Container, w: ContainerWaiter) -> None:
        with c.lock:
            if w in c.waiters:
                c.waiters.remove(w)

    # --- remove -------------------------------------------------------------------------------
    def remove(self, ref: str, force: bool = False, volumes: bool = False, link: bool = False) -> None:
        if link:
            raise NotImplementedYet("container links are not supported")
        self._remove(self._get(ref), force, ref)

    def _remove(self, c: _Container, force: bool, ref: str | None = None) -> None:
        rec = c.rec
        with c.lock:
            if not self._index.has_id(rec.id):
                raise NotFound(f"No such container: {ref or rec.id}")
            if rec.state.status == REMOVING:
                raise Conflict(f"removal of container {ref or rec.id} is already in progress")
            if rec.state.running:
                if not force:
                    raise Conflict(f"You cannot remove a running container {rec.id}. Stop the "
                                   "container before attempting removal or force remove")
                self._signal(c, _signal.SIGKILL)
        if force and not c.stopped.wait(KILL_WAIT_SECONDS):
            raise TugboatError(f"Could not kill running container {rec.id}, cannot remove")
        with c.lock:
            if not self._index.has_id(rec.id):
                return   # removed meanwhile (AutoRemove)
            if rec.state.status == REMOVING:
                raise Conflict(f"removal of container {ref or rec.id} is already in progress")
            rec.state.transition(REMOVING)
            rec.save()
            self._finish_remove(c)

    def _finish_remove(self, c: _Container) -> None:
        rec = c.rec
        try:
            self._runtime.cleanup(rec.id)
        except Exception as e:  # noqa: BLE001 - a leftover bundle must not keep the record
            log.warning("cleanup of %s: %s", rec.id, e)
        try:
            self._layers.remove_rw(rec.id)
        except Exception as e:
            rec.state.transition("dead")
            rec.state.error = str(e)
            rec.save()
            raise TugboatError(f"unable to remove filesystem for {rec.id}: {e}") from e
        shutil.rmtree(rec.directory, ignore_errors=True)
        self._index.remove(rec.id, rec.name)
        for w in c.waiters:
            w.release(rec.state.exit_code)
        c.waiters = []
        for a in c.attaches:
            a.end()
        c.attaches = []

    # --- queries ------------------------------------------------------------------------------
    def list(self, all: bool = False, limit: int = -1, size: bool = False,
             filters: dict[str, list[str]] | None = None) -> list[dict]:
        records = [c.rec for c in self._index.values()]

        def lookup(ref: str) -> ContainerRecord:
            return self._get(ref).rec

        recs = container_list.select(records, all, limit, filters, lookup, self._image_id_of)
        return [container_list.summary(r, self._sizes(r) if size else None) for r in recs]

    def _image_id_of(self, ref: str) -> str | None:
        try:
            return self._images.resolve(ref).id
        except NotFound:
            return None

    def _sizes(self, rec: ContainerRecord) -> dict:
        try:
            rw = int(self._layers.rw_size(rec.id))
        except Exception:  # noqa: BLE001 - sizes are informational
            rw = 0
        base = 0
        if rec.rw_parent:
            try:
                base = sum(int(layer.size or 0) for layer in self._layers.chain(rec.rw_parent))
            except Exception:  # noqa: BLE001
                base = 0
        return {"SizeRw": rw, "SizeRootFs": rw + base}

    def _graph_driver(self, rec: ContainerRecord) -> dict:
        data: dict | None = None
        try:
            for m in self._layers.rw_mounts(rec.id):
                opts = dict(o.split("=", 1) for o in (m.options or []) if "=" in o)
                if "upperdir" in opts:
                    data = {"LowerDir": opts.get("lowerdir", ""),
                            "MergedDir": str(self._runtime.rootfs(rec.id)),
                            "UpperDir": opts["upperdir"], "WorkDir": opts.get("workdir", "")}
        except Exception:  # noqa: BLE001 - GraphDriver is informational
            data = None
        return {"Data": data, "Name": rec.driver or self._driver()}

    def inspect(self, ref: str, size: bool = False) -> dict:
        c = self._get(ref)
        with c.lock:
            rec = c.rec
            return rec.inspect(self._graph_driver(rec), self._sizes(rec) if size else None)

    def logs(self, ref: str, stdout: bool = True, stderr: bool = True, follow: bool = False,
             since_ns: int = 0, until_ns: int = 0, tail: int = -1) -> tuple[bool, Iterator[LogEntry]]:
        """Returns (tty, entries)."""
        c = self._get(ref)
        rec = c.rec
        if rec.host_config.get("LogConfig", {}).get("Type", "json-file") != "json-file":
            raise InvalidArgument("configured logging driver does not support reading")
        entries = read_log(rec.log_path, stdout, stderr, follow, since_ns, until_ns, tail,
                           is_running=lambda: c.rec.state.running)
        return bool(rec.config.get("Tty")), entries

    def attach(self, ref: str, stdin: bool, stdout: bool, stderr: bool,
               stream: bool = True, logs: bool = False) -> ContainerAttach:
        """Live stdio now if running; otherwise connected by the next start() (`docker start -a`)."""
        c = self._get(ref)
        with c.lock:
            rec = c.rec
            replay: Iterator[tuple[int, bytes]] = iter(())
            if logs:
                replay = ((1 if e.stream == "stdout" else 2, e.data)
                          for e in read_log(rec.log_path, stdout, stderr))
            a = ContainerAttach(bool(rec.config.get("Tty")), stdin and bool(rec.config.get("OpenStdin")),
                                stdout, stderr, replay, live=stream)
            if not stream:
                return a
            if rec.state.running:
                try:
                    a.connect(self._runtime.attach(rec.id))
                except Exception as e:  # noqa: BLE001 - exited meanwhile: nothing to stream
                    log.info("attach to %s: %s", rec.id, e)
                    a.end()
            elif rec.state.status in (CREATED, EXITED):
                c.attaches = [x for x in c.attaches if x.waiting] + [a]
            else:
                a.end()
            return a

    def export(self, ref: str) -> Iterator[bytes]:
        from tugboat.store.tarstream import tar_directory

        c = self._get(ref)
        rec = c.rec
        with c.lock:
            if rec.state.running:
                return iter(tar_directory(Path(self._runtime.rootfs(rec.id))))
            path = self._runtime.mount_rootfs(rec.id, list(self._layers.rw_mounts(rec.id)))

        def stream() -> Iterator[bytes]:
            try:
                yield from tar_directory(Path(path))
            finally:
                self._runtime.unmount_rootfs(rec.id)
        return stream()

    # --- daemon lifecycle ---------------------------------------------------------------------
    def restore(self) -> None:
        """Load every record; re-adopt live containers, record exits that happened while
        tugd was down, finish interrupted removals, remove exited AutoRemove containers."""
        loaded: list[_Container] = []
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
            c = _Container(rec)
            try:
                self._index.reserve(rec.name, rec.id)
            except Conflict:
                log.error("container %s: name %s is taken, skipping", rec.id, rec.name)
                continue
            self._index.add(rec.id, c)
            loaded.append(c)
        for c in loaded:
            rec = c.rec
            if rec.state.running:
                ref = MonitorRef(**rec.monitor) if rec.monitor else None
                alive = False
                try:
                    alive = ref is not None and self._runtime.is_alive(ref)
                except Exception as e:  # noqa: BLE001
                    log.warning("checking monitor of %s: %s", rec.id, e)
                if alive and ref is not None:
                    c.stopped.clear()
                    self._runtime.watch(rec.id, ref, rec.state_dir, functools.partial(self._on_exit, c))
                    continue
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
                    rec.save()
                    c.stopped.set()
                try:
                    self._runtime.cleanup(rec.id)
                except Exception as e:  # noqa: BLE001
                    log.warning("cleanup of %s: %s", rec.id, e)
            if rec.state.status == REMOVING or (rec.auto_remove and not rec.state.running):
                with c.lock:
                    rec.state = State(**{**rec.state.to_json(), "status": REMOVING})
                    try:
                        self._finish_remove(c)
                    except TugboatError as e:
                        log.error("removing %s: %s", rec.id, e)

    def shutdown(self) -> None:
        """Stop watching; the containers and their monitors keep running."""
        try:
            self._runtime.shutdown()
        except Exception as e:  # noqa: BLE001
            log.warning("runtime shutdown: %s", e)

    def counts(self) -> builtins.dict[str, int]:
        out = {"running": 0, "paused": 0, "stopped": 0}
        for c in self._index.values():
            st = c.rec.state.status
            if st == "paused":
                out["paused"] += 1
            elif c.rec.state.running:
                out["running"] += 1
            else:
                out["stopped"] += 1
        return out

    def ids_using_image(self, image_id: str) -> builtins.list[str]:
        return [c.rec.id for c in self._index.values() if c.rec.image_id == image_id]

