"""Go text/template behaviour `tug --format` / `inspect -f` depend on; expected strings are what
docker 28 prints for the same template and data."""

from __future__ import annotations

import pytest

from tugboat.cli.gotemplate import ExecError, ParseError, Template, TemplateError, go_sprintf

DATA = {
    "Id": "abc", "Name": "/web",
    "State": {"Status": "running", "Running": True, "Pid": 42, "ExitCode": 0},
    "Config": {"Cmd": ["echo", "hi"], "Entrypoint": None, "Labels": {"b": "2", "a": "1"},
               "Env": ["A=1", "B=2"], "Image": "busybox", "Volumes": None},
    "Mounts": [],
}


def render(t: str, data: object = DATA) -> str:
    return Template(t).execute(data)


@pytest.mark.parametrize("tmpl, want", [
    ("{{.State.Status}}", "running"),
    ("{{.State.Pid}}", "42"),
    ("{{.State.Running}}", "true"),
    ("{{.Config.Cmd}}", "[echo hi]"),
    ("{{.Config.Entrypoint}}", "[]"),
    ("{{.Config.Volumes}}", "map[]"),
    ("{{.Config.Labels}}", "map[a:1 b:2]"),
    ("{{.Config.Labels.a}}", "1"),
    ("{{.Config.Labels.zz}}", "<no value>"),
    ("{{index .Config.Labels \"b\"}}", "2"),
    ("{{index .Config.Cmd 1}}", "hi"),
    ("{{json .Config.Cmd}}", '["echo","hi"]'),
    ("{{json .Config.Labels}}", '{"a":"1","b":"2"}'),
    ("{{json .Config.Entrypoint}}", "null"),
    ("{{.Config.Image | upper}}", "BUSYBOX"),
    ("{{lower \"ABC\"}}", "abc"),
    ("{{title \"hello world\"}}", "Hello World"),
    ("{{join .Config.Env \",\"}}", "A=1,B=2"),
    ("{{split \"a:b:c\" \":\"}}", "[a b c]"),
    ("{{len .Config.Env}}", "2"),
    ("{{range .Config.Cmd}}[{{.}}]{{end}}", "[echo][hi]"),
    ("{{range $i, $e := .Config.Cmd}}{{$i}}={{$e}} {{end}}", "0=echo 1=hi "),
    ("{{range $k, $v := .Config.Labels}}{{$k}}{{$v}}{{end}}", "a1b2"),
    ("{{range .Mounts}}x{{else}}none{{end}}", "none"),
    ("{{if eq .State.Status \"running\"}}up{{else}}down{{end}}", "up"),
    ("{{if ne .State.Pid 42}}a{{else if .State.Running}}b{{else}}c{{end}}", "b"),
    ("{{if and .State.Running (eq .State.ExitCode 0)}}ok{{end}}", "ok"),
    ("{{if or .Mounts .Config.Cmd}}some{{end}}", "some"),
    ("{{if not .Mounts}}empty{{end}}", "empty"),
    ("{{with .State}}{{.Status}}/{{$.Name}}{{end}}", "running//web"),
    ("{{$x := .Name}}{{$x}}", "/web"),
    ("{{printf \"%s-%d\" .Name .State.Pid}}", "/web-42"),
    ("{{printf \"%q\" .Name}}", '"/web"'),
    ("{{println .Name}}", "/web\n"),
    ("{{(index .Config.Cmd 0) | upper}}", "ECHO"),
    ("a {{- \" b \" -}} c", "a b c"),
    ("{{/* comment */}}x", "x"),
    ("{{.State.Status}}\t{{.Name}}", "running\t/web"),
])
def test_render(tmpl: str, want: str) -> None:
    assert render(tmpl) == want


def test_missing_struct_key_is_an_error_like_docker() -> None:
    with pytest.raises(ExecError) as e:
        render("{{.Config.Foo}}")
    assert str(e.value) == 'template: :1:9: executing "" at <.Config.Foo>: map has no entry for key "Foo"'


def test_parse_errors() -> None:
    with pytest.raises(ParseError, match="template: :1: unclosed action"):
        Template("{{.ID")
    with pytest.raises(ParseError, match='function "nosuch" not defined'):
        Template("{{nosuch .X}}")
    with pytest.raises(ParseError, match="unexpected EOF"):
        Template("{{if .X}}a")
    with pytest.raises(ParseError, match="unexpected {{end}}"):
        Template("a{{end}}")


def test_method_fields_on_objects() -> None:
    class Row:
        go_type = "*formatter.ContainerContext"

        def ID(self) -> str:
            return "123"

        def Label(self, name: str) -> str:
            return {"k": "v"}.get(name, "")

    assert render('{{.ID}} {{.Label "k"}}', Row()) == "123 v"
    with pytest.raises(ExecError, match=r"can't evaluate field Nope in type \*formatter.ContainerContext"):
        render("{{.Nope}}", Row())


def test_sprintf() -> None:
    assert go_sprintf("%-5s|%3d|%v|%t", "ab", 7, [1, 2], True) == "ab   |  7|[1 2]|true"
    assert go_sprintf("%s") == "%!s(MISSING)"


# --- inspect: docker's typed struct first, the raw JSON second (cli/inspect_types.py) -------------

CONTAINER = {"Id": "abc", "State": {"Status": "running"}, "SizeRw": None,
             "Config": {"Labels": {"a": "1"}, "Env": ["X=1"]}, "HostConfig": {"LogConfig": {"Type": "json-file"}},
             "Mounts": [{"Type": "bind", "Source": "/tmp", "Destination": "/h"}],
             "NetworkSettings": {"Networks": {"bridge": {"IPAMConfig": None, "IPAddress": "172.17.0.2"}}}}


@pytest.mark.parametrize("fmt, want", [
    ("{{.State.Health}}", "<nil>"),               # omitempty pointers: nil in docker's struct
    ("{{.Config.Healthcheck}}", "<nil>"),
    ("{{json .State.Health}}", "null"),
    ("{{.Config.StopTimeout}} {{.HostConfig.Init}} {{.SizeRootFs}}", "<nil> <nil> <nil>"),
    ("[{{.Config.StopSignal}}] {{.Config.ArgsEscaped}}", "[] false"),
    ("{{.Config.ExposedPorts}} {{.Config.Shell}} {{.HostConfig.Annotations}}", "map[] [] map[]"),
    ("{{range .Mounts}}[{{.Name}}|{{.Driver}}|{{.Type}}]{{end}}", "[||bind]"),
    ("{{.NetworkSettings.Networks.bridge.IPAMConfig}}", "<nil>"),
    ("{{.NetworkSettings.Networks.bridge.DNSNames}}", "[]"),
    ("{{.Config.Labels.nosuch}}", "<no value>"),   # a map's missing key
    ("{{json .State}}", '{"Status":"running"}'),   # omitted fields stay omitted
])
def test_inspect_omitted_fields_have_go_zero_values(fmt: str, want: str) -> None:
    from tugboat.cli.inspect_types import execute
    assert execute(Template(fmt), CONTAINER, "container") == want


@pytest.mark.parametrize("fmt, err", [
    ("{{.NoSuchField}}", 'template: :1:2: executing "" at <.NoSuchField>: map has no entry for key "NoSuchField"'),
    ("{{.State.Health.Status}}",
     'template: :1:8: executing "" at <.State.Health.Status>: map has no entry for key "Health"'),
])
def test_inspect_unknown_fields_fail_as_the_raw_run(fmt: str, err: str) -> None:
    from tugboat.cli.inspect_types import execute
    with pytest.raises(TemplateError) as e:
        execute(Template(fmt), CONTAINER, "container")
    assert str(e.value) == err


@pytest.mark.parametrize("kind, data, fmt, want", [
    ("image", {"Config": {"Cmd": ["sh"]}}, "{{.Config.Healthcheck}} [{{.Config.StopSignal}}] {{.Descriptor}}",
     "<nil> [] <nil>"),
    ("volume", {"Name": "v", "Options": None}, "{{.UsageData}} {{.Status}} {{.Options}}", "<nil> map[] map[]"),
    ("network", {"Name": "bridge"}, "{{.EnableIPv4}} {{.Peers}} {{.Services}}", "false [] map[]"),
])
def test_inspect_omitted_fields_of_other_kinds(kind: str, data: dict, fmt: str, want: str) -> None:
    from tugboat.cli.inspect_types import execute
    assert execute(Template(fmt), data, kind) == want
    with pytest.raises(TemplateError):
        execute(Template("{{.Health}}"), data, kind)
