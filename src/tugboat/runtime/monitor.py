"""Per-container monitor (Tugboat's conmon): keeps a container's stdio, logs and
exit status alive independently of tugd.

Run as ``python -I -S monitor.py <bundle>/monitor.json``; stdlib only, imports
nothing from tugboat, so it starts fast and stays small (one per container).

Life cycle:
1. fork; the parent exits at once (tugd reaps it) and the child calls setsid, so
   the monitor is re-parented away from tugd and out of its session and process
   group: killing tugd (even with SIGKILL) leaves the container and its monitor.
2. PR_SET_CHILD_SUBREAPER: the container's init, a child of ``runc create``,
   becomes our child when runc exits, so we can wait for it and get its status.
3. Create the container's stdio (pipes, or a pty received on a console socket
   with --console-socket), the attach socket, then run ``runc create`` with the
   pipes as its stdio, and report {"ok": pid} or {"error": msg} on the sync fd.
4. Event loop (selectors): container output is appended to the json-file log
   (one JSON object per line, split at \\n, partial data flushed after 16 KiB as
   Docker does) and sent to every attach client as b"\\x01"/b"\\x02" + data;
   client packets become the container's stdin; SIGCHLD (via the wakeup fd)
   reaps children.
5. When init exits: drain the output to EOF, write <state_dir>/exit.json
   atomically, flush and close attach clients (they read EOF), exit.

Sync fd messages (one JSON object per line): {"monitor": pid}, then
{"ok": init_pid} or {"error": message}.
"""

import json
import os
import selectors
import signal
import socket
import sys
import time

READ_SIZE = 32 * 1024
MAX_LINE = 16 * 1024           # Docker's json-file flushes a line without \n at this size
CLIENT_HIGH_WATER = 4 << 20    # stop reading container output while a client lags this much
DRAIN_TIMEOUT = 3.0            # after init exits, wait at most this for the pipes' EOF
PR_SET_CHILD_SUBREAPER = 36
STREAMS = {1: "stdout", 2: "stderr"}


def log_time(ns):
    """Go's RFC3339Nano in UTC, trailing zeros trimmed, as Docker's json-file writes."""
    secs, frac = divmod(ns, 1_000_000_000)
    base = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(secs))
    if frac:
        return base + f".{frac:09d}".rstrip("0") + "Z"
    return base + "Z"


def set_subreaper():
    import ctypes  # only here: keeps the import cost off the common path
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_CHILD_SUBREAPER)")


def runc_error(log_file, stderr_data):
    """runc's last error message from its JSON log, else its stderr text."""
    msg = ""
    try:
        with open(log_file, "rb") as f:
            for line in f.read().decode(errors="replace").splitlines():
                try:
                    rec = json.loads(line)
                except ValueError:
                    continue
                if isinstance(rec, dict) and rec.get("level") in ("error", "fatal", "panic"):
                    msg = str(rec.get("msg", ""))
    except OSError:
        pass
    if not msg:
        lines = [ln.strip() for ln in stderr_data.decode(errors="replace").splitlines() if ln.strip()]
        msg = lines[-1] if lines else ""
    return msg or "runc create failed"


def read_available(fd):
    """Everything readable now from a non-blocking fd (used after runc fails)."""
    out = b""
    while True:
        try:
            chunk = os.read(fd, READ_SIZE)
        except (BlockingIOError, OSError):
            return out
        if not chunk:
            return out
        out += chunk


class LogWriter:
    """Appends Docker json-file records; keeps one partial line per stream."""

    def __init__(self, path):
        os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
        self.fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o640)
        self.partial = {1: b"", 2: b""}

    def _record(self, stream, data, now):
        rec = json.dumps({"log": data.decode("utf-8", "replace"), "stream": STREAMS[stream],
                          "time": log_time(now)}, ensure_ascii=False, separators=(",", ":"))
        return rec.encode() + b"\n"

    def write(self, stream, data):
        now = time.time_ns()
        buf = self.partial[stream] + data
        out = []
        while True:
            i = buf.find(b"\n")
            if i < 0:
                break
            out.append(self._record(stream, buf[:i + 1], now))
            buf = buf[i + 1:]
        while len(buf) >= MAX_LINE:
            out.append(self._record(stream, buf[:MAX_LINE], now))
            buf = buf[MAX_LINE:]
        self.partial[stream] = buf
        if out:
            self._append(b"".join(out))

    def flush(self):
        now = time.time_ns()
        out = [self._record(s, b, now) for s, b in self.partial.items() if b]
        self.partial = {1: b"", 2: b""}
        if out:
            self._append(b"".join(out))

    def _append(self, data):
        try:
            while data:
                n = os.write(self.fd, data)
                data = data[n:]
        except OSError as e:  # a full disk must not kill the container's monitor
            print(f"monitor: log write failed: {e}", file=sys.stderr)


class Client:
    __slots__ = ("sock", "pending", "pending_bytes", "reading")

    def __init__(self, sock):
        self.sock = sock
        self.pending = []
        self.pending_bytes = 0
        self.reading = True


class Monitor:
    def __init__(self, cfg, sync_fd):
        self.cfg = cfg
        self.sync_fd = sync_fd
        self.sel = selectors.DefaultSelector()
        self.clients = {}          # fd -> Client
        self.outputs = {}          # fd -> stream number (1/2)
        self.paused = False        # output reading paused for a lagging client
        self.stdin_fd = -1
        self.stdin_buf = b""
        self.stdin_close_pending = False
        self.init_pid = 0
        self.exit_status = None
        self.exited_at = 0
        self.tty = bool(cfg.get("tty"))
        self.log = LogWriter(cfg["log_path"])
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)  # bound in create()
        self.wake_r = -1

    # -- reporting -----------------------------------------------------------------
    def report(self, **msg):
        if self.sync_fd < 0:
            return
        try:
            os.write(self.sync_fd, json.dumps(msg).encode() + b"\n")
        except OSError:
            pass  # tugd went away; the container keeps its monitor anyway

    def close_sync(self):
        if self.sync_fd >= 0:
            os.close(self.sync_fd)
            self.sync_fd = -1

    # -- setup ---------------------------------------------------------------------
    def listen(self, path):
        """Listen on ``path`` however long it is: sun_path holds 108 bytes, so bind
        through /proc/self/fd/<dir fd>/<name> (clients connect the same way)."""
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass
        s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        dfd = os.open(os.path.dirname(path), os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            s.bind(f"/proc/self/fd/{dfd}/{os.path.basename(path)}")
        finally:
            os.close(dfd)
        os.chmod(path, 0o600)
        s.listen(64)
        return s

    def console_listener(self):
        """runc connects to --console-socket by path; an abstract name (Go's "@"
        prefix) has no length problem, and the peer's pid is checked on accept."""
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        name = f"tugboat-console-{self.cfg['id'][:32]}-{os.getpid()}"
        s.bind("\0" + name)
        s.listen(4)
        return s, "@" + name

    def create(self):
        cfg = self.cfg
        self.listener.close()
        self.listener = self.listen(cfg["attach_socket"])
        console = None
        console_name = ""
        child_fds = []
        if self.tty:
            console, console_name = self.console_listener()
            null = os.open(os.devnull, os.O_RDWR | os.O_CLOEXEC)
            stdio = [null, null, null]
            child_fds = [null]
            err_r = -1
        else:
            out_r, out_w = os.pipe()
            err_r, err_w = os.pipe()
            if cfg.get("open_stdin"):
                in_r, self.stdin_fd = os.pipe()
            else:
                in_r = os.open(os.devnull, os.O_RDONLY | os.O_CLOEXEC)
            stdio = [in_r, out_w, err_w]
            child_fds = [in_r, out_w, err_w]
            self.outputs = {out_r: 1, err_r: 2}
        argv = [cfg["runc"], "--root", cfg["runc_root"], "--log", cfg["runc_log"], "--log-format", "json",
                "create", "--bundle", cfg["bundle"], "--pid-file", cfg["pid_file"]]
        if console is not None:
            argv += ["--console-socket", console_name]
        argv.append(cfg["id"])
        actions = [(os.POSIX_SPAWN_DUP2, fd, i) for i, fd in enumerate(stdio)]
        try:
            pid = os.posix_spawnp(argv[0], argv, os.environ, file_actions=actions, setsigmask=(),
                                 setsigdef=(signal.SIGPIPE, signal.SIGXFSZ, signal.SIGHUP, signal.SIGINT))
        except OSError as e:
            return f"runc: {e}"
        for fd in child_fds:
            os.close(fd)
        _, status = os.waitpid(pid, 0)
        code = os.waitstatus_to_exitcode(status)
        if code != 0:
            data = read_available(err_r) if err_r >= 0 else b""
            return runc_error(cfg["runc_log"], data)
        with open(cfg["pid_file"]) as f:
            self.init_pid = int(f.read().strip())
        if console is not None:
            fds: list[int] = []
            try:
                console.settimeout(0)
                while not fds:
                    conn, _ = console.accept()  # runc has connected and exited by now
                    with conn:
                        cred = conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, 12)
                        if int.from_bytes(cred[:4], sys.byteorder) != pid:
                            continue  # not our runc: ignore whatever it sends
                        _, fds, _, _ = socket.recv_fds(conn, 4096, 1)
            except OSError as e:
                return f"receiving the container's console: {e}"
            finally:
                console.close()
            if not fds:
                return "runc sent no console"
            master = fds[0]
            os.set_inheritable(master, False)
            self.outputs = {master: 1}
            if cfg.get("open_stdin"):
                self.stdin_fd = os.dup(master)
        return ""

    # -- loop ----------------------------------------------------------------------
    def run(self):
        for fd in self.outputs:
            os.set_blocking(fd, False)
            self.sel.register(fd, selectors.EVENT_READ, "out")
        if self.stdin_fd >= 0:
            os.set_blocking(self.stdin_fd, False)
        self.listener.setblocking(False)
        self.sel.register(self.listener, selectors.EVENT_READ, "accept")
        self.sel.register(self.wake_r, selectors.EVENT_READ, "signal")
        self.reap()
        deadline = None
        while True:
            if self.exit_status is not None:
                if deadline is None:
                    deadline = time.monotonic() + DRAIN_TIMEOUT
                if not self.outputs or time.monotonic() >= deadline:
                    break
                timeout = max(0.0, deadline - time.monotonic())
            else:
                timeout = None
            for key, events in self.sel.select(timeout):
                kind = key.data
                if kind == "out":
                    self.on_output(key.fd)
                elif kind == "accept":
                    self.on_accept()
                elif kind == "signal":
                    read_available(self.wake_r)
                    self.reap()
                elif kind == "client":
                    if events & selectors.EVENT_WRITE:
                        self.flush_client(self.clients.get(key.fd))
                    c = self.clients.get(key.fd)
                    if events & selectors.EVENT_READ and c is not None and c.reading:
                        self.on_client_data(c)
                elif kind == "stdin":
                    self.flush_stdin()
        self.finish()

    def reap(self):
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            if pid == self.init_pid and self.exit_status is None:
                code = os.waitstatus_to_exitcode(status)
                self.exit_status = 128 - code if code < 0 else code
                self.exited_at = time.time_ns()

    def on_output(self, fd):
        try:
            data = os.read(fd, READ_SIZE)
        except BlockingIOError:
            return
        except OSError:  # EIO: the pty's last slave closed
            data = b""
        if not data:
            self.sel.unregister(fd)
            os.close(fd)
            del self.outputs[fd]
            return
        stream = self.outputs[fd]
        # A client whose connect() returned before this output was produced must
        # get it, even if its accept event comes later in this select batch.
        self.on_accept()
        self.log.write(stream, data)
        packet = bytes((stream,)) + data
        for c in list(self.clients.values()):
            self.send(c, packet)
        self.update_pause()

    # -- attach clients ------------------------------------------------------------
    def on_accept(self):
        while True:
            try:
                sock, _ = self.listener.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                return
            sock.setblocking(False)
            c = Client(sock)
            self.clients[sock.fileno()] = c
            self.update_client(c)

    def update_client(self, c):
        """(Re)register a client for what it needs: reading stdin data (unless the
        container's stdin is backed up) and writing its pending output."""
        ev = selectors.EVENT_READ if c.reading and not self.stdin_buf else 0
        ev |= selectors.EVENT_WRITE if c.pending else 0
        fd = c.sock.fileno()
        registered = fd in self.sel.get_map()
        if ev and registered:
            self.sel.modify(fd, ev, "client")
        elif ev:
            self.sel.register(fd, ev, "client")
        elif registered:
            self.sel.unregister(fd)

    def send(self, c, packet):
        if c.pending:
            c.pending.append(packet)
            c.pending_bytes += len(packet)
            return
        try:
            c.sock.send(packet)
        except BlockingIOError:
            c.pending.append(packet)
            c.pending_bytes += len(packet)
            self.update_client(c)
        except OSError:
            self.drop(c)

    def flush_client(self, c):
        if c is None:
            return
        while c.pending:
            try:
                c.sock.send(c.pending[0])
            except BlockingIOError:
                return
            except OSError:
                self.drop(c)
                return
            c.pending_bytes -= len(c.pending.pop(0))
        self.update_client(c)
        self.update_pause()

    def drop(self, c):
        fd = c.sock.fileno()
        if self.clients.pop(fd, None) is None:
            return
        try:
            self.sel.unregister(fd)
        except (KeyError, ValueError):
            pass
        c.sock.close()
        self.update_pause()

    def on_client_data(self, c):
        try:
            data = c.sock.recv(READ_SIZE)
        except BlockingIOError:
            return
        except OSError:
            self.drop(c)
            return
        if data:
            if self.stdin_fd >= 0 and not self.stdin_close_pending:
                self.stdin_buf += data
                self.flush_stdin()
            return
        # EOF from this client: it shut down its write side or went away.
        c.reading = False
        self.update_client(c)
        if self.cfg.get("stdin_once") and self.stdin_fd >= 0:
            self.stdin_close_pending = True
            self.flush_stdin()

    def flush_stdin(self):
        fd = self.stdin_fd
        if fd < 0:
            return
        while self.stdin_buf:
            try:
                n = os.write(fd, self.stdin_buf)
            except BlockingIOError:
                break
            except OSError:  # EPIPE: the container closed its stdin
                self.stdin_buf = b""
                self.stdin_close_pending = True
                break
            self.stdin_buf = self.stdin_buf[n:]
        registered = fd in self.sel.get_map()
        if self.stdin_buf and not registered:
            self.sel.register(fd, selectors.EVENT_WRITE, "stdin")
        elif not self.stdin_buf and registered:
            self.sel.unregister(fd)
        # Stop taking client data while the container does not read its stdin.
        for c in list(self.clients.values()):
            self.update_client(c)
        if not self.stdin_buf and self.stdin_close_pending:
            if self.tty:
                try:
                    os.write(fd, b"\x04")  # EOF for the tty's line discipline
                except OSError:
                    pass
            os.close(fd)
            self.stdin_fd = -1

    def update_pause(self):
        lagging = any(c.pending_bytes > CLIENT_HIGH_WATER for c in self.clients.values())
        if lagging and not self.paused:
            for fd in self.outputs:
                self.sel.unregister(fd)
            self.paused = True
        elif not lagging and self.paused:
            for fd in self.outputs:
                self.sel.register(fd, selectors.EVENT_READ, "out")
            self.paused = False

    # -- exit ----------------------------------------------------------------------
    def oom_killed(self):
        for path in self.cfg.get("oom_files") or []:
            try:
                with open(path) as f:
                    for line in f:
                        k, _, v = line.partition(" ")
                        if k == "oom_kill" and int(v or 0) > 0:
                            return True
            except (OSError, ValueError):
                continue
        return False

    def finish(self):
        self.log.flush()
        state = {"exit_code": self.exit_status, "finished_at_ns": self.exited_at,
                 "oom_killed": self.oom_killed(), "error": ""}
        write_atomic(os.path.join(self.cfg["state_dir"], "exit.json"), json.dumps(state).encode())
        try:
            os.unlink(self.cfg["attach_socket"])
        except OSError:
            pass
        self.listener.close()
        deadline = time.monotonic() + DRAIN_TIMEOUT
        for c in list(self.clients.values()):
            try:
                c.sock.setblocking(True)
                c.sock.settimeout(max(0.1, deadline - time.monotonic()))
                for p in c.pending:
                    c.sock.send(p)
                c.sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            c.sock.close()


def write_atomic(path, data):
    tmp = f"{path}.tmp.{os.getpid()}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)


def self_start_time():
    with open("/proc/self/stat") as f:
        return int(f.read().rpartition(")")[2].split()[19])


def main(argv):
    with open(argv[1]) as f:
        cfg = json.load(f)
    sync_fd = int(cfg["sync_fd"])
    if os.fork() != 0:
        os._exit(0)
    os.setsid()
    os.chdir("/")
    os.umask(0o022)
    signal.pthread_sigmask(signal.SIG_SETMASK, [])
    for sig in (signal.SIGHUP, signal.SIGINT, signal.SIGQUIT, signal.SIGTSTP, signal.SIGTTIN, signal.SIGTTOU):
        signal.signal(sig, signal.SIG_IGN)
    mon = Monitor(cfg, sync_fd)
    mon.report(monitor=os.getpid())
    try:
        with open(cfg["monitor_pidfile"] + ".tmp", "w") as f:
            f.write(f"{os.getpid()} {self_start_time()}\n")
        os.replace(cfg["monitor_pidfile"] + ".tmp", cfg["monitor_pidfile"])
        set_subreaper()
        mon.wake_r, wake_w = os.pipe()
        os.set_blocking(mon.wake_r, False)
        os.set_blocking(wake_w, False)
        signal.set_wakeup_fd(wake_w, warn_on_full_buffer=False)
        signal.signal(signal.SIGCHLD, lambda *_: None)
        err = mon.create()
    except Exception as e:  # report anything, never leave tugd waiting
        err = f"monitor: {type(e).__name__}: {e}"
    if err:
        mon.report(error=err)
        try:
            os.unlink(cfg["attach_socket"])
        except OSError:
            pass
        return 1
    mon.report(ok=mon.init_pid)
    mon.close_sync()
    mon.run()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
