"""Per-container monitor (Tugboat's conmon): keeps a container's stdio, logs and
exit status alive independently of tugd.

Run as ``python -I -S monitor.py <bundle>/monitor.conf`` (tugd loads it through
a one-line -c launcher so that its .pyc is reused); stdlib only, imports
nothing from tugboat, so it starts fast and stays small (one per container).
It does not even import ``json`` (whose ``re`` and ``enum`` imports cost more
than the rest of the monitor): the config is "key=value" lines (see
``load_config``), log records are built with _json's C string encoder, and
sync messages are plain text.

Life cycle:
1. fork; the parent exits at once (tugd reaps it) and the child calls setsid, so
   the monitor is re-parented away from tugd and out of its session and process
   group: killing tugd (even with SIGKILL) leaves the container and its monitor.
2. PR_SET_CHILD_SUBREAPER: the container's init, a child of ``runc create``,
   becomes our child when runc exits, so we can wait for it and get its status.
3. Create the container's stdio (pipes, or a pty received on a console socket
   with --console-socket), the attach socket, then run ``runc create`` with the
   pipes as its stdio, and report {"ok": pid} or {"error": msg} on the sync fd.
4. Event loop (epoll): container output is appended to the json-file log
   (one JSON object per line, split at \\n, partial data flushed after 16 KiB as
   Docker does) and sent to every attach client as b"\\x01"/b"\\x02" + data;
   client packets become the container's stdin; SIGCHLD (via the wakeup fd)
   reaps children.
5. When init exits: drain the output to EOF, write <state_dir>/exit.json
   atomically, flush and close attach clients (they read EOF), exit.

Sync fd messages, one per line: "monitor <pid>", then "ok <init pid>" or
"error <message>" (newlines in the message escaped as in the config).
"""

import _signal as signal  # the C modules: "signal", "socket" and "selectors" import enum,
import _socket as socket  # collections and more, a third of the monitor's start-up
import os
import select
import sys
import time
from _collections import deque
from _json import encode_basestring as _encode_str  # CPython's C encoder; no "re" import

READ_SIZE = 32 * 1024           # container output read at once (and one attach packet)
PACKET_MAX = 256 * 1024         # largest stdin packet taken from a client (a SEQPACKET's limit is
                                # the sender's socket buffer, 208 KiB by default); never truncated
MAX_LINE = 16 * 1024           # Docker's json-file flushes a line without \n at this size
CLIENT_HIGH_WATER = 4 << 20    # stop reading container output while a client lags this much
DRAIN_TIMEOUT = 3.0            # after init exits, wait at most this for the pipes' EOF
PR_SET_CHILD_SUBREAPER = 36
STREAMS = {1: "stdout", 2: "stderr"}
LIST_KEYS = ("oom_file",)



def escape(s):
    """The config's value escaping (tugd writes it with the same rules)."""
    return s.replace("\\", "\\\\").replace("\n", "\\n")


def unescape(s):
    out, i = [], 0
    while i < len(s):
        c = s[i]
        if c == "\\" and i + 1 < len(s):
            out.append("\n" if s[i + 1] == "n" else s[i + 1])
            i += 2
            continue
        out.append(c)
        i += 1
    return "".join(out)


def load_config(path):
    """"key=value" lines; keys in LIST_KEYS may repeat; "1"/"0" are booleans to the reader."""
    cfg: dict = {k: [] for k in LIST_KEYS}
    with open(path, encoding="utf-8", errors="surrogateescape") as f:
        for line in f.read().split("\n"):
            if not line:
                continue
            k, _, v = line.partition("=")
            if k in LIST_KEYS:
                cfg[k].append(unescape(v))
            else:
                cfg[k] = unescape(v)
    return cfg


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
    import json  # failure path only

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
    """Appends Docker json-file records; keeps one partial line per stream.

    Rotation (``log_max_size`` > 0 in the config, dockerd's max-size/max-file): a batch
    that would take the file past max_size is split at record boundaries; the records
    that fit are written, then ``<log>`` becomes ``<log>.1`` (``.1`` -> ``.2`` ...,
    keeping max_file files in all) and a new ``<log>`` is started.  max_file 1 truncates
    in place, as dockerd does.  A record larger than max_size goes alone into a file.
    """

    def __init__(self, path, max_size=0, max_file=1):
        os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
        self.path = path
        self.max_size = max_size
        self.max_file = max(max_file, 1)
        self.fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o640)
        self.size = os.fstat(self.fd).st_size
        self.partial = {1: b"", 2: b""}

    def _record(self, stream, data, now):
        text = _encode_str(data.decode("utf-8", "replace"))
        return f'{{"log":{text},"stream":"{STREAMS[stream]}","time":"{log_time(now)}"}}\n'.encode()

    def write(self, stream, data):
        now = time.time_ns()
        buf = self.partial[stream] + data
        out = []
        # As moby's copier, which never holds more than 16 KiB: a record ends at a newline
        # within the first MAX_LINE bytes, else it is cut at MAX_LINE, however the data was
        # chunked by the reads (so the records do not depend on timing).
        while True:
            i = buf.find(b"\n", 0, MAX_LINE)
            if i >= 0:
                out.append(self._record(stream, buf[:i + 1], now))
                buf = buf[i + 1:]
            elif len(buf) >= MAX_LINE:
                out.append(self._record(stream, buf[:MAX_LINE], now))
                buf = buf[MAX_LINE:]
            else:
                break
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
        if self.max_size > 0:
            while data and self.size + len(data) > self.max_size:
                cut = data.rfind(b"\n", 0, max(self.max_size - self.size, 0)) + 1  # whole records that fit
                if cut == 0 and self.size == 0:
                    cut = data.find(b"\n") + 1 or len(data)  # one record over max_size: alone
                if cut:
                    self._write(data[:cut])
                    data = data[cut:]
                self.rotate()
        if data:
            self._write(data)

    def rotate(self):
        try:
            if self.max_file == 1:
                os.ftruncate(self.fd, 0)
            else:
                for i in range(self.max_file - 1, 1, -1):
                    try:
                        os.rename(f"{self.path}.{i - 1}", f"{self.path}.{i}")
                    except FileNotFoundError:
                        pass
                os.rename(self.path, self.path + ".1")
                fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o640)
                os.close(self.fd)
                self.fd = fd
        except OSError as e:  # keep appending to the file we have
            print(f"monitor: log rotation failed: {e}", file=sys.stderr)
        self.size = 0

    def _write(self, data):
        self.size += len(data)
        try:
            while data:
                n = os.write(self.fd, data)
                data = data[n:]
        except OSError as e:  # a full disk must not kill the container's monitor
            print(f"monitor: log write failed: {e}", file=sys.stderr)


EV_READ, EV_WRITE = 1, 2
_EP_READ = select.EPOLLIN | select.EPOLLHUP | select.EPOLLERR
_EP_WRITE = select.EPOLLOUT | select.EPOLLHUP | select.EPOLLERR


class Poller:
    """The part of selectors we need, on epoll: fd -> (events, kind)."""

    def __init__(self):
        self.ep = select.epoll()
        self.regs = {}

    def set(self, fd, events, kind):
        """Register, modify or (with events == 0) unregister ``fd``."""
        mask = (select.EPOLLIN if events & EV_READ else 0) | (select.EPOLLOUT if events & EV_WRITE else 0)
        if not events:
            if self.regs.pop(fd, None) is not None:
                self.ep.unregister(fd)
        elif fd in self.regs:
            self.ep.modify(fd, mask)
            self.regs[fd] = (events, kind)
        else:
            self.ep.register(fd, mask)
            self.regs[fd] = (events, kind)

    def poll(self, timeout):
        out = []
        for fd, ev in self.ep.poll(-1 if timeout is None else timeout):
            reg = self.regs.get(fd)
            if reg is None:
                continue
            got = (EV_READ if ev & _EP_READ else 0) | (EV_WRITE if ev & _EP_WRITE else 0)
            if got & reg[0]:
                out.append((fd, reg[1], got & reg[0]))
        return out


def accept(listener):
    """socket.accept() for a _socket.socket (the C type has only _accept)."""
    fd, _ = listener._accept()
    return socket.socket(fileno=fd)


def recv_fd(conn):
    """One fd passed with SCM_RIGHTS (what runc sends on the console socket)."""
    _, anc, _, _ = conn.recvmsg(4096, socket.CMSG_LEN(16))
    fds = []
    for level, kind, data in anc:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            fds += [int.from_bytes(data[i:i + 4], sys.byteorder) for i in range(0, len(data) - 3, 4)]
    for extra in fds[1:]:
        os.close(extra)
    return fds[0] if fds else -1


class Client:
    __slots__ = ("sock", "pending", "pending_bytes", "reading")

    def __init__(self, sock):
        self.sock = sock
        self.pending: deque = deque()
        self.pending_bytes = 0
        self.reading = True


class Monitor:
    def __init__(self, cfg, sync_fd):
        self.cfg = cfg
        self.sync_fd = sync_fd
        self.sel = Poller()
        self.clients = {}          # fd -> Client
        self.outputs = {}          # fd -> stream number (1/2)
        self.paused = False        # output reading paused for a lagging client
        self.stdin_fd = -1
        self.stdin_buf = b""
        self.stdin_close_pending = False
        self.init_pid = 0
        self.exit_status = None
        self.exited_at = 0
        self.tty = cfg.get("tty") == "1"
        self.open_stdin = cfg.get("open_stdin") == "1"
        self.stdin_once = cfg.get("stdin_once") == "1"
        self.log = LogWriter(cfg["log_path"], int(cfg.get("log_max_size") or 0),
                             int(cfg.get("log_max_file") or 1))
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)  # bound in create()
        self.wake_r = -1
        self.socket_ino = -1

    # -- reporting -----------------------------------------------------------------
    def report(self, kind, value):
        if self.sync_fd < 0:
            return
        try:
            os.write(self.sync_fd, f"{kind} {escape(str(value))}\n".encode())
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
        self.socket_ino = os.stat(path).st_ino
        s.listen(64)
        return s

    def unlink_socket(self):
        """Remove our attach socket, never a successor's bound at the same path."""
        path = self.cfg["attach_socket"]
        try:
            if os.stat(path).st_ino == self.socket_ino:
                os.unlink(path)
        except OSError:
            pass

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
            if self.open_stdin:
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
            data = b""
            if err_r >= 0:
                os.set_blocking(err_r, False)
                data = read_available(err_r)
            return runc_error(cfg["runc_log"], data)
        with open(cfg["pid_file"]) as f:
            self.init_pid = int(f.read().strip())
        if console is not None:
            master = -1
            try:
                console.settimeout(0)
                while master < 0:
                    conn = accept(console)  # runc has connected and exited by now
                    try:
                        cred = conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, 12)
                        if int.from_bytes(cred[:4], sys.byteorder) != pid:
                            continue  # not our runc: ignore whatever it sends
                        master = recv_fd(conn)
                        if master < 0:
                            return "runc sent no console"
                    finally:
                        conn.close()
            except OSError as e:
                return f"receiving the container's console: {e}"
            finally:
                console.close()
            os.set_inheritable(master, False)
            self.outputs = {master: 1}
            if self.open_stdin:
                self.stdin_fd = os.dup(master)
        return ""

    # -- loop ----------------------------------------------------------------------
    def run(self):
        for fd in self.outputs:
            os.set_blocking(fd, False)
            self.sel.set(fd, EV_READ, "out")
        if self.stdin_fd >= 0:
            os.set_blocking(self.stdin_fd, False)
        self.listener.setblocking(False)
        self.sel.set(self.listener.fileno(), EV_READ, "accept")
        self.sel.set(self.wake_r, EV_READ, "signal")
        self.reap()
        deadline = None
        while True:
            if self.exit_status is not None:
                if deadline is None:
                    deadline = time.monotonic() + DRAIN_TIMEOUT
                    self.update_pause()
                if not self.outputs or time.monotonic() >= deadline:
                    break
                timeout = max(0.0, deadline - time.monotonic())
            else:
                timeout = None
            for fd, kind, events in self.sel.poll(timeout):
                if kind == "out":
                    self.on_output(fd)
                elif kind == "accept":
                    self.on_accept()
                elif kind == "signal":
                    read_available(self.wake_r)
                    self.reap()
                elif kind == "client":
                    if events & EV_WRITE:
                        self.flush_client(self.clients.get(fd))
                    c = self.clients.get(fd)
                    if events & EV_READ and c is not None and c.reading:
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
            self.sel.set(fd, 0, "")
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
                sock = accept(self.listener)
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
        ev = EV_READ if c.reading and not self.stdin_buf else 0
        ev |= EV_WRITE if c.pending else 0
        self.sel.set(c.sock.fileno(), ev, "client")

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
            c.pending_bytes -= len(c.pending.popleft())
        self.update_client(c)
        self.update_pause()

    def drop(self, c):
        fd = c.sock.fileno()
        if self.clients.pop(fd, None) is None:
            return
        self.sel.set(fd, 0, "")
        c.sock.close()
        self.update_pause()

    def on_client_data(self, c):
        try:
            data = c.sock.recv(PACKET_MAX)
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
        # As moby's attach: a client's EOF closes the container's stdin only for StdinOnce
        # without a TTY; a TTY client that goes away (detach keys, a dead terminal) leaves
        # the container running with its stdin open for the next attach.
        if self.stdin_once and not self.tty and self.stdin_fd >= 0:
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
        self.sel.set(fd, EV_WRITE if self.stdin_buf else 0, "stdin")
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
        """Backpressure: a lagging attach client slows the container, as with dockerd;
        but once init has exited the rest is drained (the log must be complete)."""
        lagging = self.exit_status is None and any(
            c.pending_bytes > CLIENT_HIGH_WATER for c in self.clients.values())
        if lagging and not self.paused:
            for fd in self.outputs:
                self.sel.set(fd, 0, "")
            self.paused = True
        elif not lagging and self.paused:
            for fd in self.outputs:
                self.sel.set(fd, EV_READ, "out")
            self.paused = False

    # -- exit ----------------------------------------------------------------------
    def oom_killed(self):
        for path in self.cfg.get("oom_file") or []:
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
        oom = "true" if self.oom_killed() else "false"
        state = (f'{{"exit_code": {int(self.exit_status or 0)}, "finished_at_ns": {int(self.exited_at)}, '
                 f'"oom_killed": {oom}, "error": ""}}\n')
        write_atomic(os.path.join(self.cfg["state_dir"], "exit.json"), state.encode())
        self.unlink_socket()
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
    cfg = load_config(argv[1])
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
    mon.report("monitor", os.getpid())
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
        mon.report("error", err)
        mon.unlink_socket()
        return 1
    mon.report("ok", mon.init_pid)
    mon.close_sync()
    mon.run()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
