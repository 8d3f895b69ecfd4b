"""pflag/cobra parsing and error texts, which scripts and users see verbatim."""

from __future__ import annotations

import pytest

from tugboat.cli.flags import B, HelpRequested, I, L, S, Spec, UsageError, parse


def spec(**kw: object) -> Spec:
    return Spec("run", "docker run [OPTIONS] IMAGE [COMMAND] [ARG...]", "Run",
                [B("detach", "d"), B("rm"), B("interactive", "i"), B("tty", "t"), L("env", "e"),
                 S("name"), I("stop-timeout"), S("entrypoint")], 1, -1, **kw)


def test_forms() -> None:
    opts, args = parse(spec(interspersed=False),
                       ["-dit", "-eA=1", "-e", "B=2", "--env=C=3", "-e=D", "--name", "x", "--rm=false",
                        "--stop-timeout=5", "busybox", "sh", "-c", "--rm"])
    assert opts["detach"] and opts["interactive"] and opts["tty"]
    assert opts["env"] == ["A=1", "B=2", "C=3", "D"]
    assert opts["name"] == "x" and opts["rm"] is False and opts["stop_timeout"] == 5
    assert args == ["busybox", "sh", "-c", "--rm"]  # flags after the image belong to the command
    assert "entrypoint" not in opts["_set"] and "name" in opts["_set"]


def test_double_dash() -> None:
    _, args = parse(spec(), ["--", "-x"])
    assert args == ["-x"]


@pytest.mark.parametrize("argv, message, code", [
    (["--xyz"], "unknown flag: --xyz", 125),
    (["-x"], "unknown shorthand flag: 'x' in -x", 125),
    (["-e"], "flag needs an argument: 'e' in -e", 125),
    (["--name"], "flag needs an argument: --name", 125),
    (["--stop-timeout", "x", "img"],
     'invalid argument "x" for "--stop-timeout" flag: strconv.ParseInt: parsing "x": invalid syntax', 125),
    (["--rm=maybe", "img"],
     'invalid argument "maybe" for "--rm" flag: strconv.ParseBool: parsing "maybe": invalid syntax', 125),
    ([], "'tug run' requires at least 1 argument", 1),
])
def test_errors(argv: list[str], message: str, code: int) -> None:
    with pytest.raises(UsageError) as e:
        parse(spec(), argv)
    assert e.value.message == message
    assert e.value.exit_code == code


def test_rendered_usage_error_matches_docker_layout() -> None:
    with pytest.raises(UsageError) as e:
        parse(spec(), ["--xyz"])
    assert e.value.render() == ("unknown flag: --xyz\n\nUsage:  tug run [OPTIONS] IMAGE [COMMAND] [ARG...]\n\n"
                                "Run 'tug run --help' for more information")
    with pytest.raises(UsageError) as e:
        parse(spec(), [])
    assert e.value.render().startswith("tug: 'tug run' requires at least 1 argument\n\nUsage:")
    assert e.value.render().endswith("See 'tug run --help' for more information")


def test_argument_counts() -> None:
    exact = Spec("logs", "docker logs CONTAINER", "", [], 1, 1)
    with pytest.raises(UsageError, match="'tug logs' requires 1 argument"):
        parse(exact, [])
    none = Spec("ps", "docker ps", "", [], 0, 0)
    with pytest.raises(UsageError, match="'tug ps' accepts no arguments"):
        parse(none, ["x"])


def test_help() -> None:
    with pytest.raises(HelpRequested):
        parse(spec(), ["--help"])
