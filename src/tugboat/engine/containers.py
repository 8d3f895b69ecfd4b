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

Mixins or collaborators: the parts that need the service's insides (the index, a
container's lock, ``_remove``) are mixins of this class, in their own files: restore,
extras (rename, top, diff, prune, stats), update and network connect/disconnect.  What
only reads a container is a separate service, given ``record`` and the public calls it
needs by wiring.py: ``docker exec`` (exec.py), ``docker commit`` (container_commit.py)
and ``docker cp`` (container_archive.py).
"""

from __future__ import annotations

import builtins
import functools
import logging
import os
import shutil
import signal as _signal
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tugboat.api.timefmt import now_ns
from tugboat.engine import container_list, log_options
from tugboat.engine.container_archive import RootfsMounts
from tugboat.engine.container_connect import ContainerConnect
from tugboat.engine.container_extras import ContainerExtras
from tugboat.engine.container_health import HealthMonitor
from tugboat.engine.container_health import validate as health_validate
from tugboat.engine.container_index import ContainerIndex
from tugboat.engine.container_logs import LogEntry, read_log
from tugboat.engine.container_mounts import (
    ContainerVolumes,
    created_rootfs,
    mount_points,
    plan,
    recorded,
    uses_volume,
)
from tugboat.engine.container_names import normalize, random_name
from tugboat.engine.container_network import check_network_mode
from tugboat.engine.container_process import new_id, parse_signal, process_env, start_error
from tugboat.engine.container_record import (
    ContainerRecord,
    build_host_config,
    command_of,
    merge_config,
    write_etc_files,
)
from tugboat.engine.container_restart import next_delay, should_restart
from tugboat.engine.container_restore import ContainerRestore
from tugboat.engine.container_state import CREATED, EXITED, PAUSED, REMOVING, RESTARTING, RUNNING
from tugboat.engine.container_streams import (
    CONDITIONS,
    NOT_RUNNING,
    REMOVED,
    ContainerAttach,
    ContainerWaiter,
)
from tugboat.engine.container_update import ContainerUpdate, verify
from tugboat.engine.events import NullEvents, container_attributes
from tugboat.errors import (
    Conflict,
    InvalidArgument,
    NotFound,
    NotImplementedYet,
    NotModified,
    TugboatError,
)
from tugboat.runtime.types import MonitorRef, ProcessSpec, StartRequest
from tugboat.store.idmap import IdMap

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
        self.restart_delay = 0.0           # restart-policy backoff (seconds), in memory like dockerd
        self.restart_canceled = False      # stopped/killed with its stop signal or SIGKILL
        if not rec.state.running:
            self.stopped.set()


class ContainerService(ContainerRestore, ContainerExtras, ContainerUpdate, ContainerConnect):
    """See module docstring. ``ref`` everywhere is a full ID, a unique ID prefix or a
    name (with or without a leading "/")."""

    idmap: IdMap | None = None   # userns-remap (set by wiring.py): containers get a user namespace

    def __init__(self, root: Path, images: ImageService, layers: LayerStore,
                 runtime: ContainerRuntime, events: Any = None, volumes: Any = None) -> None:
        self._root = Path(root)
        self._vols = ContainerVolumes(volumes)   # engine/container_mounts.py
        self._events = events or NullEvents()
        self._root.mkdir(parents=True, exist_ok=True, mode=0o710)
        self._images = images
        self._layers = layers
        self._runtime = runtime
        self._index: ContainerIndex[_Container] = ContainerIndex()
        self._create_lock = threading.Lock()   # name generation + reservation
        self._container_class = _Container
        self.exec_ids: Callable[[str], builtins.list[str]] | None = None
        # engine/container_network.py's ContainerNetworking, set by wiring.py; None: only lo
        self.networking: Any = None
        self._health = HealthMonitor(runtime, self._publish)
        # stopped containers' rootfs mounted for export, shared with the archive service (cp)
        self.rootfs_mounts = RootfsMounts(runtime, layers)

    def _publish(self, rec: ContainerRecord, action: str, extra: dict[str, str] | None = None) -> None:
        """A container event with dockerd's attributes (labels, image, name + extra)."""
        self._events.publish("container", action, rec.id, container_attributes(rec.name, rec.config, extra))

    # --- lookup -------------------------------------------------------------------------------
    def _get(self, ref: str) -> _Container:
        return self._index.get(ref)

    def record(self, ref: str) -> ContainerRecord:
        """The container's record: the view of a container that the exec, commit and archive
        services are given (wiring.py)."""
        return self._index.get(ref).rec

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
        # dockerd's verifyContainerSettings: resources, capabilities, security options
        warnings = list(self._runtime.check_host_config(host_config))
        if self.idmap is not None and host_config.get("UsernsMode") != "host":
            _check_userns_conflicts(host_config)
        if any("Block I/O weight" in w for w in warnings):
            host_config["BlkioWeight"] = 0   # dropped, as dockerd stores it
        verify(host_config)
        check_network_mode(user, host_config)
        image_ref = user.get("Image") or ""
        if not image_ref:   # dockerd creates an image-less container that cannot run; refuse early
            raise InvalidArgument("no image specified")
        image = self._images.resolve(image_ref)
        config = merge_config(user, (image.config or {}).get("config") or {})
        wd = config.get("WorkingDir") or ""
        if wd and not wd.startswith("/"):
            raise InvalidArgument(
                f"the working directory '{wd}' is invalid, it needs to be an absolute path")
        if config.get("StopSignal"):
            parse_signal(config["StopSignal"])
        health_validate(config)
        argv = command_of(config)
        if not argv:
            raise InvalidArgument("No command specified")
        cid = new_id()
        if not config.get("Hostname"):
            config["Hostname"] = socket.gethostname() if host_config["NetworkMode"] == "host" else cid[:12]
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
        settings = None
        if self.networking is not None:   # dockerd's network checks; Links become "/target:/me/alias"
            try:
                settings = self.networking.created_settings(full_name, config, host_config,
                                                            body.get("NetworkingConfig"))
            except BaseException:
                self._index.release_name(full_name, cid)
                raise
        if host_config.get("NetworkMode") == "host" and host_config.get("PortBindings"):
            warnings.append("Published ports are discarded when using host network mode")
        directory = self._root / cid
        rec = ContainerRecord(id=cid, name=full_name, created_ns=now_ns(), path=argv[0], args=argv[1:],
                              config=config, host_config=host_config, image_id=image.id,
                              directory=directory, driver=self._driver(),
                              networking_config=body.get("NetworkingConfig"),
                              rw_parent=image.top_chain_id, network_settings=settings)
        try:
            directory.mkdir(mode=0o710)
            if self.idmap is not None:   # userns-remap: its root reaches /etc/hosts & co (as dockerd)
                os.chown(directory, os.getuid(), self.idmap.root[1])
            rec.state_dir.mkdir(mode=0o700)
            # Docker's init layer: the /etc/hosts, /proc, ... mount points stay out of `docker diff`
            self._layers.create_rw(cid, image.top_chain_id, init_layer=True)
            if self.networking is not None:   # host-gateway and the daemon's DNS settings known
                self.networking.write_etc(rec)
            else:
                write_etc_files(rec)
            rec.mounts = self._vols.create(
                cid, plan(host_config, config.get("Volumes"), lambda ref: recorded(self._get(ref).rec)),
                functools.partial(created_rootfs, self._runtime, self._layers, cid))
            rec.save()
        except BaseException:
            self._index.release_name(full_name, cid)
            self._discard_files(cid, directory)
            raise
        self._index.add(cid, _Container(rec))
        self._publish(rec, "create")
        return {"Id": cid, "Warnings": warnings}

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
            rec.manually_stopped, rec.restart_count = False, 0
            c.restart_delay, c.restart_canceled = 0.0, False
            self._start_locked(c)

    def _start_locked(self, c: _Container) -> None:
        """Start a created, exited or restarting container; the caller holds c.lock."""
        with c.lock:
            rec = c.rec
            argv = command_of(rec.config)
            if not argv:
                raise InvalidArgument("No command specified")
            try:
                req = self._start_request(rec, argv)
            except TugboatError as e:
                raise self._failed_start(c, e, from_runtime=False) from e
            try:
                started = self._runtime.create(req)
            except Exception as e:
                err = e if isinstance(e, TugboatError) else TugboatError(str(e))
                # the spec's own refusals (a bad --device, a bad seccomp profile) are dockerd's
                # createSpec errors: plain message, exit code 128; the rest is runc's
                raise self._failed_start(c, err, from_runtime=not isinstance(e, InvalidArgument)) from e
            st = rec.state
            st.transition(RUNNING)
            st.pid, st.started_at_ns, st.exit_code, st.error, st.oom_killed = \
                started.pid, now_ns(), 0, "", False
            rec.monitor = {"pid": started.monitor.pid, "start_time": started.monitor.start_time}
            rec.has_been_started = True
            self._health.init(c)
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
            self._publish(rec, "start")

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
        extra_mounts = self._vols.start(rec)
        netns, etc = self._network_of(rec)
        linked = self.networking.link_env(rec) if self.networking is not None else []
        proc = ProcessSpec(args=argv, env=process_env(cfg, linked), cwd=cfg.get("WorkingDir") or "/",
                           user=cfg.get("User") or "", tty=bool(cfg.get("Tty")),
                           open_stdin=bool(cfg.get("OpenStdin")), stdin_once=bool(cfg.get("StdinOnce")))
        max_size, max_file = log_options.rotation(rec.host_config.get("LogConfig") or {})
        return StartRequest(
            id=rec.id, rootfs_mounts=list(self._layers.rw_mounts(rec.id)), process=proc,
            hostname=cfg.get("Hostname") or rec.short_id, domainname=cfg.get("Domainname") or "",
            host_config=rec.host_config, labels=dict(cfg.get("Labels") or {}), etc_files=etc,
            log_path=Path("/dev/null") if rec.log_driver == "none" else rec.log_path,
            log_max_size=max_size, log_max_file=max_file, state_dir=rec.state_dir,
            stop_signal=cfg.get("StopSignal") or "SIGTERM", netns_path=netns,
            extra_mounts=extra_mounts,
            userns=None if rec.host_config.get("UsernsMode") == "host" else self.idmap)

    def _network_of(self, rec: ContainerRecord) -> tuple[str | None, dict[str, Path]]:
        """(netns_path, /etc files): "host" shares the host's namespace, "container:<ref>" joins a
        running container's (and uses its hosts and resolv.conf); anything else gets the sandbox
        of ContainerNetworking (a pinned netns with its endpoints and ports), released on failure."""
        etc = {"/etc/hosts": rec.etc_path("hosts"), "/etc/hostname": rec.etc_path("hostname"),
               "/etc/resolv.conf": rec.etc_path("resolv.conf")}
        mode = rec.host_config.get("NetworkMode") or "default"
        if mode == "host":
            return "host", etc
        if mode.startswith("container:"):
            other = self._get(mode.split(":", 1)[1])
            if other.rec.id == rec.id:
                raise InvalidArgument("cannot join own network")
            if not other.rec.state.running or not other.rec.state.pid:
                raise Conflict(f"cannot join network of a non running container: {other.rec.id}")
            etc["/etc/hosts"] = other.rec.etc_path("hosts")
            etc["/etc/hostname"] = other.rec.etc_path("hostname")
            etc["/etc/resolv.conf"] = other.rec.etc_path("resolv.conf")
            # dockerd's initializeNetworking: the joined container's host and domain name too
            rec.config["Hostname"] = other.rec.config.get("Hostname") or other.rec.short_id
            rec.config["Domainname"] = other.rec.config.get("Domainname") or ""
            return f"/proc/{other.rec.state.pid}/ns/net", etc
        if self.networking is None:
            return None, etc
        path = self.networking.setup(rec)
        rec.save()   # a tugd that dies before the runtime starts it finds the sandbox to release
        return str(path), etc

    def _release_network(self, rec: ContainerRecord) -> None:
        """The container's sandbox goes (exit, failed start, removal); never raises."""
        if self.networking is not None and rec.sandbox:
            self.networking.release(rec)

    def _failed_start(self, c: _Container, err: TugboatError, from_runtime: bool = True) -> TugboatError:
        """dockerd: the container stays "created" (or "exited"), with Error and ExitCode set,
        and an AutoRemove container is removed (so `docker run --rm` waiting for "removed" ends)."""
        rec = c.rec
        if from_runtime:
            code, message, cls = start_error(err.message)
        else:
            code, message, cls = 128, err.message, type(err)
        rec.state.exit_code, rec.state.error = code, message
        try:
            self._runtime.cleanup(rec.id)
        except Exception as e:  # noqa: BLE001
            log.warning("cleanup of %s after failed start: %s", rec.id, e)
        self._release_network(rec)
        self._vols.stop(rec)
        rec.save()
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
            self._health.stop(c)
            exit_code = int(status.exit_code)
            restart = not c.restart_canceled and should_restart(
                rec.host_config.get("RestartPolicy"), exit_code, rec.restart_count, rec.manually_stopped)
            st.transition(RESTARTING if restart else EXITED)
            st.pid, st.exit_code = 0, exit_code
            st.finished_at_ns = int(status.finished_at_ns or now_ns())
            st.oom_killed = bool(getattr(status, "oom_killed", False))
            st.error = getattr(status, "error", "") or ""
            rec.monitor = None
            self._vols.stop(rec)
            self._release_network(rec)
            self._publish(rec, "die", {"exitCode": str(exit_code)})
            if restart:
                rec.restart_count += 1
                c.restart_delay = next_delay(c.restart_delay, st.finished_at_ns - st.started_at_ns)
                timer = threading.Timer(c.restart_delay, self._restart_now, args=(c,))
                timer.daemon = True
                timer.start()
            else:
                c.stopped.set()
            rec.save()   # the runtime's watcher has already cleaned up (runc delete, unmount)
            keep = []
            for w in c.waiters:
                if w.condition == REMOVED:
                    keep.append(w)
                else:
                    w.release(st.exit_code)
            c.waiters = keep
        if rec.auto_remove:
            self._auto_remove(c)

    def _restart_now(self, c: _Container) -> None:
        """The restart policy's delayed start; a stop or remove meanwhile cancels it."""
        with c.lock:
            if c.rec.state.status != RESTARTING or not self._index.has_id(c.rec.id):
                return
            try:
                self._start_locked(c)
            except Exception as e:  # noqa: BLE001 - recorded in State.Error, as dockerd does
                log.warning("restarting %s: %s", c.rec.id, e)
                self._cancel_restart(c, error=str(e))

    def _cancel_restart(self, c: _Container, error: str | None = None) -> None:
        st = c.rec.state
        if st.status == RESTARTING:
            st.transition(EXITED)
            if error is not None:
                st.error = error
            c.rec.save()
            c.stopped.set()
            for w in [w for w in c.waiters if w.condition != REMOVED]:
                w.release(st.exit_code, st.error)
            c.waiters = [w for w in c.waiters if w.condition == REMOVED]

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
            c.rec.manually_stopped, c.restart_canceled = True, True
            c.rec.save()
            if c.rec.state.status == RESTARTING:
                self._cancel_restart(c)
                return
            cfg = c.rec.config
            sig = parse_signal(signal or cfg.get("StopSignal") or "SIGTERM")
            if timeout is None:
                timeout = cfg.get("StopTimeout")
                timeout = DEFAULT_STOP_TIMEOUT if timeout is None else int(timeout)
            self._publish(c.rec, "kill", {"signal": str(sig)})
            self._signal(c, sig)
        if not c.stopped.wait(None if timeout < 0 else timeout):
            self._publish(c.rec, "kill", {"signal": str(int(_signal.SIGKILL))})
            self._signal(c, _signal.SIGKILL)
            if not c.stopped.wait(KILL_WAIT_SECONDS):
                raise TugboatError(f"Cannot stop container {ref}: tried to kill container, "
                                   "but did not receive an exit event")
        self._publish(c.rec, "stop")

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
            if c.rec.state.status == RESTARTING:
                raise Conflict(f"Cannot kill container: {ref}: Container {c.rec.id} is restarting, "
                               "wait until the container is running")
            c.rec.manually_stopped = True
            c.rec.save()
            stop_sig = parse_signal(c.rec.config.get("StopSignal") or "SIGTERM")
            if sig in (stop_sig, _signal.SIGKILL):
                c.restart_canceled = True   # moby's ExitOnNext
            try:
                self._runtime.signal(c.rec.id, sig)
            except (Conflict, NotFound) as e:   # exited a moment ago
                raise not_running from e
            self._publish(c.rec, "kill", {"signal": str(sig)})
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
        self._publish(self._get(ref).rec, "restart")

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
            self._health.stop(c)
            c.rec.save()
            self._publish(c.rec, "pause")

    def unpause(self, ref: str) -> None:
        c = self._get(ref)
        with c.lock:
            st = c.rec.state
            if st.status != PAUSED:
                raise Conflict(f"Container {c.rec.id} is not paused")
            self._runtime.resume(c.rec.id)
            st.transition(RUNNING)
            self._health.resume(c)
            c.rec.save()
            self._publish(c.rec, "unpause")

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
            self._remove_link(ref)
            return
        self._remove(self._get(ref), force, ref, volumes)

    def _remove_link(self, ref: str) -> None:
        """dockerd's rmLink: ref names a legacy link, "parent/alias"; the parent loses that link."""
        parent, _, alias = ref.strip("/").rpartition("/")
        if not parent:
            self._get(ref)   # No such container first, as dockerd looks the name up before anything
            raise TugboatError("Conflict, cannot remove the default link name of the container")
        try:
            c = self._get(parent)
        except NotFound:
            raise NotFound(f"No such container: {ref.strip('/')}") from None
        with c.lock:
            if self.networking is None or not self.networking.remove_link(c.rec, alias):
                raise NotFound(f"No such container: {ref.strip('/')}")
            c.rec.save()

    def _remove(self, c: _Container, force: bool, ref: str | None = None, volumes: bool = False) -> None:
        rec = c.rec
        with c.lock:
            if not self._index.has_id(rec.id):
                raise NotFound(f"No such container: {ref or rec.id}")
            if rec.state.status == REMOVING:
                raise Conflict(f"removal of container {ref or rec.id} is already in progress")
            if rec.state.status == RESTARTING:
                if not force:
                    raise Conflict(f"You cannot remove a restarting container {rec.id}. Stop the "
                                   "container before attempting removal or force remove")
                self._cancel_restart(c)
            if rec.state.running:
                if not force:
                    raise Conflict(f"You cannot remove a running container {rec.id}. Stop the "
                                   "container before attempting removal or force remove")
                rec.manually_stopped, c.restart_canceled = True, True
                self._publish(rec, "kill", {"signal": str(int(_signal.SIGKILL))})
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
            self._finish_remove(c, volumes)

    def _finish_remove(self, c: _Container, volumes: bool = False) -> None:
        rec = c.rec
        self._release_network(rec)
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
        self._vols.remove(rec, volumes or rec.auto_remove)
        self._publish(rec, "destroy")
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
        return [container_list.summary(r, self._sizes(r, omit_empty=True) if size else None) for r in recs]

    def _image_id_of(self, ref: str) -> str | None:
        try:
            return self._images.resolve(ref).id
        except NotFound:
            return None

    def _sizes(self, rec: ContainerRecord, omit_empty: bool = False) -> dict:
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
        sizes = {"SizeRw": rw, "SizeRootFs": rw + base}
        # ContainerSummary's sizes are plain omitempty ints; inspect's are pointers (always shown).
        return {k: v for k, v in sizes.items() if v} if omit_empty else sizes

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
            info = rec.inspect(self._graph_driver(rec), self._sizes(rec) if size else None)
        if self.exec_ids is not None:      # the exec service's, set by wiring.py
            info["ExecIDs"] = self.exec_ids(rec.id) + self._health.probe_ids(rec.id) or None
        return info

    def logs(self, ref: str, stdout: bool = True, stderr: bool = True, follow: bool = False,
             since_ns: int = 0, until_ns: int = 0, tail: int = -1) -> tuple[bool, Iterator[LogEntry]]:
        """Returns (tty, entries)."""
        c = self._get(ref)
        rec = c.rec
        if (rec.host_config.get("LogConfig") or {}).get("Type") == "none":
            raise NotImplementedYet("configured logging driver does not support reading")
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
            self._publish(rec, "attach")
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
        self._publish(rec, "export")
        with c.lock:   # a stopped container's rootfs is mounted, shared with concurrent cp's
            ctx = self.rootfs_mounts.hold(c.rec)
            path = ctx.__enter__()

        def stream() -> Iterator[bytes]:
            try:
                yield from tar_directory(Path(path), self.idmap)
            finally:
                ctx.__exit__(None, None, None)
        return stream()

    # --- daemon lifecycle ---------------------------------------------------------------------
    def shutdown(self) -> None:
        """Stop watching; the containers and their monitors keep running."""
        self._health.shutdown()
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

    def ids_using_volume(self, name: str) -> builtins.list[str]:
        return [c.rec.id for c in self._index.values() if uses_volume(c.rec, name)]

    def ids_using_image(self, image_id: str) -> builtins.list[str]:
        return [c.rec.id for c in self._index.values() if c.rec.image_id == image_id]


def _check_userns_conflicts(hc: dict[str, Any]) -> None:
    """dockerd's verifyPlatformContainerSettings with userns-remap: these need ``--userns=host``."""
    if hc.get("Privileged"):
        raise InvalidArgument("privileged mode is incompatible with user namespaces.  You must run the container "
                              "in the host namespace when running privileged mode")
    if hc.get("NetworkMode") == "host":
        raise InvalidArgument("cannot share the host's network namespace when user namespaces are enabled")
    if hc.get("PidMode") == "host":
        raise InvalidArgument("cannot share the host PID namespace when user namespaces are enabled")
