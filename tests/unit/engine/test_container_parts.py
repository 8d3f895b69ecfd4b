"""The container engine's pure parts: names, state words, config merge, /etc files."""

from __future__ import annotations

import re

import pytest

from tugboat.engine import container_names as names
from tugboat.engine.container_list import command_string
from tugboat.engine.container_record import (
    build_host_config,
    command_of,
    hosts_content,
    merge_config,
    resolv_content,
    shape_config,
)
from tugboat.engine.container_state import (
    CREATED,
    EXITED,
    REMOVING,
    RUNNING,
    InvalidTransition,
    State,
)
from tugboat.errors import InvalidArgument, NotImplementedYet

S = 1_000_000_000


# --- names ---------------------------------------------------------------------------------------
def test_random_names_look_like_dockers():
    for _ in range(200):
        n = names.random_name()
        left, right = n.split("_")
        assert left in names.LEFT and right in names.RIGHT and n != "boring_wozniak"
    assert re.fullmatch(r"[a-z]+_[a-z]+\d", names.random_name(retry=1))


def test_boring_wozniak_is_never_generated(monkeypatch):
    picks = iter(["boring", "wozniak", "boring", "turing"])
    monkeypatch.setattr(names._rand, "choice", lambda seq: next(picks))
    assert names.random_name() == "boring_turing"


@pytest.mark.parametrize("good", ["ab", "/ab", "a.b-c_d", "0abc", "A1"])
def test_valid_names(good):
    assert names.normalize(good) == "/" + good.lstrip("/")


@pytest.mark.parametrize("bad", ["a", "-ab", "_ab", "a b", "a/b", "", "//ab", "é1"])
def test_invalid_names(bad):
    with pytest.raises(InvalidArgument, match=re.escape(
            f"Invalid container name ({bad}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed")):
        names.normalize(bad)


# --- state ---------------------------------------------------------------------------------------


def test_state_words_and_api():
    now = 1_000_000 * S
    st = State()
    assert st.human(now) == "Created" and st.to_api()["Status"] == "created"
    st.transition(RUNNING)
    st.started_at_ns, st.pid = now - 5 * S, 42
    assert st.human(now) == "Up 5 seconds" and st.to_api()["Running"] is True
    st.transition(EXITED)
    st.finished_at_ns, st.exit_code, st.pid = now - 180 * S, 137, 0
    assert st.human(now) == "Exited (137) 3 minutes ago"
    api = st.to_api()
    assert list(api) == ["Status", "Running", "Paused", "Restarting", "OOMKilled", "Dead", "Pid",
                         "ExitCode", "Error", "StartedAt", "FinishedAt"]
    assert api["FinishedAt"] == "1970-01-12T13:43:40Z"
    st.transition(REMOVING)
    assert st.human(now) == "Removal In Progress"
    assert State.from_json(st.to_json()) == st


def test_invalid_transitions():
    st = State()
    with pytest.raises(InvalidTransition):
        st.transition(EXITED)
    st.transition(REMOVING)
    with pytest.raises(InvalidTransition):
        st.transition(RUNNING)
    assert State(status=CREATED).status == "created"


# --- config merge --------------------------------------------------------------------------------
IMG = {"Env": ["PATH=/usr/bin", "A=img"], "Cmd": ["sh"], "Entrypoint": ["/init"], "WorkingDir": "/w",
       "User": "nobody", "Labels": {"x": "img", "y": "img"}, "ExposedPorts": {"80/tcp": {}},
       "Volumes": {"/data": {}}, "StopSignal": "SIGQUIT",
       "Healthcheck": {"Test": ["CMD", "true"], "Interval": 5, "Retries": 3}}


def test_merge_fills_from_image():
    c = merge_config({"Image": "i"}, IMG)
    assert c["Env"] == IMG["Env"] and c["Cmd"] == ["sh"] and c["Entrypoint"] == ["/init"]
    assert c["WorkingDir"] == "/w" and c["User"] == "nobody" and c["StopSignal"] == "SIGQUIT"
    assert c["Labels"] == {"x": "img", "y": "img"} and c["Volumes"] == {"/data": {}}
    assert c["ExposedPorts"] == {"80/tcp": {}} and c["Healthcheck"]["Retries"] == 3
    assert command_of(c) == ["/init", "sh"]


def test_merge_container_wins():
    c = merge_config({"Env": ["A=ctr", "B=ctr"], "Labels": {"x": "ctr"}, "User": "root", "WorkingDir": "/c",
                      "ExposedPorts": {"443/tcp": {}}, "Healthcheck": {"Interval": 9}}, IMG)
    assert c["Env"] == ["A=ctr", "B=ctr", "PATH=/usr/bin"]
    assert c["Labels"] == {"x": "ctr", "y": "img"} and c["User"] == "root" and c["WorkingDir"] == "/c"
    assert c["ExposedPorts"] == {"443/tcp": {}, "80/tcp": {}}
    assert c["Healthcheck"] == {"Interval": 9, "Test": ["CMD", "true"], "Retries": 3}


def test_merge_entrypoint_and_cmd_rules():
    # Cmd given: image Entrypoint kept, image Cmd replaced
    assert command_of(merge_config({"Cmd": ["ls"]}, IMG)) == ["/init", "ls"]
    # Entrypoint given: image Cmd dropped
    c = merge_config({"Entrypoint": ["echo"]}, IMG)
    assert c["Cmd"] is None and command_of(c) == ["echo"]
    # both given
    assert command_of(merge_config({"Entrypoint": ["echo"], "Cmd": ["x"]}, IMG)) == ["echo", "x"]
    # explicit empty Entrypoint: no image Entrypoint, image Cmd kept (Go's len()==0 / nil rules)
    c = merge_config({"Entrypoint": []}, IMG)
    assert c["Entrypoint"] == [] and command_of(c) == ["sh"]
    # Entrypoint [""] (docker run --entrypoint ""): no entrypoint, image Cmd dropped
    assert command_of(merge_config({"Entrypoint": [""], "Cmd": ["ls"]}, IMG)) == ["ls"]
    assert command_of(merge_config({"Entrypoint": [""]}, IMG)) == []
    assert merge_config({}, None)["Env"] is None


def test_shape_config_order_and_omitempty():
    c = shape_config(merge_config({"Image": "busybox", "Cmd": ["ls"]}, {}), "abcdef123456")
    assert list(c) == ["Hostname", "Domainname", "User", "AttachStdin", "AttachStdout", "AttachStderr",
                       "Tty", "OpenStdin", "StdinOnce", "Env", "Cmd", "Image", "Volumes", "WorkingDir",
                       "Entrypoint", "OnBuild", "Labels"]
    assert c["Hostname"] == "abcdef123456" and c["Entrypoint"] is None and c["Labels"] == {}


def test_host_config_defaults():
    hc = build_host_config(None)
    assert hc["NetworkMode"] == "default" and hc["ShmSize"] == 67108864 and hc["IpcMode"] == "private"
    assert hc["LogConfig"] == {"Type": "json-file", "Config": {}} and hc["Runtime"] == "runc"
    assert hc["MaskedPaths"] and hc["ReadonlyPaths"] and hc["Binds"] is None
    hc = build_host_config({"Privileged": True, "RestartPolicy": {"Name": "no"}, "Memory": 8 << 20,
                            "LogConfig": {"Type": "", "Config": None}})
    assert hc["MaskedPaths"] is None and hc["RestartPolicy"] == {"Name": "no", "MaximumRetryCount": 0}
    assert hc["Memory"] == 8 << 20 and hc["LogConfig"] == {"Type": "json-file", "Config": {}}
    with pytest.raises(InvalidArgument, match="invalid restart policy 'sometimes'"):
        build_host_config({"RestartPolicy": {"Name": "sometimes"}})
    with pytest.raises(InvalidArgument, match='error looking up logging plugin nope: plugin "nope" not found'):
        build_host_config({"LogConfig": {"Type": "nope"}})
    with pytest.raises(NotImplementedYet, match="logging driver syslog is not supported yet"):
        build_host_config({"LogConfig": {"Type": "syslog"}})
    with pytest.raises(InvalidArgument, match="Minimum memory limit allowed is 6MB"):
        build_host_config({"Memory": 1000})
    assert build_host_config({"LogConfig": {"Type": "none"}})["LogConfig"] == {"Type": "none", "Config": {}}


# --- /etc files and summary Command --------------------------------------------------------------
def test_hosts_content():
    text = hosts_content("abc", "10.0.0.2", ["db:10.0.0.9", "v6:fe80::1"])
    assert text.splitlines() == [
        "127.0.0.1\tlocalhost", "::1\tlocalhost ip6-localhost ip6-loopback", "fe00::0\tip6-localnet",
        "ff00::0\tip6-mcastprefix", "ff02::1\tip6-allnodes", "ff02::2\tip6-allrouters",
        "10.0.0.9\tdb", "fe80::1\tv6", "10.0.0.2\tabc"]


def test_resolv_conf_filtering():
    host = "# generated\nnameserver 127.0.0.53\nnameserver ::1\nsearch example.com\noptions ndots:2\n"
    out = resolv_content(host)
    assert "127.0.0.53" not in out and "::1" not in out and "search example.com" in out
    assert out.endswith("nameserver 8.8.8.8\nnameserver 8.8.4.4\n")
    assert resolv_content("nameserver 10.1.1.1\n") == "nameserver 10.1.1.1\n"
    out = resolv_content("nameserver 10.1.1.1\nsearch a\n", dns=["1.1.1.1"], search=["b"], options=["x"])
    assert out == "search b\nnameserver 1.1.1.1\noptions x\n"


def test_command_string():
    assert command_string("sh", []) == "sh"
    assert command_string("sh", ["-c", "echo hi"]) == "sh -c 'echo hi'"

