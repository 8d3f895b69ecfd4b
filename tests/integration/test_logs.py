"""docker logs: streams kept apart, --tail, -t, --since; docker-py's stdout/stderr selection."""

from __future__ import annotations

import re

import pytest

from .helpers import RFC3339NANO, ok

# out/err interleaved with pauses, so that the order in the log is the order written
SCRIPT = "echo out1; sleep 0.2; echo err1 >&2; sleep 0.2; echo out2; sleep 0.2; echo err2 >&2; sleep 0.2; echo out3"


@pytest.fixture
def logged(cli, new_name):
    name = new_name("logs")
    ok(cli("run", "--name", name, "busybox", "sh", "-c", SCRIPT, timeout=30))
    return name


def test_logs_keeps_stdout_and_stderr_apart(cli, logged):
    p = ok(cli("logs", logged))
    assert p.stdout == "out1\nout2\nout3\n"
    assert p.stderr == "err1\nerr2\n"


def test_logs_tail(cli, logged):
    p = ok(cli("logs", "--tail", "2", logged))
    assert (p.stdout, p.stderr) == ("out3\n", "err2\n")
    p = ok(cli("logs", "--tail", "0", logged))
    assert (p.stdout, p.stderr) == ("", "")
    p = ok(cli("logs", "--tail", "all", logged))
    assert p.stdout == "out1\nout2\nout3\n"


def test_logs_timestamps(cli, logged):
    p = ok(cli("logs", "-t", logged))
    lines = p.stdout.splitlines()
    assert [ln.split(" ", 1)[1] for ln in lines] == ["out1", "out2", "out3"]
    for ln in lines:
        assert re.match(rf"^{RFC3339NANO} ", ln), ln
    stamps = [ln.split(" ", 1)[0] for ln in lines]
    assert stamps == sorted(stamps)


def test_logs_since(cli, logged):
    lines = ok(cli("logs", "-t", logged)).stdout.splitlines()
    second = lines[1].split(" ", 1)[0]                       # the timestamp of out2
    p = ok(cli("logs", "--since", second, logged))
    assert p.stdout == "out2\nout3\n"
    assert p.stderr == "err2\n"
    p = ok(cli("logs", "--since", "1h", logged))
    assert p.stdout == "out1\nout2\nout3\n"
    p = ok(cli("logs", "--until", second, logged))        # both ends are inclusive
    assert p.stdout == "out1\nout2\n"
    assert p.stderr == "err1\n"


def test_logs_of_a_created_container_are_empty(cli, new_name):
    name = new_name("nolog")
    ok(cli("create", "--name", name, "busybox", "echo", "x"))
    p = ok(cli("logs", name))
    assert (p.stdout, p.stderr) == ("", "")


def test_dockerpy_logs_stream_selection(dclient, new_name):
    name = new_name("pylogs")
    c = dclient.containers.run("busybox", ["sh", "-c", SCRIPT], name=name, detach=True)
    assert c.wait(timeout=30)["StatusCode"] == 0
    assert c.logs(stdout=True, stderr=False) == b"out1\nout2\nout3\n"
    assert c.logs(stdout=False, stderr=True) == b"err1\nerr2\n"
    assert c.logs() == b"out1\nerr1\nout2\nerr2\nout3\n"
    assert c.logs(tail=1) == b"out3\n"
    stamped = c.logs(timestamps=True, stderr=False).decode().splitlines()
    assert all(re.match(rf"^{RFC3339NANO} out\d$", ln) for ln in stamped), stamped
