"""Healthchecks: --health-* flags and an image's HEALTHCHECK, State.Health in inspect, the ps status
and health filter, health_status and probe exec events, pause/stop, a tugd restart."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from .helpers import RFC3339NANO, ok, wait_until


def health(cli, name: str) -> Any:   # the State.Health object, or None
    return json.loads(ok(cli("inspect", "-f", "{{json .State}}", name)).stdout).get("Health")


def status_of(cli, name: str) -> str:
    h = health(cli, name)
    return h["Status"] if h else "none"


def test_health_cmd_becomes_healthy(cli, new_name):
    name = new_name("hc")
    ok(cli("run", "-d", "--name", name, "--health-cmd", "echo probe-$HOSTNAME; exit 0",
           "--health-interval", "1s", "busybox", "sleep", "60"))
    hc = json.loads(ok(cli("inspect", "-f", "{{json .Config.Healthcheck}}", name)).stdout)
    assert hc == {"Test": ["CMD-SHELL", "echo probe-$HOSTNAME; exit 0"], "Interval": 1_000_000_000}
    waiting = new_name("hcwait")     # an hour before the first probe: "starting" all along
    ok(cli("run", "-d", "--name", waiting, "--health-cmd", "true", "--health-interval", "1h", "busybox", "sleep", "60"))
    assert health(cli, waiting) == {"Status": "starting", "FailingStreak": 0, "Log": []}
    status = ok(cli("ps", "--filter", f"name={waiting}", "--format", "{{.Status}}")).stdout.strip()
    assert status.startswith("Up ") and status.endswith(" (health: starting)")
    assert waiting in ok(cli("ps", "--filter", "health=starting", "--format", "{{.Names}}")).stdout.split()
    wait_until(lambda: status_of(cli, name) == "healthy", what="healthy")
    h = health(cli, name)
    assert h["FailingStreak"] == 0
    entry = h["Log"][0]
    assert entry["ExitCode"] == 0
    short = ok(cli("inspect", "-f", "{{.Config.Hostname}}", name)).stdout.strip()
    assert entry["Output"] == f"probe-{short}\n"
    assert __import__("re").fullmatch(RFC3339NANO, entry["Start"]) and entry["End"] >= entry["Start"]
    status = ok(cli("ps", "--filter", f"name={name}", "--format", "{{.Status}}")).stdout.strip()
    assert status.startswith("Up ") and status.endswith(" (healthy)")
    names = ok(cli("ps", "--filter", "health=healthy", "--format", "{{.Names}}")).stdout.split()
    assert name in names
    assert name not in ok(cli("ps", "--filter", "health=none", "--format", "{{.Names}}")).stdout.split()
    wait_until(lambda: len(health(cli, name)["Log"]) == 5, timeout=15, what="5 log entries")
    time.sleep(1.2)
    assert len(health(cli, name)["Log"]) == 5          # only the last five are kept


def test_failing_probe_and_timeout_become_unhealthy(cli, new_name):
    failing, slow = new_name("fail"), new_name("slow")
    ok(cli("run", "-d", "--name", failing, "--health-cmd", "echo nope >&2; exit 3", "--health-interval", "1s",
           "--health-retries", "2", "busybox", "sleep", "60"))
    ok(cli("run", "-d", "--name", slow, "--health-cmd", "sleep 5", "--health-interval", "1s",
           "--health-timeout", "500ms", "--health-retries", "1", "busybox", "sleep", "60"))
    wait_until(lambda: status_of(cli, failing) == "unhealthy", what="unhealthy")
    h = health(cli, failing)
    assert h["FailingStreak"] >= 2
    assert h["Log"][0] | {"Start": "", "End": ""} == {"Start": "", "End": "", "ExitCode": 3, "Output": "nope\n"}
    wait_until(lambda: status_of(cli, slow) == "unhealthy", what="timed-out probe")
    entry = health(cli, slow)["Log"][0]
    assert entry["ExitCode"] == -1 and entry["Output"] == "Health check exceeded timeout (500ms)"
    out = ok(cli("ps", "--filter", "health=unhealthy", "--format", "{{.Names}} {{.Status}}")).stdout
    assert f"{failing} Up" in out and "(unhealthy)" in out and slow in out
    # stopped: the last health state stays in inspect, the monitor stops
    ok(cli("stop", "-t", "0", failing))
    before = health(cli, failing)
    assert before["Status"] == "unhealthy"
    time.sleep(1.5)
    assert health(cli, failing) == before
    assert failing in ok(cli("ps", "-a", "--filter", "health=unhealthy", "--format", "{{.Names}}")).stdout.split()


def test_health_filter_values(cli, new_name):
    name = new_name("plain")
    ok(cli("run", "-d", "--name", name, "busybox", "sleep", "60"))
    assert health(cli, name) is None
    assert name in ok(cli("ps", "--filter", "health=none", "--format", "{{.Names}}")).stdout.split()
    p = cli("ps", "--filter", "health=bogus")
    assert p.returncode != 0
    assert "Unrecognised filter value for health: bogus" in p.stderr


def test_start_period_keeps_starting(cli, new_name):
    name = new_name("sp")
    ok(cli("run", "-d", "--name", name, "--health-cmd", "exit 1", "--health-interval", "1s",
           "--health-retries", "1", "--health-start-period", "1h", "busybox", "sleep", "60"))
    wait_until(lambda: len(health(cli, name)["Log"]) >= 2, what="two probes")
    h = health(cli, name)
    assert h["Status"] == "starting" and h["FailingStreak"] == 0


def test_image_healthcheck_and_no_healthcheck(cli, tug, new_name, track, token):
    base = new_name("base")
    ok(tug("create", "--name", base, "busybox", "sleep", "60"))
    image = track.image(f"tt{token}/health:{base}")
    ok(tug("commit", "-c", "HEALTHCHECK --interval=1s --retries=1 CMD [\"cat\", \"/etc/hostname\"]", base, image))
    with_hc, without = new_name("img"), new_name("nohc")
    ok(cli("run", "-d", "--name", with_hc, image))
    ok(cli("run", "-d", "--name", without, "--no-healthcheck", image))
    wait_until(lambda: status_of(cli, with_hc) == "healthy", what="healthy from the image's HEALTHCHECK")
    assert health(cli, with_hc)["Log"][0]["Output"].strip() == \
        ok(cli("inspect", "-f", "{{.Config.Hostname}}", with_hc)).stdout.strip()
    # the image's other settings are merged in, as dockerd does; Test NONE disables the check
    assert json.loads(ok(cli("inspect", "-f", "{{json .Config.Healthcheck}}", without)).stdout) == \
        {"Test": ["NONE"], "Interval": 1_000_000_000, "Retries": 1}
    time.sleep(1.5)
    assert health(cli, without) is None
    assert "(" not in ok(cli("ps", "--filter", f"name={without}", "--format", "{{.Status}}")).stdout


def test_flag_errors(cli):
    p = cli("run", "--rm", "--no-healthcheck", "--health-cmd", "true", "busybox", "true")
    assert p.returncode == 125 and "--no-healthcheck conflicts with --health-* options" in p.stderr
    p = cli("run", "--rm", "--health-interval", "-1s", "busybox", "true")
    assert p.returncode == 125 and "--health-interval cannot be negative" in p.stderr
    p = cli("run", "--rm", "--health-interval", "abc", "busybox", "true")
    assert p.returncode == 125
    assert 'invalid argument "abc" for "--health-interval" flag: time: invalid duration "abc"' in p.stderr


def test_api_validation_and_exec_probe(dclient, new_name):
    import docker.errors
    with pytest.raises(docker.errors.APIError, match="Interval in Healthcheck cannot be less than 1ms"):
        dclient.containers.create("busybox", "true", healthcheck={"Test": ["CMD", "true"], "Interval": 500})
    with pytest.raises(docker.errors.APIError, match="Retries in Healthcheck cannot be negative"):
        dclient.containers.create("busybox", "true", healthcheck={"Test": ["CMD", "true"], "Retries": -1})
    name = new_name("api")
    c = dclient.containers.run("busybox", ["sleep", "60"], name=name, detach=True,
                               healthcheck={"Test": ["CMD", "nonexistent-probe"], "Interval": 1_000_000_000,
                                            "Retries": 1})
    wait_until(lambda: (c.reload() or c.attrs["State"]["Health"]["Status"]) == "unhealthy", what="unhealthy")
    entry = c.attrs["State"]["Health"]["Log"][0]
    assert entry["ExitCode"] != 0
    assert "nonexistent-probe" in entry["Output"]


def test_events_and_pause(cli, dclient, new_name):
    name = new_name("ev")
    since = str(time.time() - 1)
    ok(cli("run", "-d", "--name", name, "--health-cmd", "true", "--health-interval", "1s", "busybox", "sleep", "60"))
    wait_until(lambda: status_of(cli, name) == "healthy", what="healthy")
    ok(cli("pause", name))
    paused_log = len(health(cli, name)["Log"])
    assert health(cli, name)["Status"] == "unhealthy"   # dockerd: a stopped monitor means unhealthy
    time.sleep(2.2)
    assert len(health(cli, name)["Log"]) == paused_log, "probes ran while paused"
    ok(cli("unpause", name))
    wait_until(lambda: len(health(cli, name)["Log"]) > paused_log, what="probes after unpause")
    wait_until(lambda: status_of(cli, name) == "healthy", what="healthy after unpause")
    until = str(time.time() + 0.5)
    events = [json.loads(line) for line in ok(cli("events", "--since", since, "--until", until, "--filter",
                                                   f"container={name}", "--format", "{{json .}}")).stdout.splitlines()]
    actions = [e["Action"] for e in events]
    assert "health_status: healthy" in actions
    # healthy, then (silently unhealthy while paused) healthy again after unpause, as dockerd
    assert actions.count("health_status: healthy") == 2
    assert "exec_create: /bin/sh -c true" in actions and "exec_start: /bin/sh -c true" in actions
    create = next(e for e in events if e["Action"].startswith("exec_create"))
    assert create["Type"] == "container" and create["Actor"]["Attributes"]["name"] == name
    assert len(create["Actor"]["Attributes"]["execID"]) == 64
    die = [e for e in events if e["Action"] == "exec_die"]
    assert die and die[0]["Actor"]["Attributes"]["exitCode"] == "0"
    assert actions.index("exec_create: /bin/sh -c true") < actions.index("health_status: healthy")


def test_restart_resets_to_starting(cli, new_name):
    name = new_name("rs")
    ok(cli("run", "-d", "--name", name, "--health-cmd", "true", "--health-interval", "2s", "busybox", "sleep", "60"))
    wait_until(lambda: status_of(cli, name) == "healthy", what="healthy")
    ok(cli("restart", "-t", "0", name))
    h = health(cli, name)
    assert h["Status"] == "starting" and h["Log"], "the log of the earlier run is kept"
    wait_until(lambda: status_of(cli, name) == "healthy", what="healthy again")


@pytest.mark.slow
def test_health_monitor_after_tugd_restart(tugd, tug, new_name):
    if tugd.target != "tugd":
        pytest.skip("needs the private tugd")
    name = new_name("tr")
    ok(tug("run", "-d", "--name", name, "--health-cmd", "true", "--health-interval", "3s", "busybox", "sleep", "120"))
    wait_until(lambda: status_of(tug, name) == "healthy", what="healthy")
    tugd.restart(kill9=True)
    assert status_of(tug, name) == "starting"
    wait_until(lambda: status_of(tug, name) == "healthy", what="healthy after the restart")


def test_running_probe_is_listed_in_exec_ids(dclient, new_name):
    """dockerd 20.10 registers a probe as an exec of the container: ExecIDs lists it while it runs
    (with the id its exec_create event carries), and nothing once it ended."""
    c = dclient.containers.run("busybox", ["sleep", "60"], name=new_name("hcexec"), detach=True,
                               healthcheck={"Test": ["CMD-SHELL", "sleep 2"], "Interval": 500_000_000})
    seen: list[str] = []

    def probing() -> bool:
        seen[:] = dclient.api.inspect_container(c.id)["ExecIDs"] or []
        return bool(seen)

    wait_until(probing, timeout=20, interval=0.1, what="a running probe in ExecIDs")
    assert len(seen) == 1 and len(seen[0]) == 64
    c.stop(timeout=0)
    assert dclient.api.inspect_container(c.id)["ExecIDs"] is None


def test_inspect_format_without_healthcheck(cli, new_name):
    """docker's CLI runs the template over its typed struct: an absent Health is a nil pointer."""
    name = new_name("nohc")
    ok(cli("run", "-d", "--name", name, "busybox", "sleep", "60"))
    p = ok(cli("inspect", "-f", "{{.State.Health}} {{.Config.Healthcheck}} {{json .State.Health}}", name))
    assert p.stdout == "<nil> <nil> null\n"
    p = cli("inspect", "-f", "{{.State.Health.Status}}", name)
    assert p.returncode == 1
    assert 'executing "" at <.State.Health.Status>: map has no entry for key "Health"' in p.stderr
    ok(cli("rm", "-f", name))
