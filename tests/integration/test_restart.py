"""tugd restarts (kill -9 or a clean stop): containers live on, their logs are kept, exits are noticed."""

from __future__ import annotations

import re
import time

import pytest

from .helpers import ok, wait_until

pytestmark = pytest.mark.slow

COUNTER = "i=0; while true; do echo line $i; i=$((i+1)); sleep 0.1; done"


@pytest.fixture
def private(tugd):
    if tugd.target != "tugd":
        pytest.skip("restart tests need the private tugd (not the docker target)")
    return tugd


def counted(tug, name: str) -> list[int]:
    return [int(m) for m in re.findall(r"^line (\d+)$", ok(tug("logs", name)).stdout, re.M)]


@pytest.mark.parametrize("kill9", [True, False], ids=["kill9", "sigterm"])
def test_containers_survive_a_tugd_restart(private, tug, docker_cli, new_name, kill9):
    sleeper, talker = new_name("sleeper"), new_name("talker")
    ok(tug("run", "-d", "--name", sleeper, "busybox", "sleep", "300"))
    ok(tug("run", "-d", "--name", talker, "busybox", "sh", "-c", COUNTER))
    wait_until(lambda: len(counted(tug, talker)) >= 5, what="the talker's first lines")
    pid = ok(tug("inspect", "-f", "{{.State.Pid}}", sleeper)).stdout.strip()
    started = ok(tug("inspect", "-f", "{{.State.StartedAt}}", sleeper)).stdout.strip()

    private.stop(kill9=kill9)
    time.sleep(1)                                  # the talker goes on writing while nobody listens
    private.start()

    state = ok(tug("inspect", "-f", "{{.State.Status}} {{.State.Pid}} {{.State.StartedAt}}", sleeper)).stdout.split()
    assert state == ["running", pid, started]
    assert ok(docker_cli("ps", "--format", "{{.Names}}")).stdout.split().count(sleeper) == 1
    before = counted(tug, talker)
    assert before == list(range(len(before))), "lines lost around the restart"
    assert len(before) >= 10                       # including what was written while tugd was down
    wait_until(lambda: len(counted(tug, talker)) > len(before) + 3, what="new lines after the restart")

    ok(tug("stop", "-t", "1", sleeper, timeout=30))
    assert ok(tug("inspect", "-f", "{{.State.Status}} {{.State.ExitCode}}", sleeper)).stdout.split() \
        == ["exited", "137"]
    ok(tug("stop", "-t", "1", talker, timeout=30))
    assert ok(tug("inspect", "-f", "{{.State.ExitCode}}", talker)).stdout.strip() in ("137", "143")
    ok(tug("rm", sleeper, talker))


def test_exit_while_tugd_is_down(private, tug, new_name):
    name = new_name("exits")
    ok(tug("run", "-d", "--name", name, "busybox", "sh", "-c", "echo bye; sleep 2; exit 7"))
    private.stop(kill9=True)
    time.sleep(3)
    private.start()
    # the exit is noticed right away or very soon after the start
    wait_until(lambda: tug("inspect", "-f", "{{.State.Status}}", name).stdout.strip() == "exited",
               timeout=10, what="the container to be reported exited")
    state = ok(tug("inspect", "-f", "{{.State.ExitCode}} {{.State.Running}}", name)).stdout.split()
    assert state == ["7", "false"]
    assert ok(tug("wait", name)).stdout.strip() == "7"
    assert ok(tug("logs", name)).stdout == "bye\n"
    rows = ok(tug("ps", "-a", "--format", "{{.Names}} {{.Status}}")).stdout.splitlines()
    mine = [r for r in rows if r.split(" ", 1)[0] == name]
    assert len(mine) == 1 and mine[0].startswith(f"{name} Exited (7) "), rows
    ok(tug("rm", name))


def test_new_containers_run_after_a_restart(private, tug):
    private.restart(kill9=True)
    assert ok(tug("run", "--rm", "busybox", "echo", "after restart")).stdout == "after restart\n"
