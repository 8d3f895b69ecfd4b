"""run --init: tini as PID 1 (/sbin/docker-init), reaping zombies and forwarding stop's SIGTERM."""

from __future__ import annotations

import time

from .helpers import ok


def test_init_is_pid_1(cli, new_name):
    p = ok(cli("run", "--rm", "--init", "busybox", "ps", "-o", "pid,args", timeout=30))
    first = p.stdout.splitlines()[1].split()
    assert first[:2] == ["1", "/sbin/docker-init"]


def test_init_reaps_zombies(cli, new_name):
    # the sh child exits while its parent (sh -c) is gone: tini adopts and reaps it
    script = "sh -c 'sleep 0.2 &' ; sleep 1; ps -o stat,args | grep -c '^Z' || true"
    p = ok(cli("run", "--rm", "--init", "busybox", "sh", "-c", script, timeout=30))
    assert p.stdout.strip() == "0"


def test_init_forwards_sigterm_on_stop(cli, new_name):
    name = new_name("init")
    ok(cli("run", "-d", "--init", "--name", name, "busybox", "sleep", "300", timeout=30))
    t0 = time.monotonic()
    ok(cli("stop", "-t", "20", name, timeout=60))
    assert time.monotonic() - t0 < 8
    p = ok(cli("inspect", "-f", "{{.State.ExitCode}} {{.HostConfig.Init}}", name))
    assert p.stdout.split() == ["143", "true"]
