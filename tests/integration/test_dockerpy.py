"""The Docker SDK for Python (docker-py 7) against the engine: what scripts written for Docker do."""

from __future__ import annotations

import docker
import pytest


def test_version_and_ping(dclient):
    assert dclient.ping() is True
    v = dclient.version()
    assert v["ApiVersion"] >= "1.41"
    assert v["Os"] == "linux"
    assert "Version" in v
    info = dclient.info()
    assert "Containers" in info and "Images" in info


def test_containers_run_returns_output(dclient, new_name):
    assert dclient.containers.run("busybox", "echo hi", name=new_name("py")) == b"hi\n"


def test_containers_run_remove(dclient, track):
    out = dclient.containers.run("busybox", ["sh", "-c", "echo a; echo b"], remove=True)
    assert out == b"a\nb\n"


def test_containers_run_nonzero_raises(dclient, new_name):
    with pytest.raises(docker.errors.ContainerError) as ei:
        dclient.containers.run("busybox", ["sh", "-c", "echo oops >&2; exit 3"], name=new_name("pyerr"))
    assert ei.value.exit_status == 3
    assert b"oops" in ei.value.stderr


def test_containers_run_detached(dclient, track):
    c = dclient.containers.run("busybox", ["sh", "-c", "echo detached; exit 2"], detach=True)
    track.container(c.id)
    assert c.wait(timeout=30)["StatusCode"] == 2
    assert c.logs() == b"detached\n"
    c.reload()
    assert c.status == "exited"
    assert c.attrs["State"]["ExitCode"] == 2
    c.remove()
    with pytest.raises(docker.errors.NotFound):
        dclient.containers.get(c.id)


def test_containers_lifecycle(dclient, new_name, token):
    name = new_name("pylife")
    c = dclient.containers.create("busybox", ["sleep", "300"], name=name, labels={f"tt{token}": "py"},
                                  environment={"X": "1"}, working_dir="/tmp", hostname="pyhost")
    assert c.status == "created"
    c.start()
    c.reload()
    assert c.status == "running"
    assert c.name == name
    assert c.labels == {f"tt{token}": "py"}
    assert c.attrs["Config"]["Hostname"] == "pyhost"
    assert "X=1" in c.attrs["Config"]["Env"]
    listed = dclient.containers.list(filters={"label": f"tt{token}=py"})
    assert [x.id for x in listed] == [c.id]
    c.stop(timeout=1)
    c.reload()
    assert c.status == "exited"
    assert c.attrs["State"]["ExitCode"] == 137
    assert [x.id for x in dclient.containers.list(all=True, filters={"name": name})] == [c.id]
    c.remove()


def test_image_not_found(dclient, token):
    with pytest.raises(docker.errors.ImageNotFound):
        dclient.images.get(f"tt{token}/nosuch:missing")
    with pytest.raises(docker.errors.NotFound):
        dclient.containers.get(f"tt{token}-nosuch")


def test_images_list(dclient):
    tags = [t for img in dclient.images.list() for t in img.tags]
    assert "busybox:latest" in tags
    img = dclient.images.get("busybox")
    assert img.id.startswith("sha256:")
    assert "busybox:latest" in img.tags
    assert img.attrs["Config"]["Cmd"] == ["sh"]
    assert dclient.images.list(name="busybox")[0].id == img.id


def test_image_tag_and_remove(dclient, track, token):
    img = dclient.images.get("busybox")
    ref = track.image(f"tt{token}/pytag:v1")
    assert img.tag(f"tt{token}/pytag", "v1") is True
    assert dclient.images.get(ref).id == img.id
    dclient.images.remove(ref)
    with pytest.raises(docker.errors.ImageNotFound):
        dclient.images.get(ref)
    assert dclient.images.get("busybox").id == img.id


def test_logs_follow_stream(dclient, track):
    c = dclient.containers.run("busybox", ["sh", "-c", "for i in 1 2 3; do echo n$i; sleep 0.2; done"], detach=True)
    track.container(c.id)
    lines = list(c.logs(stream=True, follow=True))
    assert b"".join(lines) == b"n1\nn2\nn3\n"
    assert c.wait(timeout=30)["StatusCode"] == 0


def test_image_save_and_load(dclient, track, token):
    ref = track.image(f"tt{token}/pysave:1")
    dclient.images.get("busybox").tag(f"tt{token}/pysave", "1")
    data = b"".join(dclient.images.get(ref).save(named=ref))
    dclient.images.remove(ref)
    loaded = dclient.images.load(data)
    assert len(loaded) == 1 and ref in loaded[0].tags      # busybox:latest names the same image
    assert dclient.containers.run(ref, "echo loaded", remove=True) == b"loaded\n"


def test_environment_and_user_through_the_sdk(dclient):
    out = dclient.containers.run("busybox", ["sh", "-c", "echo $A; id -un; pwd"], environment=["A=b"],
                                 user="nobody", working_dir="/home", remove=True)
    assert out == b"b\nnobody\n/home\n"
