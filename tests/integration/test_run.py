"""docker run: output, exit codes, errors — through tug and the docker CLI."""

from __future__ import annotations

import pytest

from .conftest import CLI, CLI_NAMES, DOCKER, TUG
from .helpers import HEX64, ok


def test_run_rm_echo(cli):
    p = ok(cli("run", "--rm", "busybox", "echo", "hi"))
    assert p.stdout == "hi\n"


def test_run_exit_code_is_the_container_s(cli, new_name):
    p = cli("run", "--name", new_name("exit3"), "busybox", "sh", "-c", "exit 3")
    assert p.returncode == 3, p.stderr


def test_run_missing_command_exits_127(cli, new_name):
    p = cli("run", "--name", new_name("nocmd"), "busybox", "nosuchcmd")
    assert p.returncode == 127, (p.stdout, p.stderr)
    assert "nosuchcmd" in p.stderr
    assert "executable file not found" in p.stderr


def test_run_missing_image_exits_125(cli, token):
    p = cli("run", "--rm", f"tt{token}/nosuch:missing", "true")
    assert p.returncode == 125, (p.stdout, p.stderr)
    assert "No such image" in p.stderr or "Unable to find image" in p.stderr


def test_run_stdin_with_i(cli):
    p = ok(cli("run", "--rm", "-i", "busybox", "cat", input="piped in\n"))
    assert p.stdout == "piped in\n"


def test_run_stderr_goes_to_stderr(cli):
    p = ok(cli("run", "--rm", "busybox", "sh", "-c", "echo to-out; echo to-err >&2"))
    assert p.stdout == "to-out\n"
    assert p.stderr == "to-err\n"


def test_run_detached_prints_full_id(cli, new_name):
    p = ok(cli("run", "-d", "--name", new_name("detach"), "busybox", "true"))
    assert HEX64.match(p.stdout.strip()), p.stdout


def test_run_config(cli):
    script = 'echo "$FOO"; pwd; id -u; id -g; hostname; echo "$HOME"; echo "$PATH"'
    p = ok(cli("run", "--rm", "-e", "FOO=bar baz", "-w", "/tmp", "-u", "nobody", "-h", "myhost",
               "--entrypoint", "sh", "busybox", "-c", script))
    assert p.stdout.splitlines() == [
        "bar baz", "/tmp", "65534", "65534", "myhost", "/home",
        "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]


def test_run_user_uid_gid_and_new_workdir(cli):
    p = ok(cli("run", "--rm", "-u", "1234:5678", "-w", "/does/not/exist", "busybox", "sh", "-c", "id -u; id -g; pwd"))
    assert p.stdout.splitlines() == ["1234", "5678", "/does/not/exist"]


def test_run_default_environment(cli):
    p = ok(cli("run", "--rm", "busybox", "env"))
    env = dict(line.split("=", 1) for line in p.stdout.splitlines())
    assert env["PATH"] == "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
    assert env["HOME"] == "/root"
    assert len(env["HOSTNAME"]) == 12


def test_run_default_hostname_is_short_id(cli, new_name):
    name = new_name("host")
    p = ok(cli("run", "--name", name, "busybox", "hostname"))
    cid = ok(cli("inspect", "-f", "{{.Id}}", name)).stdout.strip()
    assert p.stdout.strip() == cid[:12]


def test_run_as_root_in_busybox(cli):
    p = ok(cli("run", "--rm", "busybox", "sh", "-c", "id; cat /etc/hostname >/dev/null && echo etc-ok"))
    assert p.stdout.splitlines()[0].startswith("uid=0(root) gid=0(root)")
    assert "etc-ok" in p.stdout


def test_run_rm_removes_the_container(cli, new_name):
    name = new_name("rm")
    assert ok(cli("run", "--rm", "--name", name, "busybox", "sh", "-c", "exit 0")).stdout == ""
    assert cli("inspect", name).returncode == 1
    p = cli("run", "--rm", "--name", name, "busybox", "sh", "-c", "exit 6")
    assert p.returncode == 6
    assert cli("inspect", name).returncode == 1
    assert name not in ok(cli("ps", "-a", "--format", "{{.Names}}")).stdout.split()


@pytest.mark.parametrize("client", CLI_NAMES)
def test_run_large_stdin_and_stdout(isolated_tugd, client):
    """On a daemon of its own: a daemon that wedges on this must not take the other tests with it."""
    cli = CLI(client, TUG if client == "tug" and isolated_tugd.target == "tugd" else DOCKER, isolated_tugd.env)
    data = "0123456789abcdef" * 65536                      # 1 MiB, far more than a pipe holds
    p = ok(cli("run", "--rm", "-i", "busybox", "wc", "-c", input=data, timeout=30))
    assert p.stdout.strip() == str(len(data))
    p = ok(cli("run", "--rm", "busybox", "sh", "-c", "head -c 3000000 /dev/zero | tr '\\0' a", timeout=30))
    assert p.stdout == "a" * 3000000


def test_run_output_without_newline_and_binary(cli):
    assert ok(cli("run", "--rm", "busybox", "printf", "abc")).stdout == "abc"
    p = ok(cli("run", "--rm", "busybox", "printf", "\\000\\001\\377", text=False))
    assert p.stdout == b"\x00\x01\xff"
