"""docker events: the buffered past with --since/--until, filters, the line format, live streaming."""

from __future__ import annotations

import json
import re
import subprocess
import time

from .helpers import ok, read_until

LINE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}(Z|[+-]\d\d:\d\d) (\w+) (\S+) (\S+)(?: \((.*)\))?$")


def _window(cli, new_name) -> tuple[str, str, str, str]:
    since = f"{time.time() - 0.5:.9f}"
    name = new_name("ev")
    assert cli("run", "--name", name, "--label", "evl=1", "busybox", "sh", "-c", "exit 3").returncode == 3
    cid = ok(cli("inspect", "-f", "{{.Id}}", name)).stdout.strip()
    ok(cli("rm", name))
    time.sleep(0.2)
    return since, f"{time.time():.9f}", name, cid


def test_run_shows_create_start_die_destroy(cli, new_name):
    since, until, name, _ = _window(cli, new_name)
    out = ok(cli("events", "--since", since, "--until", until, "--filter", f"container={name}",
                 timeout=30)).stdout
    lines = out.splitlines()
    matches = [m for m in map(LINE.match, lines) if m]
    actions = [m.group(3) for m in matches]
    assert len(actions) == len(lines), out
    for a in ("create", "start", "die", "destroy"):
        assert a in actions, out
    assert actions.index("create") < actions.index("start") < actions.index("die") < actions.index("destroy")
    die = next(ln for ln in lines if " container die " in ln)
    m = LINE.match(die)
    assert m and m.group(2) == "container"
    assert m.group(5) == f"evl=1, exitCode=3, image=busybox, name={name}"


def test_filters_and_format(cli, new_name):
    since, until, name, _ = _window(cli, new_name)
    out = ok(cli("events", "--since", since, "--until", until, "-f", f"container={name}", "-f", "event=die",
                 "--format", "{{.Type}} {{.Action}} {{.Actor.Attributes.exitCode}} {{.From}}", timeout=30)).stdout
    assert out.splitlines() == ["container die 3 busybox"]
    out = ok(cli("events", "--since", since, "--until", until, "-f", f"container={name}",
                 "-f", "event=start", "--format", "{{json .}}", timeout=30)).stdout
    ev = json.loads(out)
    assert ev["status"] == "start" and ev["Type"] == "container" and ev["scope"] == "local"
    assert ev["Actor"]["Attributes"]["name"] == name
    assert ev["timeNano"] // 1_000_000_000 == ev["time"]
    out = ok(cli("events", "--since", since, "--until", until, "-f", "label=evl=1", "-f", "type=container",
                 "--format", "{{.Action}}", timeout=30)).stdout.split()
    assert "create" in out and "destroy" in out
    out = ok(cli("events", "--since", since, "--until", until, "-f", "type=image", "-f", f"container={name}",
                 timeout=30)).stdout
    assert out == ""


def test_unknown_filter_is_ignored_like_dockerd(cli, new_name):
    since, until, name, _ = _window(cli, new_name)
    out = ok(cli("events", "--since", since, "--until", until, "-f", "bogus=1", "-f", f"container={name}",
                 "--format", "{{.Action}}", timeout=30)).stdout.split()
    assert "destroy" in out


def test_live_stream(cli, new_name):
    name = new_name("evlive")
    with subprocess.Popen([str(cli.binary), "events", "-f", f"container={name}"], env=cli.env,
                          stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL) as p:
        try:
            time.sleep(0.5)
            ok(cli("create", "--name", name, "busybox", "true"))
            read_until(p, b" container create ")
        finally:
            p.kill()


def test_dockerpy_events(dclient, new_name, track, token):
    since = time.time() - 0.5
    name = new_name("evpy")
    c = dclient.containers.create("busybox", ["true"], name=name)
    repo = f"tt{token}/evpy"
    track.image(repo + ":latest")
    c.commit(repository=repo)
    until = time.time() + 0.5
    time.sleep(0.6)
    evs = list(dclient.events(since=since, until=until, decode=True,
                              filters={"container": name}))
    actions = [e["Action"] for e in evs]
    assert actions[:2] == ["create", "commit"], actions
    commit = evs[1]["Actor"]["Attributes"]
    assert commit["imageRef"] == repo + ":latest" or commit["imageRef"] == repo
    assert commit["imageID"].startswith("sha256:")


def test_future_until_ends_the_stream(cli):
    start = time.monotonic()
    until = f"{time.time() + 1.5:.9f}"
    p = cli("events", "--until", until, "-f", "container=nonexistent-evtest", timeout=20)
    assert p.returncode == 0, p.stderr
    assert 1.0 < time.monotonic() - start < 10
