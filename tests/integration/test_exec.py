"""docker exec: through tug, the docker CLI and docker-py; every assertion checked against dockerd 20.10."""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shlex
import subprocess
import time

import pytest

from .helpers import HEX64, ok, wait_until

NOT_FOUND = ('OCI runtime exec failed: exec failed: unable to start container process: exec: "nosuch": '
             "executable file not found in $PATH: unknown")


def _running(cli, new_name, *run_args: str) -> tuple[str, str]:
    name = new_name("exec")
    cid = ok(cli("run", "-d", "--name", name, *run_args, "busybox", "sleep", "300")).stdout.strip()
    return name, cid


def test_exec_output_and_exit_codes(cli, new_name):
    name, _ = _running(cli, new_name)
    p = ok(cli("exec", name, "echo", "hi"))
    assert p.stdout == "hi\n" and p.stderr == ""
    p = cli("exec", name, "sh", "-c", "echo out; echo err >&2; exit 3")
    assert (p.returncode, p.stdout, p.stderr) == (3, "out\n", "err\n")
    p = cli("exec", name, "nosuch")
    assert p.returncode == 126
    assert NOT_FOUND in p.stdout + p.stderr
    p = cli("exec", name, "/etc")
    assert p.returncode == 126 and '"/etc": permission denied' in p.stdout + p.stderr


def test_exec_user_workdir_env(cli, new_name):
    name, _ = _running(cli, new_name, "-e", "FROM_RUN=1", "-e", "OVER=run", "-w", "/tmp")
    assert ok(cli("exec", name, "pwd")).stdout == "/tmp\n"
    assert ok(cli("exec", "-w", "/etc", name, "pwd")).stdout == "/etc\n"
    assert ok(cli("exec", "-u", "nobody", name, "id")).stdout == \
        "uid=65534(nobody) gid=65534(nogroup) groups=65534(nogroup)\n"
    assert ok(cli("exec", "-u", "1234:55", name, "id", "-u")).stdout == "1234\n"
    env = ok(cli("exec", "-e", "OVER=exec", "-e", "NEW=x", name, "env")).stdout.splitlines()
    assert "FROM_RUN=1" in env and "OVER=exec" in env and "NEW=x" in env and "OVER=run" not in env
    assert "HOME=/root" in env and not any(e.startswith("TERM=") for e in env)
    p = cli("exec", "-u", "nouser", name, "id")
    assert p.returncode == 126
    assert "unable to find user nouser: no matching entries in passwd file" in p.stdout + p.stderr
    p = cli("exec", "-w", "/nonexist", name, "pwd")
    assert p.returncode == 126 and 'chdir to cwd ("/nonexist") set in config.json failed' in p.stdout + p.stderr


def test_exec_stdin_and_detach(cli, new_name):
    name, _ = _running(cli, new_name)
    p = ok(cli("exec", "-i", name, "cat", input="data\nmore\n"))
    assert p.stdout == "data\nmore\n"
    # without -i the process's stdin is empty
    assert ok(cli("exec", name, "cat", input="ignored\n")).stdout == ""
    p = ok(cli("exec", "-d", name, "sh", "-c", "echo bg > /tmp/bg; sleep 1"))
    assert p.stdout == "" and p.stderr == ""
    wait_until(lambda: cli("exec", name, "cat", "/tmp/bg").stdout == "bg\n", what="the detached exec")


def test_exec_privileged(cli, new_name, tugd):
    name, _ = _running(cli, new_name)
    if tugd.target == "docker":
        # dockerd asks for every capability it knows, inheritable ones too; where the host's
        # bounding set lacks some (as here), runc refuses.  tugd asks for the host's bounding set
        # (as for --privileged containers, see runtime/spec.py), so the exec runs.
        p = cli("exec", "--privileged", name, "true")
        assert p.returncode == 126
        assert "unable to start container process: unable to apply caps: operation not permitted" in p.stdout
        return
    plain = ok(cli("exec", name, "grep", "CapEff", "/proc/self/status")).stdout.split()[1]
    priv = ok(cli("exec", "--privileged", name, "grep", "CapEff", "/proc/self/status")).stdout.split()[1]
    assert int(priv, 16) > int(plain, 16)


def test_exec_into_stopped_and_paused_container(cli, new_name):
    name = new_name("exec")
    cid = ok(cli("create", "--name", name, "busybox", "sleep", "300")).stdout.strip()
    p = cli("exec", name, "true")
    assert p.returncode == 1 and p.stderr == f"Error response from daemon: Container {cid} is not running\n"
    ok(cli("start", name))
    ok(cli("pause", name))
    p = cli("exec", name, "true")
    assert p.returncode == 1
    # dockerd names the paused container as it was given
    assert p.stderr == f"Error response from daemon: Container {name} is paused, unpause the container before exec\n"
    ok(cli("unpause", name))
    ok(cli("exec", name, "true"))
    p = cli("exec", "nosuch-container-" + secrets.token_hex(4), "true")
    assert p.returncode == 1 and "Error response from daemon: No such container: nosuch-container-" in p.stderr


def test_exec_dockerpy(dclient, new_name):
    c = dclient.containers.run("busybox", ["sleep", "300"], name=new_name("exec"), detach=True)
    assert c.exec_run("echo hi") == (0, b"hi\n")
    code, out = c.exec_run(["sh", "-c", "echo a; exit 7"])
    assert (code, out) == (7, b"a\n")
    code, out = c.exec_run("nosuch")
    assert code == 126 and out == NOT_FOUND.encode() + b"\r\n"
    code, out = c.exec_run("pwd", workdir="/etc", user="nobody", environment={"K": "V"})
    assert (code, out) == (0, b"/etc\n")
    code, out = c.exec_run(["sh", "-c", "echo $K"], environment={"K": "V"}, tty=True)
    assert (code, out) == (0, b"V\r\n"), out.decode()
    code, (out, err) = c.exec_run(["sh", "-c", "echo o; echo e >&2"], demux=True)
    assert (code, out, err) == (0, b"o\n", b"e\n")


def test_exec_inspect(dclient, new_name):
    c = dclient.containers.run("busybox", ["sleep", "300"], name=new_name("exec"), detach=True)
    api = dclient.api
    e = api.exec_create(c.id, ["sh", "-c", "exit 5"], user="nobody", stdin=True, tty=True)
    assert HEX64.match(e["Id"])
    info = api.exec_inspect(e["Id"])
    assert info["ExitCode"] is None and info["Running"] is False and info["Pid"] == 0
    assert info["ProcessConfig"] == {"tty": True, "entrypoint": "sh", "arguments": ["-c", "exit 5"],
                                     "privileged": False, "user": "nobody"}
    assert (info["OpenStdin"], info["OpenStdout"], info["OpenStderr"]) == (True, True, True)
    assert info["ContainerID"] == c.id and info["CanRemove"] is False and info["DetachKeys"] == ""
    api.exec_start(e["Id"], tty=True)
    info = api.exec_inspect(e["Id"])
    assert info["ExitCode"] == 5 and info["Running"] is False and info["Pid"] > 0

    assert api.inspect_container(c.id)["ExecIDs"] is None        # finished execs are not listed
    e = api.exec_create(c.id, ["sleep", "30"])
    api.exec_start(e["Id"], detach=True)
    wait_until(lambda: api.exec_inspect(e["Id"])["Running"], what="the exec to run")
    assert api.inspect_container(c.id)["ExecIDs"] == [e["Id"]]
    import docker
    with pytest.raises(docker.errors.APIError) as err:
        api.exec_start(e["Id"], detach=True)
    assert err.value.status_code == 409
    c.remove(force=True)
    with pytest.raises(docker.errors.NotFound):
        api.exec_inspect(e["Id"])
    with pytest.raises(docker.errors.NotFound):
        api.exec_inspect("nosuchexec")


def _tmux(sock: str, *args: str) -> str:
    """tmux on a server of the test's own (-L), killed at the end: nothing is left behind."""
    return subprocess.run(["tmux", "-L", sock, *args], capture_output=True, text=True, check=False).stdout


class _Terminal:
    """A command in a real terminal: a tmux server of the test's own, killed at the end."""

    def __init__(self, command: str) -> None:
        self.name = f"tugexec{secrets.token_hex(4)}"
        self.socket = f"/tmp/{self.name}.tmux"      # -S: a socket of our own, removed in close()
        subprocess.run(["tmux", "-S", self.socket, "new-session", "-d", "-s", self.name, "-x", "120", "-y", "30",
                        command], check=True)

    def tmux(self, *args: str) -> str:
        return subprocess.run(["tmux", "-S", self.socket, *args], capture_output=True, text=True,
                              check=False).stdout

    def screen(self) -> str:
        return self.tmux("capture-pane", "-p", "-t", self.name)

    def keys(self, *keys: str) -> None:
        self.tmux("send-keys", "-t", self.name, *keys)

    def expect(self, text: str) -> None:
        wait_until(lambda: text in self.screen(), what=f"{text!r} on the screen")

    def close(self) -> None:
        self.tmux("kill-server")
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.socket)


def _exec_it(cli, tugd, name: str) -> _Terminal:
    env = " ".join(f"{k}={shlex.quote(v)}" for k, v in tugd.env.items() if k in ("DOCKER_HOST", "TUG_HOST"))
    return _Terminal(f"env {env} {shlex.quote(str(cli.binary))} exec -it {name} sh; echo EXITED=$?; sleep 60")


def test_exec_interactive_tty(cli, new_name, tugd):
    name, _ = _running(cli, new_name)
    term = _exec_it(cli, tugd, name)
    try:
        term.expect("/ #")
        term.keys("echo $((6*7)); stty size", "Enter")
        term.expect("\n42\n")
        term.expect("\n30 120\n")
        term.keys("exit 4", "Enter")
        term.expect("EXITED=4")
    finally:
        term.close()
    assert json.loads(ok(cli("inspect", name)).stdout)[0]["State"]["Running"]


def test_exec_detach_keys(cli, new_name, tugd):
    name, _ = _running(cli, new_name)
    term = _exec_it(cli, tugd, name)
    try:
        term.expect("/ #")
        term.keys("exec sleep 123", "Enter")
        wait_until(lambda: "sleep 123" in cli("top", name).stdout, what="the exec's process")
        term.keys("C-p", "C-q")
        term.expect("read escape sequence")
        term.expect("EXITED=1")
        time.sleep(0.3)
        assert "sleep 123" in ok(cli("top", name)).stdout      # detached: the process runs on
    finally:
        term.close()


def test_exec_cli_errors(cli, new_name):
    name, _ = _running(cli, new_name)
    p = cli("exec", "-d", name, "nosuch")
    assert p.returncode == 1 and p.stderr == f"Error response from daemon: {NOT_FOUND}\n"
    p = cli("exec", name)
    assert p.returncode == 1
    assert p.stderr.startswith(f"{cli.name}: '{cli.name} exec' requires at least 2 arguments\n")
    p = cli("exec", "-it", name, "cat", input="hi\n")
    assert (p.returncode, p.stderr) == (1, "the input device is not a TTY\n")
    p = cli("exec", "--detach-keys=bad", name, "true")
    assert (p.returncode, p.stderr) == (1, "Error response from daemon: Invalid escape keys (bad) provided\n")
    p = cli("exec", "-e", "=x", name, "true")
    assert p.returncode == 125
    assert p.stderr.startswith('invalid argument "=x" for "-e, --env" flag: invalid environment variable: =x\n')
    p = cli("exec", "-t", name, "sh", "-c", "echo $TERM; tty")
    assert (p.returncode, p.stdout) == (0, "xterm\n/dev/pts/0\n")   # text mode: \r\n read as \n



def test_exec_events(cli, new_name):
    name, _ = _running(cli, new_name)
    since = str(int(time.time()) - 1)
    assert cli("exec", name, "sh", "-c", "exit 2").returncode == 2
    p = ok(cli("events", "--since", since, "--until", str(int(time.time()) + 1), "--filter", f"container={name}",
               "--format", "{{.Action}} {{json .Actor.Attributes}}"))
    lines = [ln for ln in p.stdout.splitlines() if ln.startswith("exec_")]
    assert [ln.split(" {")[0] for ln in lines] == ["exec_create: sh -c exit 2", "exec_start: sh -c exit 2", "exec_die"]
    attrs = [json.loads("{" + ln.split(" {", 1)[1]) for ln in lines]
    assert len({a["execID"] for a in attrs}) == 1 and attrs[2]["exitCode"] == "2"
    assert all(a["name"] == name and a["image"] == "busybox" for a in attrs)


@pytest.mark.parametrize("tty", [False, True])
def test_exec_ends_when_its_process_exits(dclient, new_name, tty):
    """A background child keeping the output open does not hold the exec: as dockerd, the exit code
    is known when the process exits and the stream ends within 2 seconds after it, with what was
    written by then (a late line from a child, inside that grace, included)."""
    c = dclient.containers.run("busybox", ["sleep", "300"], name=new_name("exec"), detach=True)
    api = dclient.api
    e = api.exec_create(c.id, ["sh", "-c", "sleep 30 & (sleep 0.3; echo late) & echo hi; exit 3"], tty=tty)
    started = time.monotonic()
    out = api.exec_start(e["Id"], tty=tty)
    assert time.monotonic() - started < 10
    # with a TTY the shell's exit hangs its terminal up: the late child is gone (dockerd alike)
    assert out == (b"hi\r\n" if tty else b"hi\nlate\n")
    info = api.exec_inspect(e["Id"])
    assert (info["ExitCode"], info["Running"]) == (3, False)
    assert api.inspect_container(c.id)["ExecIDs"] is None


def test_exec_cli_returns_with_background_child(cli, new_name):
    name, _ = _running(cli, new_name)
    started = time.monotonic()
    p = cli("exec", name, "sh", "-c", "sleep 30 & echo hi; exit 3")
    assert (p.returncode, p.stdout) == (3, "hi\n") and time.monotonic() - started < 10


def test_exec_exit_code_known_before_the_stream_ends(dclient, new_name):
    """dockerd records the exit code when the process exits, then waits up to 2s for the streams."""
    import threading
    c = dclient.containers.run("busybox", ["sleep", "300"], name=new_name("exec"), detach=True)
    api = dclient.api
    e = api.exec_create(c.id, ["sh", "-c", "sleep 30 & exit 3"])
    streaming = threading.Thread(target=api.exec_start, args=(e["Id"],))
    streaming.start()
    wait_until(lambda: api.exec_inspect(e["Id"])["ExitCode"] == 3, interval=0.02, what="the exit code")
    assert streaming.is_alive() and api.inspect_container(c.id)["ExecIDs"] is None
    streaming.join(10)
    assert not streaming.is_alive()
