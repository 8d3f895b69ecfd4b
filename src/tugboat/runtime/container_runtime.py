"""ContainerRuntime: the engine's only door to runc, mounts, cgroups and monitors.

Per container, everything volatile lives in one bundle dir that dies with it:

    <exec_root>/containers/<id>/   config.json  rootfs/  monitor.conf  monitor.pid
                                   init.pid  runc.log  monitor.log  attach.sock
    <exec_root>/runc/              runc's private state root (runc --root)

What must survive a reboot (the json log, exit.json) lives where the engine says
(StartRequest.log_path / state_dir, under the data root).  The process that
keeps a container's stdio and reaps it is the monitor, not tugd: tugd may
restart or be killed, and ``watch`` finds the monitor again by its MonitorRef
(pid + start time, guarding against pid reuse).

The monitor is the C binary ``<venv>/libexec/tugboat/tug-monitor`` (built by
scripts/setup.sh from runtime/monitor/tug-monitor.c, ~1 MB RSS), a port of
monitor.py with exactly its protocol and files.  monitor.py is the
specification, and the fallback only when the binary is missing;
TUGBOAT_MONITOR=python forces it, TUGBOAT_MONITOR=<path> names another binary.
tugd logs which monitor it uses when it starts.
"""

from __future__ import annotations

import json
import logging
import os
import re
import select
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tugboat.errors import Conflict, InvalidArgument, NotFound, TugboatError
from tugboat.runtime import cgroups, spec
from tugboat.runtime import monitor as monitor_script
from tugboat.runtime import mounts as mnt
from tugboat.runtime.runc import ContainerNotFound, Runc, RuncError
from tugboat.runtime.spec import build_spec, check_host_config
from tugboat.runtime.types import ExitStatus, MonitorRef, Started, StartRequest
from tugboat.runtime.users import resolve_user

log = logging.getLogger("tugboat.runtime")

MONITOR_PATH = Path(__file__).with_name("monitor.py")
# ``python -I -S monitor.py`` would compile the script on every start (a __main__
# script never uses its .pyc): loading it as a module reuses __pycache__ and
# halves the monitor's start-up.  ps still shows monitor.py and the bundle path.
# (importlib.machinery is loaded at start-up anyway; importlib.util would cost 4 ms.)
MONITOR_LAUNCHER = ("import sys,importlib.machinery as M;p=sys.argv[1];m=type(sys)('tugboat_monitor');"
                    "m.__file__=p;M.SourceFileLoader(m.__name__,p).exec_module(m);sys.exit(m.main(sys.argv[1:]))")
# The C port of monitor.py (monitor/tug-monitor.c, built by scripts/setup.sh): same
# protocol and files, ~1 MB RSS instead of ~8.  monitor.py is the fallback when the
# binary is missing.  TUGBOAT_MONITOR: "python" forces monitor.py, a path another binary.
MONITOR_BINARY = Path(sys.prefix) / "libexec" / "tugboat" / "tug-monitor"
CREATE_TIMEOUT = 120.0
_ID = re.compile(r"^[0-9a-zA-Z][0-9a-zA-Z_.-]{0,127}$")


def monitor_command() -> list[str]:
    """The monitor's command line without its config path: the C binary when it
    exists (or TUGBOAT_MONITOR names one), else monitor.py."""
    choice = os.environ.get("TUGBOAT_MONITOR", "")
    if choice != "python":
        binary = Path(choice) if choice else MONITOR_BINARY
        if os.access(binary, os.X_OK):
            return [str(binary)]
        if choice:
            log.warning("TUGBOAT_MONITOR=%s is not executable; using monitor.py", choice)
    return [sys.executable, "-I", "-S", "-c", MONITOR_LAUNCHER, str(MONITOR_PATH)]


def proc_start_time(pid: int) -> int | None:
    """Field 22 of /proc/<pid>/stat (start time in clock ticks), None if gone or a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            rest = f.read().rpartition(")")[2].split()
    except OSError:
        return None
    if not rest or rest[0] in ("Z", "X"):
        return None
    return int(rest[19])


class ContainerRuntime:
    """See docs/TEAM_CONTRACTS.md, "runtime/ interface"."""

    def __init__(self, exec_root: Path, cgroup_parent: str, runc: str = "runc") -> None:
        self.exec_root = Path(exec_root)
        self.cgroup_parent = cgroup_parent.strip("/")
        self.runc = Runc(shutil.which(runc) or runc, self.exec_root / "runc")
        self._lock = threading.Lock()
        self._watchers: dict[str, threading.Thread] = {}
        self._stop_r, self._stop_w = os.pipe()
        # cleanup() may run from a watcher thread and from the engine at once.
        self._cleanup_locks = [threading.Lock() for _ in range(32)]
        self._stopping = False
        self.monitor_cmd = monitor_command()
        log.info("container monitor: %s", self.monitor_cmd[0] if len(self.monitor_cmd) == 1
                 else f"{MONITOR_PATH} (python fallback)")

    # -- paths ---------------------------------------------------------------------
    def bundle(self, id: str) -> Path:
        if not _ID.match(id):
            raise InvalidArgument(f"invalid container id {id!r}")
        return self.exec_root / "containers" / id

    def rootfs(self, id: str) -> Path:
        return self.bundle(id) / "rootfs"

    def _cgroups_path(self, id: str) -> str:
        try:
            spec = json.loads((self.bundle(id) / "config.json").read_text())
            return str(spec["linux"]["cgroupsPath"])
        except (OSError, ValueError, KeyError, TypeError):
            return f"/{self.cgroup_parent}/{id}" if self.cgroup_parent else f"/{id}"

    # -- create / start --------------------------------------------------------------
    def create(self, req: StartRequest) -> Started:
        bundle = self.bundle(req.id)
        if bundle.exists():
            self.cleanup(req.id)  # leftovers of a container that ran before
        bundle.mkdir(parents=True, mode=0o700)
        if req.userns is not None:   # runc mounts the rootfs as the container's (remapped) root
            os.chmod(bundle, 0o711)
        (self.exec_root / "runc").mkdir(mode=0o700, exist_ok=True)
        try:
            return self._create(req, bundle)
        except BaseException:
            try:
                self.cleanup(req.id)
            except Exception:
                log.exception("cleanup after failed create of %s", req.id)
            raise

    def _create(self, req: StartRequest, bundle: Path) -> Started:
        rootfs = bundle / "rootfs"
        mnt.mount_rootfs(list(req.rootfs_mounts), rootfs)
        group_add = [str(g) for g in (req.host_config or {}).get("GroupAdd") or []]
        user = resolve_user(rootfs, req.process.user, group_add)
        spec = build_spec(req, rootfs, user, self.cgroup_parent)
        (bundle / "config.json").write_text(json.dumps(spec, indent=1))

        state_dir = Path(req.state_dir)
        state_dir.mkdir(parents=True, exist_ok=True)
        (state_dir / "exit.json").unlink(missing_ok=True)
        Path(req.log_path).parent.mkdir(parents=True, exist_ok=True)
        cgroups_path = spec["linux"]["cgroupsPath"]
        return self._spawn_monitor(req, bundle, state_dir, cgroups_path)

    def _spawn_monitor(self, req: StartRequest, bundle: Path, state_dir: Path, cgroups_path: str) -> Started:
        sync_r, sync_w = os.pipe()
        cfg: dict[str, Any] = {
            "id": req.id, "runc": self.runc.binary, "runc_root": str(self.runc.root),
            "bundle": str(bundle), "pid_file": str(bundle / "init.pid"), "runc_log": str(bundle / "runc.log"),
            "monitor_pidfile": str(bundle / "monitor.pid"), "log_path": str(req.log_path),
            "state_dir": str(state_dir), "attach_socket": str(bundle / "attach.sock"),
            "tty": req.process.tty, "open_stdin": req.process.open_stdin,
            "stdin_once": req.process.stdin_once, "sync_fd": sync_w,
            "log_max_size": req.log_max_size, "log_max_file": req.log_max_file,
        }
        lines = [f"{k}={_conf_value(v)}" for k, v in cfg.items()]
        lines += [f"oom_file={monitor_script.escape(p)}" for p in cgroups.oom_files(cgroups_path)]
        cfg_path = bundle / "monitor.conf"
        cfg_path.write_text("\n".join(lines) + "\n", encoding="utf-8", errors="surrogateescape")
        try:
            with open(bundle / "monitor.log", "ab") as errlog:
                proc = subprocess.Popen(
                    [*self.monitor_cmd, str(cfg_path)],
                    stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=errlog,
                    pass_fds=(sync_w,), start_new_session=True, cwd="/")
        finally:
            os.close(sync_w)
        try:
            proc.wait(timeout=30)  # the launcher forks the monitor and exits at once
            msgs = self._read_sync(sync_r, CREATE_TIMEOUT)
        finally:
            os.close(sync_r)
        mon_pid = int(msgs.get("monitor") or 0)  # reported right after its fork
        if "ok" not in msgs:
            if mon_pid:
                _wait_gone(mon_pid, 10)
            err = msgs.get("error")
            if not err:
                tail = _tail(bundle / "monitor.log")
                err = "container monitor exited before reporting" + (f": {tail}" if tail else "")
            raise RuncError(str(err))
        start = proc_start_time(mon_pid)
        if start is None:
            raise TugboatError("container monitor exited right after starting the container")
        return Started(pid=int(msgs["ok"]), monitor=MonitorRef(pid=mon_pid, start_time=start))

    @staticmethod
    def _read_sync(fd: int, timeout: float) -> dict[str, str]:
        """Read the monitor's "<kind> <value>" lines until ok/error, EOF or timeout."""
        deadline = time.monotonic() + timeout
        buf, msgs = b"", dict[str, str]()
        while "ok" not in msgs and "error" not in msgs:
            left = deadline - time.monotonic()
            if left <= 0:
                msgs.setdefault("error", "timed out waiting for the container monitor")
                break
            r, _, _ = select.select([fd], [], [], left)
            if not r:
                continue
            chunk = os.read(fd, 65536)
            if not chunk:
                break
            buf += chunk
            while b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                kind, _, value = line.decode(errors="replace").partition(" ")
                msgs[kind] = monitor_script.unescape(value)
        return msgs

    def check_host_config(self, host_config: dict[str, Any]) -> list[str]:
        """For the engine at container create, as dockerd: InvalidArgument for what
        can never run (e.g. 'invalid CapAdd: unknown capability: "CAP_FOO"'), and
        the warnings for knobs this kernel lacks (they are dropped at start)."""
        return check_host_config(host_config or {})

    def start(self, id: str) -> None:
        self.runc.start(id)

    # -- stdio -----------------------------------------------------------------------
    def attach(self, id: str) -> socket.socket:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        dfd = -1
        try:
            # Through the dir fd: the socket's path may exceed sun_path's 108 bytes.
            dfd = os.open(self.bundle(id), os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
            s.connect(f"/proc/self/fd/{dfd}/attach.sock")
        except (FileNotFoundError, ConnectionRefusedError) as e:
            s.close()
            raise Conflict("You cannot attach to a stopped container, start it first") from e
        except BaseException:
            s.close()
            raise
        finally:
            if dfd >= 0:
                os.close(dfd)
        return s

    def resize(self, id: str, height: int, width: int) -> None:
        """Set a TTY container's window size, through the pty slave its init holds."""
        import fcntl
        import struct
        import termios
        pid = self.init_pid(id)
        if pid is None:
            raise Conflict(f"Container {id} is not running")
        try:
            fd = os.open(f"/proc/{pid}/fd/0", os.O_RDWR | os.O_NOCTTY | os.O_CLOEXEC)
        except OSError as e:
            raise Conflict(f"Container {id} is not running") from e
        try:
            if not os.isatty(fd):
                raise InvalidArgument(f"Container {id} has no TTY")
            fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", height, width, 0, 0))
        finally:
            os.close(fd)

    def init_pid(self, id: str) -> int | None:
        try:
            pid = int((self.bundle(id) / "init.pid").read_text().strip())
        except (OSError, ValueError):
            return None
        return pid if proc_start_time(pid) is not None else None

    # -- signals and state -------------------------------------------------------------
    def signal(self, id: str, sig: int) -> None:
        try:
            self.runc.kill(id, int(sig))
        except ContainerNotFound as e:
            raise NotFound(f"No such container: {id}") from e
        except RuncError as e:
            if "not running" in e.message or "process already finished" in e.message:
                raise Conflict(f"Container {id} is not running") from e
            raise

    def pause(self, id: str) -> None:
        self.runc.pause(id)

    def resume(self, id: str) -> None:
        self.runc.resume(id)

    def update(self, id: str, resources: dict[str, Any]) -> list[str]:
        """Apply HostConfig resource fields (only the changed ones) to a live container;
        returns the warnings for knobs this kernel lacks, as at create."""
        warnings: list[str] = []
        if resources.get("PidsLimit") == 0:  # docker update --pids-limit 0: unlimited
            resources = {**resources, "PidsLimit": -1}
        res = spec.resources(resources, spec.detect_host(), warnings)
        if res:
            self.runc.update(id, res)
        return warnings

    def ps(self, id: str) -> list[int]:
        return self.runc.ps(id)

    def stats(self, id: str) -> dict[str, Any]:
        return self.runc.stats(id)

    def state(self, id: str) -> dict[str, Any] | None:
        return self.runc.state(id)

    def is_alive(self, monitor: MonitorRef) -> bool:
        return proc_start_time(monitor.pid) == monitor.start_time

    def read_exit(self, state_dir: Path) -> ExitStatus | None:
        try:
            data = json.loads((Path(state_dir) / "exit.json").read_text())
        except (OSError, ValueError):
            return None
        if not isinstance(data, dict) or data.get("exit_code") is None:
            return None
        return ExitStatus(exit_code=int(data["exit_code"]), finished_at_ns=int(data.get("finished_at_ns") or 0),
                          oom_killed=bool(data.get("oom_killed")), error=str(data.get("error") or ""))

    # -- exit watching ---------------------------------------------------------------
    def watch(self, id: str, monitor: MonitorRef, state_dir: Path,
              on_exit: Callable[[ExitStatus], None]) -> None:
        with self._lock:
            old = self._watchers.get(id)
            if old is not None and old.is_alive():
                raise Conflict(f"container {id} is already watched")
            t = threading.Thread(target=self._watch, args=(id, monitor, Path(state_dir), on_exit),
                                 name=f"watch-{id[:12]}", daemon=True)
            self._watchers[id] = t
        t.start()

    def _watch(self, id: str, monitor: MonitorRef, state_dir: Path,
               on_exit: Callable[[ExitStatus], None]) -> None:
        try:
            if not self._wait_monitor(monitor):
                return  # shutdown: the container keeps running, a later tugd watches it
            status = self.read_exit(state_dir)
            if status is None:
                status = ExitStatus(exit_code=255, finished_at_ns=time.time_ns(), error="monitor died")
            try:
                self.cleanup(id)
            except Exception:
                log.exception("cleanup of exited container %s", id)
            self._unregister(id)  # on_exit may restart the container and watch it again
            try:
                on_exit(status)
            except Exception:
                log.exception("on_exit callback of container %s", id)
        finally:
            self._unregister(id)

    def _unregister(self, id: str) -> None:
        with self._lock:
            if self._watchers.get(id) is threading.current_thread():
                del self._watchers[id]

    def _wait_monitor(self, monitor: MonitorRef) -> bool:
        """Block until the monitor is gone (True) or shutdown() is called (False)."""
        try:
            pidfd = os.pidfd_open(monitor.pid)
        except ProcessLookupError:
            return True
        except OSError as e:  # e.g. EMFILE: fall back to polling /proc
            log.warning("pidfd_open(%d): %s; polling instead", monitor.pid, e)
            while proc_start_time(monitor.pid) == monitor.start_time:
                if self._stopping:
                    return False
                time.sleep(0.5)
            return True
        try:
            # Checked after opening the pidfd: the fd pins this very process.
            if proc_start_time(monitor.pid) != monitor.start_time:
                return True
            poller = select.poll()
            poller.register(pidfd, select.POLLIN)
            poller.register(self._stop_r, select.POLLIN)
            while True:
                for fd, _ in poller.poll():
                    if fd == pidfd:
                        return True
                    if self._stopping:
                        return False
        finally:
            os.close(pidfd)

    def shutdown(self) -> None:
        """Stop the watcher threads; containers and monitors keep running."""
        self._stopping = True
        os.write(self._stop_w, b"x")
        with self._lock:
            threads = list(self._watchers.values())
        for t in threads:
            t.join(timeout=5)

    # -- cleanup and rootfs ------------------------------------------------------------
    def cleanup(self, id: str) -> None:
        """Delete runc's state, unmount the rootfs, remove the bundle and the
        container's cgroups. Idempotent; safe on a half-created container."""
        with self._cleanup_locks[hash(id) % len(self._cleanup_locks)]:
            self._cleanup(id)

    def _cleanup(self, id: str) -> None:
        bundle = self.bundle(id)
        cgroups_path = self._cgroups_path(id)
        try:
            self.runc.delete(id, force=True)
        except ContainerNotFound:
            pass
        except RuncError as e:
            if "does not exist" not in e.message:
                log.warning("runc delete %s: %s", id, e.message)
        # Its container gone, a monitor still running drains and exits within
        # seconds; wait, so that no monitor outlives cleanup and writes into a
        # successor's state dir.
        mon = self._bundle_monitor(bundle)
        if mon is not None:
            _wait_gone(mon.pid, 10, mon.start_time)
            if self.is_alive(mon):
                log.warning("monitor %d of %s did not exit; killing it", mon.pid, id)
                try:
                    os.kill(mon.pid, 9)
                except ProcessLookupError:
                    pass
        mnt.unmount(bundle / "rootfs")
        if mnt.is_mounted(bundle / "rootfs"):
            raise TugboatError(f"rootfs of {id} is still mounted")
        shutil.rmtree(bundle, ignore_errors=True)
        left = cgroups.remove(cgroups_path)
        if left:
            log.warning("cgroups of %s not removed: %s", id, ", ".join(map(str, left)))

    @staticmethod
    def _bundle_monitor(bundle: Path) -> MonitorRef | None:
        try:
            pid, start = (int(x) for x in (bundle / "monitor.pid").read_text().split())
        except (OSError, ValueError):
            return None
        return MonitorRef(pid, start)

    def mount_rootfs(self, id: str, mounts: list[Any]) -> Path:
        target = self.rootfs(id)
        if mnt.is_mounted(target):
            return target
        mnt.mount_rootfs(list(mounts), target)
        return target

    def unmount_rootfs(self, id: str) -> None:
        target = self.rootfs(id)
        mnt.unmount(target)
        try:
            target.rmdir()
            target.parent.rmdir()
        except OSError:
            pass


def _conf_value(v: object) -> str:
    if isinstance(v, bool):
        return "1" if v else "0"
    return monitor_script.escape(str(v))


def _wait_gone(pid: int, timeout: float, start_time: int | None = None) -> None:
    """Until ``pid`` (the process with ``start_time``, if given) is gone."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        st = proc_start_time(pid)
        if st is None or (start_time is not None and st != start_time):
            return
        time.sleep(0.01)


def _tail(path: Path, n: int = 400) -> str:
    try:
        return path.read_text(errors="replace")[-n:].strip()
    except OSError:
        return ""
