"""runtime/exec.py: the OCI process of an exec, built from the container's init process."""

from __future__ import annotations

from tugboat.runtime.exec import build_process
from tugboat.runtime.spec import capabilities, detect_host
from tugboat.runtime.users import ResolvedUser

BASE = {
    "terminal": False, "consoleSize": {"height": 24, "width": 80},
    "user": {"uid": 0, "gid": 0}, "args": ["sleep", "300"], "env": ["PATH=/bin", "A=1"], "cwd": "/srv",
    "capabilities": {"bounding": ["CAP_KILL"], "effective": ["CAP_KILL"], "permitted": ["CAP_KILL"]},
    "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}],
    "noNewPrivileges": True, "apparmorProfile": "docker-default", "oomScoreAdj": 0,
}


def test_exec_process_keeps_the_init_limits_and_takes_its_own_command():
    p = build_process(BASE, ["sh", "-c", "id"], ["PATH=/usr/bin", "B=2"], "/tmp",
                      ResolvedUser(65534, 65534, [65534, 10]), tty=True, privileged=False)
    assert p["args"] == ["sh", "-c", "id"] and p["env"] == ["PATH=/usr/bin", "B=2"] and p["cwd"] == "/tmp"
    assert p["user"] == {"uid": 65534, "gid": 65534, "additionalGids": [65534, 10]}
    assert p["terminal"] is True and "consoleSize" not in p
    assert p["capabilities"] == BASE["capabilities"] and p["rlimits"] == BASE["rlimits"]
    assert p["noNewPrivileges"] is True and p["apparmorProfile"] == "docker-default"
    assert BASE["args"] == ["sleep", "300"] and "consoleSize" in BASE     # the base is not modified


def test_exec_process_defaults_cwd_to_root():
    p = build_process(BASE, ["true"], [], "", ResolvedUser(0, 0), tty=False, privileged=False)
    assert p["cwd"] == "/" and p["terminal"] is False and p["user"]["additionalGids"] == []


def test_privileged_exec_gets_all_host_capabilities_inheritable_too():
    p = build_process(BASE, ["true"], [], "/", ResolvedUser(0, 0), tty=False, privileged=True)
    caps = capabilities({"Privileged": True}, detect_host())
    assert set(p["capabilities"]) == {"bounding", "effective", "inheritable", "permitted"}
    assert all(v == caps for v in p["capabilities"].values())
