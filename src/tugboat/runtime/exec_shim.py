"""The parent of one exec process, as containerd's shim is for dockerd: it ends when the process does.

``runc exec`` in the foreground copies the process's output and, before exiting with its status,
waits for the end of that output, which a background child keeping stdout open (``sh -c 'sleep 30 &
echo hi'``) holds back: under dockerd the exec is over when its process exits.  So tugd runs this
script (stdlib only, ``python -I exec_shim.py PIDFILE GRACE TTY RUNC-ARGS...``) in runc's place: it
becomes a child subreaper, starts the process with ``runc exec --detach`` (the process is
reparented to the shim when runc exits), waits for it and exits with its status (128+signal when
killed).  Without a TTY the process has the shim's stdio (tugd's pipes); with one, runc hands the
container's pty master over ``--console-socket`` and the shim copies it to and from its own
terminal (tugd's pty), window size included (SIGWINCH), for at most GRACE seconds after the exit.
If runc fails, the shim exits with runc's status and no pid file: runc's error is in its log.
"""

from __future__ import annotations

import ctypes
import fcntl
import os
import select
import signal
import socket
import subprocess
import sys
import tempfile
import termios
import time

PR_SET_CHILD_SUBREAPER = 36


def _status(status: int) -> int:
    code = os.waitstatus_to_exitcode(status)
    return code if code >= 0 else 128 - code


def _wait_for(pid: int) -> int:
    """Reap children (orphans of a --pid=host exec come here too) until ``pid`` is among them."""
    while True:
        wpid, status = os.waitpid(-1, 0)
        if wpid == pid:
            return _status(status)


def _record(pid_file: str, code: int) -> int:
    """The status, also written to ``status`` beside the pid file the moment the process exited
    (tugd's exec inspect reports it then, while the output may still be draining)."""
    path = os.path.join(os.path.dirname(pid_file), "status")
    with open(path + ".tmp", "w") as f:
        f.write(str(code))
    os.replace(path + ".tmp", path)
    return code


def _copy_size(master: int) -> None:
    try:
        size = fcntl.ioctl(0, termios.TIOCGWINSZ, b"\0" * 8)
        fcntl.ioctl(master, termios.TIOCSWINSZ, size)
    except OSError:
        pass


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def _pump_tty(master: int, pid: int, grace: float, pid_file: str) -> int:
    """Copy between our terminal and the container's pty until the process exits, then what its
    output still brings for ``grace`` seconds; the process's status."""
    signal.signal(signal.SIGWINCH, lambda *_: _copy_size(master))
    _copy_size(master)
    pidfd = os.pidfd_open(pid)
    code: int | None = None
    deadline = 0.0
    inputs = [0, master, pidfd]
    while True:
        timeout = None if code is None else max(0.0, deadline - time.monotonic())
        try:
            ready, _, _ = select.select(inputs, [], [], timeout)
        except InterruptedError:
            continue
        if not ready and code is not None:
            return code
        if pidfd in ready and code is None:
            code, deadline = _record(pid_file, _wait_for(pid)), time.monotonic() + grace
            inputs = [master]
        for fd in ready:
            if fd == pidfd:
                continue
            try:
                data = os.read(fd, 32768)
            except OSError:      # EIO: every holder of the container's pty slave is gone
                data = b""
            if not data:
                if fd == master:
                    return code if code is not None else _record(pid_file, _wait_for(pid))
                inputs.remove(0)
                continue
            try:
                _write_all(1 if fd == master else master, data)
            except OSError:
                return code if code is not None else _record(pid_file, _wait_for(pid))


def _receive_console(sock: socket.socket, runc: subprocess.Popen[bytes]) -> int | None:
    """The pty master runc sends over the console socket (None when runc exits first)."""
    sock.settimeout(0.05)
    while runc.poll() is None:
        try:
            conn, _ = sock.accept()
        except TimeoutError:
            continue
        with conn:
            conn.settimeout(None)
            _, fds, _, _ = socket.recv_fds(conn, 4096, 1)
            return fds[0] if fds else None
    return None


def main(argv: list[str]) -> int:
    pid_file, grace, tty, runc_args = argv[0], float(argv[1]), argv[2] == "1", argv[3:]
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        print(f"prctl(PR_SET_CHILD_SUBREAPER): {os.strerror(ctypes.get_errno())}", file=sys.stderr)
        return 125
    master: int | None = None
    if tty:
        sock_dir = tempfile.mkdtemp(prefix="console-", dir=os.path.dirname(pid_file))
        path = os.path.join(sock_dir, "sock")
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.bind(path)
            sock.listen(1)
            runc = subprocess.Popen([*runc_args[:-1], "--console-socket", path, runc_args[-1]])
            master = _receive_console(sock, runc)
        rc = runc.wait()
    else:
        rc = subprocess.call(runc_args)
    try:
        with open(pid_file) as f:
            pid = int(f.read().strip())
    except (OSError, ValueError):
        return rc or 125
    if master is None:
        null = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):    # only the process holds tugd's pipes now
            os.dup2(null, fd)
        return _record(pid_file, _wait_for(pid))
    return _pump_tty(master, pid, grace, pid_file)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
