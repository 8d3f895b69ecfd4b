"""Builds on a real Debian base: ``FROM debian:bookworm`` + ``RUN apt-get install``, the case issue 5 is
about.  The base image comes from debootstrap (the ``debian_image`` fixture, cached outside the repo);
the RUN step fetches from the Debian mirror through the engine's default network (bridge + NAT), so
these tests need the machine to reach deb.debian.org as apt on the host does.

Each build carries a marker of its own so that it really runs apt-get instead of hitting the cache
of another one (and, with the docker target, of an earlier session)."""

from __future__ import annotations

import gc
import os

import pytest

from .helpers import ok
from .test_build import image_name, run_build, track_built, write

INSTALL = "apt-get update && apt-get install -y --no-install-recommends jq"


def dockerfile(marker: str, base: str) -> str:
    return (f"FROM {base}\n"
            f"RUN echo {marker} > /marker && {INSTALL}\n"
            "CMD [\"jq\", \"--version\"]\n")


def test_apt_get_install_with_tug_and_docker_cli(cli, debian_image, tmp_path, token, track):
    """`tug build` and `DOCKER_BUILDKIT=0 docker build`: the package is installed and runs."""
    name = image_name(token, track, f"debian-{cli.name}")
    write(tmp_path, {"Dockerfile": dockerfile(os.urandom(6).hex(), debian_image)})
    p = ok(run_build(cli, tmp_path, "-t", name, timeout=600))
    assert "Setting up jq " in p.stdout, p.stdout[-3000:]
    assert f"Successfully tagged {name}\n" in p.stdout
    out = ok(cli("run", "--rm", name, "sh", "-c", "echo '{\"a\": [1, 2]}' | jq -c '.a | map(. * 10)'",
                 timeout=60)).stdout
    assert out == "[10,20]\n"
    assert ok(cli("run", "--rm", name, timeout=60)).stdout.startswith("jq-1.6")


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")   # docker-py's stream socket
def test_apt_get_install_with_dockerpy(dclient, debian_image, tmp_path, token, track):
    name = image_name(token, track, "debian-py")
    write(tmp_path, {"Dockerfile": dockerfile(os.urandom(6).hex(), debian_image)})
    image, logs = dclient.images.build(path=str(tmp_path), tag=name, rm=True, timeout=600)
    text = "".join(chunk.get("stream", "") for chunk in logs)
    assert "Setting up jq " in text
    assert dclient.containers.run(name, ["jq", "-n", "1 + 2"], remove=True) == b"3\n"
    gc.collect()


def test_failing_apt_get_is_a_build_error(cli, debian_image, tmp_path):
    """A package apt cannot find: apt-get exits 100 and the build fails with Docker's message."""
    marker = os.urandom(4).hex()
    write(tmp_path, {"Dockerfile": f"FROM {debian_image}\nRUN apt-get install -y tt-no-such-package-{marker}\n"})
    p = run_build(cli, tmp_path, "--force-rm", timeout=300)
    assert p.returncode == 100, (p.stdout, p.stderr)
    assert "E: Unable to locate package" in p.stdout + p.stderr
    assert (f"The command '/bin/sh -c apt-get install -y tt-no-such-package-{marker}' returned a non-zero code: 100"
            in p.stderr)


def test_cached_apt_rebuild_runs_nothing(tug, debian_image, tmp_path, token, track):
    """The rebuild of an unchanged apt Dockerfile takes every step from the cache: no container runs."""
    name = image_name(token, track, "debian-cache")
    write(tmp_path, {"Dockerfile": dockerfile(os.urandom(6).hex(), debian_image)})
    first = ok(run_build(tug, tmp_path, "-t", name, timeout=600)).stdout
    track_built(tug, track, first)
    second = ok(run_build(tug, tmp_path, "-t", name, timeout=120)).stdout
    assert second.count(" ---> Using cache\n") == 2, second
    assert "Running in" not in second
