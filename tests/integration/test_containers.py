"""Container lifecycle and queries: run -d, ps, logs -f, stop, inspect, rm, wait, names, labels, prefixes."""

from __future__ import annotations

import re
import subprocess

import pytest

from .helpers import AUTO_NAME, HEX64, ok, read_until, wait_until

TICKER = "echo started; while true; do echo tick; sleep 0.2; done"


def status_line(cli, name: str) -> str:
    p = ok(cli("ps", "-a", "--format", "{{.Names}} {{.Status}}"))
    lines = [ln for ln in p.stdout.splitlines() if ln.split(" ", 1)[0] == name]
    assert len(lines) == 1, p.stdout
    return lines[0]


def test_detached_lifecycle(cli, new_name):
    name = new_name("life")
    cid = ok(cli("run", "-d", "--name", name, "busybox", "sh", "-c", TICKER)).stdout.strip()
    assert HEX64.match(cid)

    # ps shows it Up
    p = ok(cli("ps", "--format", "{{.ID}} {{.Names}} {{.Status}}"))
    mine = [ln for ln in p.stdout.splitlines() if f" {name} " in ln + " "]
    assert len(mine) == 1, p.stdout
    short, _, status = mine[0].split(" ", 2)
    assert short == cid[:12]
    assert status.startswith("Up "), status
    assert ok(cli("inspect", "-f", "{{.State.Status}} {{.State.Running}}", name)).stdout.strip() == "running true"

    # logs -f follows: new lines keep arriving, and it ends when the container stops
    with subprocess.Popen([str(cli.binary), "logs", "-f", name], env=cli.env, stdout=subprocess.PIPE,
                          stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL) as follow:
        try:
            read_until(follow, b"started\n")
            read_until(follow, b"tick\ntick\ntick\n")
            # a shell as PID 1 ignores SIGTERM: stop -t 1 has to kill it
            ok(cli("stop", "-t", "1", name, timeout=30))
            assert follow.wait(15) == 0
        finally:
            if follow.poll() is None:
                follow.kill()

    state = ok(cli("inspect", "-f", "{{.State.Status}} {{.State.ExitCode}} {{.State.Running}}", name)).stdout.split()
    assert state[0] == "exited"
    assert state[1] in ("137", "143")
    assert state[2] == "false"
    assert re.match(r"^Exited \((137|143)\) .*ago$", status_line(cli, name).split(" ", 1)[1])
    assert name not in ok(cli("ps", "--format", "{{.Names}}")).stdout.split()

    assert ok(cli("rm", name)).stdout.strip() == name
    p = cli("inspect", name)
    assert p.returncode == 1
    assert "No such object" in p.stderr or "No such container" in p.stderr


def test_stop_of_a_process_that_handles_sigterm_is_fast(cli, new_name):
    name = new_name("term")
    ok(cli("run", "-d", "--name", name, "busybox", "sh", "-c",
           "trap 'exit 143' TERM; echo ready; while true; do sleep 0.1; done"))
    wait_until(lambda: "ready" in cli("logs", name).stdout, what="the trap to be set")
    ok(cli("stop", "-t", "10", name, timeout=30))
    assert ok(cli("inspect", "-f", "{{.State.ExitCode}}", name)).stdout.strip() == "143"


def test_ps_a_format_names_and_status(cli, new_name):
    created, exited = new_name("created"), new_name("exited")
    ok(cli("create", "--name", created, "busybox", "true"))
    assert cli("run", "--name", exited, "busybox", "sh", "-c", "exit 4").returncode == 4
    assert status_line(cli, created) == f"{created} Created"
    assert re.match(rf"^{exited} Exited \(4\) (Less than a second|\d+ seconds?) ago$", status_line(cli, exited))
    # without -a only running containers
    assert created not in ok(cli("ps", "--format", "{{.Names}}")).stdout.split()


def test_ps_quiet_and_no_trunc(cli, new_name):
    name = new_name("q")
    cid = ok(cli("create", "--name", name, "busybox")).stdout.strip()
    assert cid[:12] in ok(cli("ps", "-aq")).stdout.split()
    assert cid in ok(cli("ps", "-aq", "--no-trunc")).stdout.split()


def test_inspect_format(cli, new_name):
    name = new_name("insp")
    cid = ok(cli("create", "--name", name, "-e", "A=1", "busybox", "echo", "x")).stdout.strip()
    f = "{{.Id}}|{{.Name}}|{{.State.Status}}|{{.Config.Image}}|{{json .Config.Cmd}}|{{index .Config.Env 0}}"
    assert ok(cli("inspect", "-f", f, name)).stdout.strip() == f'{cid}|/{name}|created|busybox|["echo","x"]|A=1'


def test_labels_and_ps_filter(cli, new_name, token):
    key = f"tt{token}.suite"
    a, b, c = new_name("la"), new_name("lb"), new_name("lc")
    ok(cli("create", "--name", a, "--label", f"{key}=one", "--label", "other=x", "busybox"))
    ok(cli("create", "--name", b, "--label", f"{key}=two", "busybox"))
    ok(cli("create", "--name", c, "busybox"))
    names = lambda *f: sorted(ok(cli("ps", "-a", *f, "--format", "{{.Names}}")).stdout.split())  # noqa: E731
    assert names("-f", f"label={key}") == sorted([a, b])
    assert names("-f", f"label={key}=one") == [a]
    assert names("-f", f"label={key}=one", "-f", "label=other=x") == [a]
    assert names("-f", f"label={key}=three") == []
    assert ok(cli("inspect", "-f", "{{index .Config.Labels \"other\"}}", a)).stdout.strip() == "x"
    assert names("-f", f"name={c}") == [c]
    assert names("-f", "status=created", "-f", f"label={key}") == sorted([a, b])


def test_wait_prints_exit_code(cli, new_name):
    name = new_name("wait")
    ok(cli("run", "-d", "--name", name, "busybox", "sh", "-c", "sleep 1; exit 5"))
    p = ok(cli("wait", name, timeout=30))
    assert p.stdout.strip() == "5"


def test_start_attach_and_restart_of_stopped(cli, new_name):
    name = new_name("start")
    ok(cli("create", "--name", name, "busybox", "sh", "-c", "echo run; exit 2"))
    p = cli("start", "-a", name)
    assert p.returncode == 2
    assert p.stdout == "run\n"
    p = cli("start", "-a", name)
    assert p.stdout == "run\n"
    assert ok(cli("logs", name)).stdout == "run\nrun\n"


def test_auto_generated_name(cli, track):
    cid = track.container(ok(cli("create", "busybox")).stdout.strip())
    name = ok(cli("inspect", "-f", "{{.Name}}", cid)).stdout.strip()
    assert name.startswith("/")
    assert AUTO_NAME.match(name[1:]), name
    assert ok(cli("inspect", "-f", "{{.Id}}", name[1:])).stdout.strip() == cid


def test_name_conflict(cli, new_name):
    name = new_name("dup")
    cid = ok(cli("create", "--name", name, "busybox")).stdout.strip()
    p = cli("create", "--name", name, "busybox")
    assert p.returncode != 0
    assert f'Conflict. The container name "/{name}" is already in use by container "{cid}"' in p.stderr
    p = cli("run", "--name", name, "busybox", "true")
    assert p.returncode == 125
    assert "is already in use" in p.stderr


def test_id_prefixes(cli, track):
    ids: list[str] = []
    by_first: dict[str, list[str]] = {}
    while True:                                  # 17 ids always share a first hex digit
        cid = track.container(ok(cli("create", "busybox", "true")).stdout.strip())
        ids.append(cid)
        by_first.setdefault(cid[0], []).append(cid)
        if len(by_first[cid[0]]) == 2:
            break
    first, second = by_first[cid[0]]
    # a long enough prefix is unique
    assert ok(cli("inspect", "-f", "{{.Id}}", first[:12])).stdout.strip() == first
    # the shared one is ambiguous
    p = cli("logs", cid[0])
    assert p.returncode == 1
    assert f"Multiple IDs found with provided prefix: {cid[0]}" in p.stderr
    p = cli("rm", cid[0])
    assert p.returncode == 1
    assert ok(cli("inspect", "-f", "{{.State.Status}}", first, second)).stdout.split() == ["created", "created"]


def test_rm_running_needs_force(cli, new_name):
    name = new_name("rmf")
    ok(cli("run", "-d", "--name", name, "busybox", "sleep", "300"))
    p = cli("rm", name)
    assert p.returncode == 1
    assert "You cannot remove a running container" in p.stderr
    assert ok(cli("rm", "-f", name, timeout=30)).stdout.strip() == name
    assert cli("inspect", name).returncode == 1


def test_missing_container_errors(cli, token):
    for cmd in (["logs"], ["stop"], ["rm"], ["wait"], ["start"]):
        p = cli(*cmd, f"tt{token}-nosuch")
        assert p.returncode == 1, (cmd, p.stderr)
        assert f"No such container: tt{token}-nosuch" in p.stderr, (cmd, p.stderr)


@pytest.mark.parametrize("sig,code", [("KILL", "137"), ("TERM", "143")])
def test_kill_sets_exit_code(cli, new_name, sig, code):
    name = new_name("kill")
    ok(cli("run", "-d", "--name", name, "busybox", "sh", "-c", "trap 'exit 143' TERM; while true; do sleep 0.1; done"))
    wait_until(lambda: "running" in cli("inspect", "-f", "{{.State.Status}}", name).stdout, what="running")
    if sig == "TERM":
        import time

        time.sleep(0.5)                           # let the shell install its trap
    ok(cli("kill", "-s", sig, name))
    assert ok(cli("wait", name, timeout=30)).stdout.strip() == code


def test_restart_and_start_of_a_stopped_container(cli, new_name):
    name = new_name("restart")
    ok(cli("run", "-d", "--name", name, "busybox", "sh", "-c", "echo boot; sleep 300"))
    first = ok(cli("inspect", "-f", "{{.State.StartedAt}}", name)).stdout.strip()
    assert ok(cli("restart", "-t", "1", name, timeout=30)).stdout.strip() == name
    wait_until(lambda: cli("logs", name).stdout == "boot\nboot\n", what="the second boot line")
    state = ok(cli("inspect", "-f", "{{.State.Status}} {{.State.StartedAt}} {{.RestartCount}}", name)).stdout.split()
    assert state[0] == "running" and state[1] > first
    ok(cli("stop", "-t", "1", name, timeout=30))
    assert ok(cli("start", name)).stdout.strip() == name
    assert ok(cli("inspect", "-f", "{{.State.Running}}", name)).stdout.strip() == "true"
    ok(cli("kill", name))


def test_version_and_info(cli):
    assert ok(cli("version", "--format", "{{.Server.APIVersion}}")).stdout.strip() == "1.41"
    info = ok(cli("info", "--format", "{{.OSType}} {{.Driver}}")).stdout.split()
    assert info[0] == "linux" and info[1]
