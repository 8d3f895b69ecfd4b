"""ExecService without a runtime: validation, dockerd's errors, the inspect shape, the environment."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from tugboat.engine.container_state import State
from tugboat.engine.exec import ExecService, exec_env
from tugboat.errors import Conflict, InvalidArgument, NotFound

CID = "c" * 64


def _service(status: str = "running") -> tuple[ExecService, dict]:
    containers = {CID: SimpleNamespace(id=CID, name="/web", state=State(status=status), config={"Env": ["A=1"]},
                                       host_config={})}

    def lookup(ref: str):
        for cid, rec in containers.items():
            if cid.startswith(ref) or ref == "web":
                return rec
        raise NotFound(f"No such container: {ref}")

    return ExecService(lookup, runtime=None), containers


def test_create_and_inspect_like_dockerd():
    svc, _ = _service()
    eid = svc.create("web", {"Cmd": ["sh", "-c", "exit 3"], "AttachStdout": True, "User": "nobody"})["Id"]
    assert len(eid) == 64
    assert svc.inspect(eid) == {
        "ID": eid, "Running": False, "ExitCode": None,
        "ProcessConfig": {"tty": False, "entrypoint": "sh", "arguments": ["-c", "exit 3"], "privileged": False,
                          "user": "nobody"},
        "OpenStdin": False, "OpenStderr": False, "OpenStdout": True, "CanRemove": False,
        "ContainerID": CID, "DetachKeys": "", "Pid": 0}


@pytest.mark.parametrize(("status", "message"), [
    ("exited", f"Container {CID} is not running"),
    ("created", f"Container {CID} is not running"),
    ("paused", "Container web is paused, unpause the container before exec"),
])
def test_exec_needs_a_running_container(status, message):
    svc, _ = _service(status)
    with pytest.raises(Conflict) as e:
        svc.create("web", {"Cmd": ["true"]})
    assert e.value.message == message


def test_errors():
    svc, containers = _service()
    with pytest.raises(InvalidArgument, match="No exec command specified"):
        svc.create("web", {"Cmd": []})
    with pytest.raises(NotFound, match="No such container: nope"):
        svc.create("nope", {"Cmd": ["true"]})
    with pytest.raises(NotFound, match="No such exec instance: x"):
        svc.inspect("x")
    eid = svc.create("web", {"Cmd": ["true"]})["Id"]
    containers.clear()                       # the container is removed: its execs go with it
    with pytest.raises(NotFound, match=f"No such exec instance: {eid}"):
        svc.inspect(eid)


def test_start_twice_is_a_conflict():
    svc, _ = _service()
    eid = svc.create("web", {"Cmd": ["true"]})["Id"]
    svc.start(eid, detach=False)             # claims it; the process starts when the stream is read
    with pytest.raises(Conflict, match=f"Error: Exec command {eid} is already running"):
        svc.start(eid, detach=False)


def test_environment_is_the_containers_plus_the_execs():
    env = exec_env({"Hostname": "h", "Env": ["PATH=/x", "A=1", "B=2"]}, ["B=3", "C=4"], tty=True)
    assert env == ["PATH=/x", "HOSTNAME=h", "TERM=xterm", "A=1", "B=3", "C=4"]    # replaced in place
    assert "TERM=xterm" not in exec_env({"Env": []}, [], tty=False)


def test_environment_has_the_link_variables():
    """dockerd's exec gets CreateDaemonEnvironment(tty, linkedEnv): a --link client's variables too."""
    env = exec_env({"Hostname": "h", "Env": ["DB_NAME=mine"]}, ["X=1"], tty=False,
                   linked=["DB_PORT=tcp://10.0.0.2:3306", "DB_NAME=/me/db"])
    assert env[2:] == ["DB_PORT=tcp://10.0.0.2:3306", "DB_NAME=mine", "X=1"]
