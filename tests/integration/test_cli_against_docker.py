"""`tug` and the real docker CLI side by side against the same Docker Engine (dockerd 20.10).

"What Docker prints" can only come from Docker itself: these run both clients against the
Docker Engine of the harness's `docker_engine` fixture (the one on /var/run/docker.sock, or a
private dockerd the tests start when none runs, as on a fresh CI machine). Every object created
here is named tugcli-test-* and removed afterwards.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

HOST = ""          # the docker_engine fixture's host, set before any test of this module runs
IMAGE = "tugcli-test-busybox:latest"


@pytest.fixture(scope="module", autouse=True)
def _docker_host(docker_engine) -> Iterator[None]:
    global HOST
    HOST = docker_engine.host
    yield


def run(tool: str, *args: str, stdin: bytes | None = None) -> tuple[int, str, str]:
    env = {**os.environ, "DOCKER_HOST": HOST}
    env.pop("TUG_HOST", None)
    cmd = ["docker", *args] if tool == "docker" else [sys.executable, "-m", "tugboat.cli.main", *args]
    p = subprocess.run(cmd, input=stdin, capture_output=True, env=env, timeout=120)
    out, err = p.stdout.decode(), p.stderr.decode()
    if tool == "tug":  # tug names itself where docker does
        out, err = re.sub(r"\btug\b", "docker", out), re.sub(r"\btug\b", "docker", err)
    return p.returncode, out, err


_DURATION = re.compile(r"(Less than a second|About an? (minute|hour)|\d+ (second|minute|hour|day|week|month|year)s?)"
                       r" ago")


def stable(result: tuple[int, str, str]) -> tuple[int, str, str]:
    """Ages ("3 seconds ago") depend on when each CLI ran; blank them and the padding they cause."""
    code, out, err = result
    out = re.sub(r" {2,}", "  ", _DURATION.sub("<age> ago", out))
    return code, out, err


def both(*args: str) -> tuple[tuple[int, str, str], tuple[int, str, str]]:
    return run("docker", *args), run("tug", *args)


@pytest.fixture(scope="module")
def image() -> Iterator[str]:
    busybox = shutil.which("busybox")
    if busybox is None:
        pytest.skip("no busybox binary to build the test image from")
    with tempfile.TemporaryDirectory() as d:
        root = Path(d) / "root"
        (root / "bin").mkdir(parents=True)
        shutil.copy(busybox, root / "bin" / "busybox")
        for a in ("sh", "echo", "true", "false", "cat", "sleep"):
            os.symlink("busybox", root / "bin" / a)
        tar = Path(d) / "rootfs.tar"
        with tarfile.open(tar, "w") as t:
            t.add(root, arcname=".")
        subprocess.run(["docker", "-H", HOST, "import", "-c", 'CMD ["sh"]', "-c", "ENV PATH=/bin", str(tar), IMAGE],
                       check=True, capture_output=True)
    yield IMAGE
    subprocess.run(["docker", "-H", HOST, "rm", "-f", "tugcli-test-c1", "tugcli-test-c2"], capture_output=True)
    subprocess.run(["docker", "-H", HOST, "rmi", "-f", IMAGE], capture_output=True)


@pytest.fixture(scope="module")
def containers(image: str) -> Iterator[list[str]]:
    names = ["tugcli-test-c1", "tugcli-test-c2"]
    for n, cmd in zip(names, (["true"], ["sh", "-c", "exit 3"]), strict=True):
        subprocess.run(["docker", "-H", HOST, "run", "--name", n, "-l", "tugcli-test=1", image, *cmd],
                       capture_output=True)
    yield names


def test_version_fields(image: str) -> None:
    code, out, err = run("tug", "version")
    assert code == 0, err
    for field in ("Client:", " Version:", " API version:", "Server:", " Engine:", "  API version:",
                  "(minimum version"):
        assert field in out
    (dc, dout, _), (tc, tout, _) = both("version", "--format", "{{.Server.Version}} {{.Server.APIVersion}}")
    assert (dc, dout) == (tc, tout)


@pytest.mark.parametrize("fmt", [
    "{{.Names}}\t{{.Image}}\t{{.Command}}\t{{.State}}\t{{.Label \"tugcli-test\"}}",
    "table {{.Names}}\t{{.Status}}\t{{.Labels}}",
    "json",
])
def test_ps_format(containers: list[str], fmt: str) -> None:
    args = ("ps", "-a", "--filter", "label=tugcli-test=1", "--format", fmt)
    assert stable(run("tug", *args)) == stable(run("docker", *args))


def test_ps_default_table(containers: list[str]) -> None:
    args = ("ps", "-a", "--no-trunc", "--filter", "label=tugcli-test=1")
    assert stable(run("tug", *args)) == stable(run("docker", *args))


def test_images(image: str) -> None:
    for args in (("images", "tugcli-test-busybox"), ("images", "--no-trunc", "tugcli-test-busybox"),
                 ("images", "-q", "tugcli-test-busybox"), ("history", IMAGE)):
        assert stable(run("tug", *args)) == stable(run("docker", *args)), args


@pytest.mark.parametrize("fmt", ["{{.State.ExitCode}} {{.Name}} {{json .Config.Cmd}}",
                                 "{{range .Config.Env}}{{.}},{{end}}", "{{.Config.Labels}}", "{{.Foo}}"])
def test_inspect_format(containers: list[str], fmt: str) -> None:
    (dc, dout, derr), (tc, tout, terr) = both("inspect", "-f", fmt, *containers)
    assert (dc, dout, derr) == (tc, tout, terr)


def test_inspect_json(containers: list[str]) -> None:
    assert run("tug", "inspect", containers[0]) == run("docker", "inspect", containers[0])
    assert run("tug", "inspect", "tugcli-test-nosuch") == run("docker", "inspect", "tugcli-test-nosuch")


@pytest.mark.parametrize("args, code", [
    (("run", "--rm", IMAGE, "echo", "hello world"), 0),
    (("run", "--rm", IMAGE, "sh", "-c", "exit 3"), 3),
    (("run", "--rm", IMAGE, "tugcli-nosuchcmd"), 127),
    (("run", "--rm", IMAGE, "/bin"), 126),
    (("run", "--rm", "--xyz", IMAGE), 125),
    (("rm", "tugcli-test-nosuch1", "tugcli-test-nosuch2"), 1),
])
def test_run_exit_codes_and_output(image: str, args: tuple[str, ...], code: int) -> None:
    d, t = both(*args)
    assert d[0] == code
    assert t == d


def test_run_stdin(image: str) -> None:
    d = run("docker", "run", "--rm", "-i", IMAGE, "cat", stdin=b"piped\n")
    t = run("tug", "run", "--rm", "-i", IMAGE, "cat", stdin=b"piped\n")
    assert t == d == (0, "piped\n", "")
