"""docker run/create flags -> the create body docker's CLI would send, and run's exit-code rules."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tugboat.cli.commands.run import (
    RunError,
    _spec,
    build_config,
    normalize_repo,
    ram_in_bytes,
    status_for_start_error,
)
from tugboat.cli.flags import parse


def config(argv: list[str], detach: bool = False) -> dict[str, Any]:
    opts, args = parse(_spec("run", run=True), argv)
    cfg, name = build_config(opts, args, detach or bool(opts["detach"]))
    cfg["_name"] = name
    return cfg


def test_foreground_defaults_attach_stdout_and_stderr() -> None:
    c = config(["busybox", "echo", "hi"])
    assert (c["AttachStdin"], c["AttachStdout"], c["AttachStderr"]) == (False, True, True)
    assert c["Cmd"] == ["echo", "hi"] and c["Entrypoint"] is None and c["Image"] == "busybox"
    assert c["HostConfig"]["NetworkMode"] == "default" and c["HostConfig"]["AutoRemove"] is False


def test_interactive_and_detached() -> None:
    c = config(["-i", "busybox", "cat"])
    assert c["AttachStdin"] and c["OpenStdin"] and c["StdinOnce"]
    d = config(["-d", "-i", "busybox"])
    assert not (d["AttachStdin"] or d["AttachStdout"] or d["AttachStderr"] or d["StdinOnce"])
    assert d["OpenStdin"] and d["Cmd"] is None


def test_attach_selection() -> None:
    c = config(["-a", "stderr", "busybox"])
    assert (c["AttachStdin"], c["AttachStdout"], c["AttachStderr"]) == (False, False, True)
    with pytest.raises(RunError):
        config(["-a", "bogus", "busybox"])


def test_env_labels_and_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FROM_HOST", "h")
    monkeypatch.delenv("UNSET_VAR", raising=False)
    env_file = tmp_path / "env"
    env_file.write_text("# comment\n\nA=1\n  B=two words\nFROM_HOST\n")
    label_file = tmp_path / "labels"
    label_file.write_text("x=1\ny\n")
    c = config(["--env-file", str(env_file), "-e", "C=3", "-e", "FROM_HOST", "-e", "UNSET_VAR",
                "--label-file", str(label_file), "-l", "z=9", "busybox"])
    assert c["Env"] == ["A=1", "B=two words", "FROM_HOST=h", "C=3", "FROM_HOST=h", "UNSET_VAR"]
    assert c["Labels"] == {"x": "1", "y": "", "z": "9"}


def test_entrypoint_user_workdir_hostname_stop() -> None:
    c = config(["--entrypoint", "", "-u", "1:2", "-w", "/tmp", "-h", "box", "--stop-signal", "SIGINT",
                "--stop-timeout", "3", "--name", "web", "--rm", "busybox"])
    assert c["Entrypoint"] == [""]
    assert (c["User"], c["WorkingDir"], c["Hostname"]) == ("1:2", "/tmp", "box")
    assert (c["StopSignal"], c["StopTimeout"], c["_name"]) == ("SIGINT", 3, "web")
    assert c["HostConfig"]["AutoRemove"] is True


def test_ports_memory_restart() -> None:
    c = config(["-p", "8080:80", "-p", "127.0.0.1:53:53/udp", "-m", "64m", "--restart", "on-failure:3",
                "busybox"])
    assert c["ExposedPorts"] == {"80/tcp": {}, "53/udp": {}}
    assert c["HostConfig"]["PortBindings"] == {"80/tcp": [{"HostIp": "", "HostPort": "8080"}],
                                               "53/udp": [{"HostIp": "127.0.0.1", "HostPort": "53"}]}
    assert c["HostConfig"]["Memory"] == 64 * 1024 * 1024
    assert c["HostConfig"]["RestartPolicy"] == {"Name": "on-failure", "MaximumRetryCount": 3}
    with pytest.raises(RunError, match="Conflicting options: --restart and --rm"):
        config(["--rm", "--restart", "always", "busybox"])


def test_ram_in_bytes() -> None:
    assert ram_in_bytes("512") == 512
    assert ram_in_bytes("1k") == 1024
    assert ram_in_bytes("1.5g") == int(1.5 * 1024 ** 3)
    with pytest.raises(RunError):
        ram_in_bytes("lots")


@pytest.mark.parametrize("msg, code", [
    ('exec: "nosuch": executable file not found in $PATH: unknown', 127),
    ("exec: /x: no such file or directory", 127),
    ('exec: "/etc": permission denied: unknown', 126),
    ("is a directory", 126),
    ("Conflict. The container name is already in use", 125),
])
def test_start_error_exit_codes(msg: str, code: int) -> None:
    assert status_for_start_error(msg) == code


def test_normalize_repo_as_docker_sends_it() -> None:
    assert normalize_repo("busybox") == "docker.io/library/busybox"
    assert normalize_repo("foo/bar") == "docker.io/foo/bar"
    assert normalize_repo("localhost:5000/x") == "localhost:5000/x"
    assert normalize_repo("quay.io/a/b") == "quay.io/a/b"
