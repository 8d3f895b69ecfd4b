"""Top-level dispatch: global flags, unknown commands, help and the unreachable-daemon message."""

from __future__ import annotations

import pytest

from tugboat.cli.main import main


def test_unknown_command(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["nosuch"]) == 1
    assert capsys.readouterr().err == "tug: unknown command: tug nosuch\n\nRun 'tug --help' for more information\n"


def test_unknown_flag_is_125(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ps", "--xyz"]) == 125
    err = capsys.readouterr().err
    assert err.startswith("unknown flag: --xyz\n\nUsage:  tug ps [OPTIONS]\n")


def test_help_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["container", "stop", "--help"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Usage:  tug container stop [OPTIONS] CONTAINER [CONTAINER...]")
    assert "  tug container stop, tug stop" in out


def test_unreachable_daemon(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DOCKER_API_VERSION", raising=False)
    assert main(["-H", "unix:///nonexistent/x.sock", "ps"]) == 1
    assert capsys.readouterr().err == ("Cannot connect to the Docker daemon at unix:///nonexistent/x.sock. "
                                       "Is the docker daemon running?\n")
    assert main(["-H", "unix:///nonexistent/x.sock", "run", "busybox"]) == 125
    assert capsys.readouterr().err.startswith("tug: Cannot connect to the Docker daemon")
