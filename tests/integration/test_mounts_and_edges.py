"""Bind mounts, tmpfs, read-only roots, and the edge cases of lifecycle commands Docker users hit."""

from __future__ import annotations

from .helpers import ok, wait_until


def test_bind_mount_rw_and_ro(cli, tmp_path):
    host = tmp_path / "shared"
    host.mkdir()
    (host / "in").write_text("from host\n")
    p = ok(cli("run", "--rm", "-v", f"{host}:/data", "busybox", "sh", "-c", "cat /data/in; echo from container > /data/out"))
    assert p.stdout == "from host\n"
    assert (host / "out").read_text() == "from container\n"
    p = cli("run", "--rm", "-v", f"{host}:/data:ro", "busybox", "sh", "-c", "echo x > /data/out2")
    assert p.returncode != 0
    assert "Read-only file system" in p.stderr
    assert not (host / "out2").exists()


def test_tmpfs_and_read_only_root(cli):
    p = ok(cli("run", "--rm", "--read-only", "--tmpfs", "/scratch", "busybox", "sh", "-c",
               "echo ok > /scratch/f && cat /scratch/f; grep ' /scratch ' /proc/mounts | cut -d' ' -f3; "
               "touch /nope 2>&1 || true"))
    lines = p.stdout.splitlines()
    assert lines[:2] == ["ok", "tmpfs"]
    assert "Read-only file system" in lines[2]


def test_not_executable_exits_126(cli, new_name):
    p = cli("run", "--name", new_name("noexec"), "busybox", "/etc/passwd")
    assert p.returncode == 126, p.stderr
    assert "permission denied" in p.stderr


def test_stop_and_start_are_idempotent_kill_is_not(cli, new_name):
    name = new_name("idem")
    ok(cli("run", "-d", "--name", name, "busybox", "sleep", "300"))
    assert ok(cli("start", name)).stdout.strip() == name         # already running: fine
    ok(cli("kill", name))
    ok(cli("wait", name, timeout=30))
    assert ok(cli("stop", name)).stdout.strip() == name          # already stopped: fine
    p = cli("kill", name)
    assert p.returncode == 1
    assert "is not running" in p.stderr


def test_kill_with_a_signal_number(cli, new_name):
    # (PID 1 ignores signals it has no handler for, so only KILL works on a bare sleep)
    name = new_name("sig9")
    ok(cli("run", "-d", "--name", name, "busybox", "sleep", "300"))
    wait_until(lambda: cli("inspect", "-f", "{{.State.Running}}", name).stdout.strip() == "true", what="running")
    assert ok(cli("kill", "-s", "9", name)).stdout.strip() == name
    assert ok(cli("wait", name, timeout=30)).stdout.strip() == "137"
    assert ok(cli("inspect", "-f", "{{.State.ExitCode}} {{.State.OOMKilled}}", name)).stdout.split() == ["137", "false"]


def test_created_container_can_be_removed_and_inspected(cli, new_name):
    name = new_name("created")
    ok(cli("create", "--name", name, "busybox"))
    fmt = "{{.State.Status}} {{.State.Pid}} {{.State.ExitCode}} {{.State.StartedAt}}"
    assert ok(cli("inspect", "-f", fmt, name)).stdout.split() == ["created", "0", "0", "0001-01-01T00:00:00Z"]
    assert ok(cli("rm", name)).stdout.strip() == name
