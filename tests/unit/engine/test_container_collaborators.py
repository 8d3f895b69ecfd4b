"""Commit and cp are collaborators of the container service (engine/container_commit.py,
engine/container_archive.py): what they are handed must behave as the service itself does."""

from __future__ import annotations

import threading

import pytest
from _container_fakes import IMAGE_ID, FakeImages, FakeLayers, FakeRuntime

from tugboat.engine.container_commit import CommitService
from tugboat.engine.containers import ContainerService
from tugboat.errors import NotFound


class Events:
    def __init__(self) -> None:
        self.seen: list[tuple[str, str]] = []

    def publish(self, type_: str, action: str, actor_id: str, attributes: dict | None = None) -> None:
        self.seen.append((type_, action))


class Images(FakeImages):
    def __init__(self) -> None:
        super().__init__()
        self.created: list[tuple[dict, bytes | None, str | None, str | None]] = []

    def create_image(self, cfg: dict, layer_tar=None, parent: str | None = None, ref: str | None = None) -> str:
        self.created.append((cfg, layer_tar.read() if layer_tar else None, parent, ref))
        return "sha256:" + "99" * 32


class Layers(FakeLayers):
    def rw_diff(self, cid: str):
        return iter([b"layer-tar"])


@pytest.fixture
def env(tmp_path):
    rt, images, events = FakeRuntime(), Images(), Events()
    layers = Layers()
    svc = ContainerService(tmp_path / "containers", images, layers, rt, events=events)
    commits = CommitService(lookup=svc.record, images=images, layers=layers, pause=svc.pause,
                            unpause=svc.unpause, events=events)
    yield svc, commits, rt, images, events, tmp_path
    for cid in list(rt.watchers):
        rt.exit(cid)


def test_commit_pauses_a_running_container_through_the_container_service(env):
    svc, commits, rt, images, events, _ = env
    cid = svc.create("app", {"Image": "busybox", "Cmd": ["sleep", "9"]})["Id"]
    svc.start(cid)
    events.seen.clear()
    image_id = commits.commit("app", repo="snap", tag="1", changes=["LABEL x=y"])
    assert image_id == "sha256:" + "99" * 32
    assert events.seen == [("container", "pause"), ("container", "unpause"), ("image", "tag"),
                           ("container", "commit")]
    assert rt.events[-2:] == ["pause", "resume"]
    assert svc.inspect(cid)["State"]["Status"] == "running"
    cfg, layer, parent, ref = images.created[-1]
    assert (layer, parent, ref) == (b"layer-tar", IMAGE_ID, "docker.io/library/snap:1")
    assert cfg["config"]["Labels"]["x"] == "y" and cfg["container"] == cid


def test_commit_without_pause_and_of_an_unknown_container(env):
    svc, commits, rt, _, events, _ = env
    cid = svc.create(None, {"Image": "busybox", "Cmd": ["sleep", "9"]})["Id"]
    svc.start(cid)
    events.seen.clear()
    commits.commit(cid, pause=False)
    assert events.seen == [("container", "commit")] and "pause" not in rt.events
    with pytest.raises(NotFound):
        commits.commit("nosuch")


def test_export_shares_the_temporary_mount_with_a_copy_in_progress(env):
    svc, _, rt, _, _, tmp = env
    rt.export_dir = tmp / "rootfs"
    (rt.export_dir / "etc").mkdir(parents=True)
    cid = svc.create("stopped", {"Image": "busybox"})["Id"]
    copying, export_done = threading.Event(), threading.Event()

    def cp() -> None:
        with svc.rootfs_mounts.hold(svc.record(cid)):
            copying.set()
            export_done.wait(10)

    t = threading.Thread(target=cp)
    t.start()
    assert copying.wait(10)
    b"".join(svc.export(cid))
    assert rt.events.count("mount") == 1 and "unmount" not in rt.events
    export_done.set()
    t.join()
    assert rt.events[-2:] == ["mount", "unmount"]
