"""Restart policies (--restart), as dockerd's restart manager applies them."""

from __future__ import annotations

from .helpers import ok, wait_until


def test_on_failure_with_a_limit(cli, new_name):
    name = new_name("onfail")
    ok(cli("run", "-d", "--restart", "on-failure:2", "--name", name, "busybox", "sh", "-c", "echo run; exit 3"))
    fmt = "{{.State.Status}} {{.RestartCount}} {{.State.ExitCode}}"
    wait_until(lambda: cli("inspect", "-f", fmt, name).stdout.split() == ["exited", "2", "3"], timeout=20,
               what="two restarts, then exited (3)")
    assert ok(cli("logs", name)).stdout == "run\nrun\nrun\n"
    assert ok(cli("inspect", "-f", "{{.HostConfig.RestartPolicy.Name}} {{.HostConfig.RestartPolicy.MaximumRetryCount}}",
                  name)).stdout.split() == ["on-failure", "2"]


def test_on_failure_does_not_restart_a_success(cli, new_name):
    name = new_name("onok")
    ok(cli("run", "-d", "--restart", "on-failure", "--name", name, "busybox", "true"))
    assert ok(cli("wait", name, timeout=30)).stdout.strip() == "0"
    assert ok(cli("inspect", "-f", "{{.RestartCount}} {{.State.Status}}", name)).stdout.split() == ["0", "exited"]


def test_always_restarts_until_stopped(cli, new_name):
    name = new_name("always")
    ok(cli("run", "-d", "--restart", "always", "--name", name, "busybox", "sh", "-c", "sleep 0.3; exit 1"))
    wait_until(lambda: int(cli("inspect", "-f", "{{.RestartCount}}", name).stdout.strip() or 0) >= 2, timeout=20,
               what="at least two restarts")
    ok(cli("stop", "-t", "1", name, timeout=30))
    count = ok(cli("inspect", "-f", "{{.RestartCount}} {{.State.Status}}", name)).stdout.split()
    assert count[1] == "exited"
    import time

    time.sleep(1)                                   # an explicit stop is final
    assert ok(cli("inspect", "-f", "{{.RestartCount}} {{.State.Status}}", name)).stdout.split() == count
    p = cli("rm", name)
    assert p.returncode == 0, p.stderr
