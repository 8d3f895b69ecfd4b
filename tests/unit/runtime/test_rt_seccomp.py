"""Docker-format seccomp profile -> OCI linux.seccomp, as moby's setupSeccomp; and SecurityOpt parsing."""

import json

import pytest

from tugboat.errors import InvalidArgument
from tugboat.runtime import seccomp, security_opts
from tugboat.runtime.spec import DEFAULT_CAPABILITIES

PROFILE = {
    "defaultAction": "SCMP_ACT_ERRNO",
    "defaultErrnoRet": 38,
    "defaultErrno": "ENOSYS",
    "archMap": [
        {"architecture": "SCMP_ARCH_X86_64", "subArchitectures": ["SCMP_ARCH_X86", "SCMP_ARCH_X32"]},
        {"architecture": "SCMP_ARCH_AARCH64", "subArchitectures": ["SCMP_ARCH_ARM"]},
    ],
    "syscalls": [
        {"names": ["read", "write"], "action": "SCMP_ACT_ALLOW", "args": [], "comment": "",
         "includes": {}, "excludes": {}},
        {"names": ["personality"], "action": "SCMP_ACT_ALLOW",
         "args": [{"index": 0, "value": 8, "valueTwo": 0, "op": "SCMP_CMP_EQ"}]},
        {"names": ["arch_prctl"], "action": "SCMP_ACT_ALLOW", "includes": {"arches": ["amd64", "x32"]}},
        {"names": ["sync_file_range2"], "action": "SCMP_ACT_ALLOW", "includes": {"arches": ["ppc64le"]}},
        {"names": ["mount", "umount2"], "action": "SCMP_ACT_ALLOW", "includes": {"caps": ["CAP_SYS_ADMIN"]}},
        {"names": ["mount"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1, "errno": "EPERM",
         "excludes": {"caps": ["CAP_SYS_ADMIN"]}},
        {"names": ["chroot"], "action": "SCMP_ACT_ALLOW", "includes": {"caps": ["CAP_SYS_CHROOT"]}},
        {"names": ["clone3"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38, "excludes": {"caps": ["CAP_SYS_ADMIN"]}},
        {"name": "old_kernel_only", "action": "SCMP_ACT_ALLOW", "excludes": {"minKernel": "4.8"}},
        {"names": ["new_kernel_only"], "action": "SCMP_ACT_ALLOW", "includes": {"minKernel": "4.8"}},
        {"names": ["not_on_amd64"], "action": "SCMP_ACT_ALLOW", "excludes": {"arches": ["amd64"]}},
    ],
}


def names(out):
    return [(c["names"], c["action"]) for c in out["syscalls"]]


def test_default_container_on_amd64():
    out = seccomp.convert(PROFILE, DEFAULT_CAPABILITIES, arch="amd64", kernel=(5, 10, 0))
    assert out["defaultAction"] == "SCMP_ACT_ERRNO"
    assert out["defaultErrnoRet"] == 38
    assert out["architectures"] == ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"]
    assert "archMap" not in out and "defaultErrno" not in out
    assert names(out) == [
        (["read", "write"], "SCMP_ACT_ALLOW"),
        (["personality"], "SCMP_ACT_ALLOW"),
        (["arch_prctl"], "SCMP_ACT_ALLOW"),
        (["mount"], "SCMP_ACT_ERRNO"),
        (["chroot"], "SCMP_ACT_ALLOW"),
        (["clone3"], "SCMP_ACT_ERRNO"),
        (["new_kernel_only"], "SCMP_ACT_ALLOW"),
    ]
    # the OCI shape: empty args and zero valueTwo left out, errnoRet only where given
    assert out["syscalls"][0] == {"names": ["read", "write"], "action": "SCMP_ACT_ALLOW"}
    assert out["syscalls"][1]["args"] == [{"index": 0, "value": 8, "op": "SCMP_CMP_EQ"}]
    assert out["syscalls"][3] == {"names": ["mount"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1}


def test_capabilities_select_groups():
    out = seccomp.convert(PROFILE, DEFAULT_CAPABILITIES + ["CAP_SYS_ADMIN"], arch="amd64", kernel=(5, 10))
    got = names(out)
    assert (["mount", "umount2"], "SCMP_ACT_ALLOW") in got
    assert (["mount"], "SCMP_ACT_ERRNO") not in got
    assert (["clone3"], "SCMP_ACT_ERRNO") not in got
    out = seccomp.convert(PROFILE, [], arch="amd64", kernel=(5, 10))
    assert (["chroot"], "SCMP_ACT_ALLOW") not in names(out)


def test_arch_and_kernel_select_groups():
    out = seccomp.convert(PROFILE, [], arch="arm64", kernel=(4, 4, 0))
    assert out["architectures"] == ["SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"]
    got = [n[0] for n in names(out)]
    assert ["arch_prctl"] not in got
    assert ["not_on_amd64"] in got
    assert ["old_kernel_only"] in got and ["new_kernel_only"] not in got


def test_unknown_arch_leaves_architectures_to_libseccomp():
    out = seccomp.convert(PROFILE, [], arch="sparc64", kernel=(5, 10))
    assert "architectures" not in out


def test_architectures_kept_and_conflicts():
    out = seccomp.convert({"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86_64"]}, [],
                          arch="amd64", kernel=(5, 10))
    assert out == {"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86_64"]}
    with pytest.raises(InvalidArgument, match="use either 'architectures' or 'archMap'"):
        seccomp.convert({**PROFILE, "architectures": ["SCMP_ARCH_X86_64"]}, [], arch="amd64")
    with pytest.raises(InvalidArgument, match="use either 'name' or 'names'"):
        seccomp.convert({"defaultAction": "SCMP_ACT_ALLOW",
                         "syscalls": [{"name": "a", "names": ["b"], "action": "SCMP_ACT_ALLOW"}]}, [])


def test_empty_profile_means_no_filter():
    assert seccomp.convert({}, DEFAULT_CAPABILITIES) is None


def test_for_container_rules():
    assert seccomp.for_container(None, True, DEFAULT_CAPABILITIES) is None
    assert seccomp.for_container("unconfined", False, DEFAULT_CAPABILITIES) is None
    custom = seccomp.for_container(json.dumps({"defaultAction": "SCMP_ACT_ALLOW"}), False, [])
    assert custom == {"defaultAction": "SCMP_ACT_ALLOW"}
    with pytest.raises(InvalidArgument, match="^Decoding seccomp profile failed: "):
        seccomp.for_container("{bad", False, [])
    with pytest.raises(InvalidArgument, match="^Decoding seccomp profile failed: "):
        seccomp.for_container("[1]", False, [])


def test_missing_default_profile_means_no_filter(monkeypatch, tmp_path, caplog):
    monkeypatch.setattr(seccomp, "DEFAULT_PROFILE_PATH", tmp_path / "absent.json")
    seccomp.default_profile.cache_clear()
    try:
        assert seccomp.for_container(None, False, DEFAULT_CAPABILITIES) is None
        assert seccomp.for_container(None, False, DEFAULT_CAPABILITIES) is None
        assert seccomp.security_options() == []
        assert len([r for r in caplog.records if "seccomp" in r.getMessage()]) == 1
    finally:
        seccomp.default_profile.cache_clear()


def test_containers_common_profile(monkeypatch, tmp_path):
    monkeypatch.setattr(seccomp, "DEFAULT_PROFILE_PATH", tmp_path / "p.json")
    (tmp_path / "p.json").write_text(json.dumps(PROFILE))
    seccomp.default_profile.cache_clear()
    try:
        out = seccomp.for_container(None, False, DEFAULT_CAPABILITIES)
        assert out == seccomp.convert(seccomp.docker_gates(PROFILE), DEFAULT_CAPABILITIES)
        assert seccomp.security_options() == ["name=seccomp,profile=default"]
    finally:
        seccomp.default_profile.cache_clear()


def test_version_tuple():
    assert seccomp._version_tuple("6.1.0-13-amd64") == (6, 1, 0)
    assert seccomp._version_tuple("4.8") == (4, 8)
    assert seccomp._version_tuple("5.15.0+") == (5, 15, 0)


# --- SecurityOpt --------------------------------------------------------------------------------


def test_parse_security_opts():
    o = security_opts.parse(["no-new-privileges", "seccomp=unconfined", "apparmor=p", "label=disable"])
    assert o == security_opts.SecurityOpts(True, "unconfined", "p", ("disable",))
    assert security_opts.parse(["no-new-privileges:false"]).no_new_privileges is False
    assert security_opts.parse(["no-new-privileges=true"]).no_new_privileges is True
    assert security_opts.parse(["seccomp:unconfined"]).seccomp == "unconfined"
    assert security_opts.parse(['seccomp={"a":1}']).seccomp == '{"a":1}'
    assert security_opts.parse(None) == security_opts.SecurityOpts()


@pytest.mark.parametrize("opt,msg", [
    ("nonsense", 'invalid --security-opt 1: "nonsense"'),
    ("foo=bar", 'invalid --security-opt 2: "foo=bar"'),
    ("no-new-privileges=maybe", 'invalid --security-opt 2: "no-new-privileges=maybe"'),
    ("systempaths=unconfined", 'invalid --security-opt 2: "systempaths=unconfined"'),
])
def test_parse_security_opts_errors(opt, msg):
    with pytest.raises(InvalidArgument) as e:
        security_opts.parse([opt])
    assert e.value.message == msg


def test_apparmor_only_where_enabled(monkeypatch, tmp_path):
    opts = security_opts.parse(["apparmor=my-profile"])
    monkeypatch.setattr(security_opts, "APPARMOR_ENABLED", tmp_path / "absent")
    security_opts.apparmor_enabled.cache_clear()
    try:
        assert security_opts.apparmor_profile(opts, False) is None
        flag = tmp_path / "enabled"
        flag.write_text("Y\n")
        monkeypatch.setattr(security_opts, "APPARMOR_ENABLED", flag)
        monkeypatch.setattr(security_opts.shutil, "which", lambda name: "/sbin/apparmor_parser")
        security_opts.apparmor_enabled.cache_clear()
        assert security_opts.apparmor_profile(opts, False) == "my-profile"
        assert security_opts.apparmor_profile(security_opts.SecurityOpts(), True) == "unconfined"
        assert security_opts.apparmor_profile(security_opts.SecurityOpts(), False) is None
    finally:
        security_opts.apparmor_enabled.cache_clear()


def test_docker_gates_on_a_permissive_profile():
    podman_like = {"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [
        {"names": ["read", "clone", "clone3", "unshare", "mount", "keyctl"], "action": "SCMP_ACT_ALLOW"},
        {"names": ["setns"], "action": "SCMP_ACT_ALLOW", "includes": {"caps": ["CAP_SYS_ADMIN"]}}]}
    gated = seccomp.docker_gates(podman_like)
    assert podman_like["syscalls"][0]["names"][1] == "clone"      # the input is left alone
    plain = seccomp.convert(gated, DEFAULT_CAPABILITIES, arch="amd64", kernel=(6, 1))
    allowed = {n for c in plain["syscalls"] if c["action"] == "SCMP_ACT_ALLOW" and "args" not in c
               for n in c["names"]}
    assert allowed == {"read"}
    assert {"names": ["clone"], "action": "SCMP_ACT_ALLOW",
            "args": [{"index": 0, "value": 0x7E020000, "op": "SCMP_CMP_MASKED_EQ"}]} in plain["syscalls"]
    assert {"names": ["clone3"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38} in plain["syscalls"]
    eperm = {n for c in plain["syscalls"] if c.get("errnoRet") == 1 for n in c["names"]}
    assert {"unshare", "mount", "setns", "keyctl"} <= eperm and "clone" not in eperm
    admin = seccomp.convert(gated, DEFAULT_CAPABILITIES + ["CAP_SYS_ADMIN"], arch="amd64", kernel=(6, 1))
    allowed = {n for c in admin["syscalls"] if c["action"] == "SCMP_ACT_ALLOW" and "args" not in c
               for n in c["names"]}
    assert {"read", "clone", "clone3", "unshare", "mount", "setns"} <= allowed and "keyctl" not in allowed
    assert all(c["names"] != ["clone3"] for c in admin["syscalls"] if c["action"] == "SCMP_ACT_ERRNO")
    s390 = seccomp.convert(gated, DEFAULT_CAPABILITIES, arch="s390x", kernel=(6, 1))
    assert [c["args"][0]["index"] for c in s390["syscalls"] if c["names"] == ["clone"]] == [1]
