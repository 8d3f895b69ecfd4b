"""Interop with the real Docker Engine: images move both ways through save | load, byte for byte."""

from __future__ import annotations

import pytest

from .helpers import archive_layer_digests, ok

pytestmark = pytest.mark.slow


@pytest.fixture
def docker_ref(docker_engine, token):
    """A unique image name in the real Docker, removed from it afterwards."""
    refs: list[str] = []

    def make(name: str) -> str:
        ref = f"tt{token}/{name}:1"
        refs.append(ref)
        return ref

    yield make
    for ref in refs:
        docker_engine.cli("rmi", "-f", ref)


def test_image_from_docker_runs_in_tugd(docker_engine, docker_ref, tug, track, token):
    """A two-layer image committed by Docker (its own tar writer, a whiteout) loads into tugd and runs."""
    ref = docker_ref("fromdocker")
    track.image(ref)
    cname = f"tt{token}-interop-commit"
    try:
        ok(docker_engine.cli("run", "--name", cname, "busybox", "sh", "-c",
                             "echo from-docker > /hello; mkdir -p /d/e; echo x > /d/e/f; rm /etc/group"))
        ok(docker_engine.cli("commit", "-c", 'CMD ["cat", "/hello"]', cname, ref))
    finally:
        docker_engine.cli("rm", "-f", cname)
    archive = ok(docker_engine.cli("save", ref, text=False)).stdout
    docker_id = ok(docker_engine.cli("image", "inspect", "-f", "{{.Id}}", ref)).stdout.strip()

    tug("rmi", ref)
    assert f"Loaded image: {ref}" in ok(tug("load", input=archive, timeout=120)).stdout.decode()
    assert ok(tug("image", "inspect", "-f", "{{.Id}}", ref)).stdout.strip() == docker_id
    assert ok(tug("run", "--rm", ref)).stdout == "from-docker\n"
    p = ok(tug("run", "--rm", ref, "sh", "-c", "cat /d/e/f; test -e /etc/group && echo group-present || echo gone"))
    assert p.stdout == "x\ngone\n"

    # and tugd gives the very same layer tars back
    ours = ok(tug("save", ref, text=False, timeout=120)).stdout
    assert archive_layer_digests(ours) == archive_layer_digests(archive)


def test_image_from_tugd_runs_in_docker(docker_engine, docker_ref, tug, track, token):
    ref = docker_ref("fromtugd")
    track.image(ref)
    ok(tug("tag", "busybox", ref))
    tug_id = ok(tug("image", "inspect", "-f", "{{.Id}}", ref)).stdout.strip()
    ours = ok(tug("save", ref, text=False, timeout=120)).stdout

    docker_engine.cli("rmi", ref)
    assert f"Loaded image: {ref}" in ok(docker_engine.cli("load", input=ours)).stdout.decode()
    assert ok(docker_engine.cli("image", "inspect", "-f", "{{.Id}}", ref)).stdout.strip() == tug_id
    assert ok(docker_engine.cli("run", "--rm", ref, "echo", "in docker")).stdout == "in docker\n"
    theirs = ok(docker_engine.cli("save", ref, text=False)).stdout
    assert archive_layer_digests(theirs) == archive_layer_digests(ours)

