"""The OCI spec builder, compared with what dockerd 20.10 writes. No root needed."""

from pathlib import Path

import pytest

from tugboat.errors import InvalidArgument
from tugboat.runtime import ProcessSpec, StartRequest
from tugboat.runtime.spec import (
    ALL_CAPABILITIES,
    DEFAULT_CAPABILITIES,
    DEFAULT_DEVICE_RULES,
    MASKED_PATHS,
    READONLY_PATHS,
    HostInfo,
    build_spec,
    capabilities,
    check_host_config,
)
from tugboat.runtime.users import ResolvedUser

CID = "ab" * 32
HOST = HostInfo(nofile=1048576)


def req(hc=None, **kw) -> StartRequest:
    base = dict(id=CID, rootfs_mounts=[], hostname="abababababab", domainname="",
                process=ProcessSpec(args=["sleep", "30"], env=["FOO=img"], cwd="", user=""),
                host_config=hc or {}, labels={}, etc_files={}, log_path=Path("/x/log.json"),
                state_dir=Path("/x"))
    base.update(kw)
    return StartRequest(**base)


def spec(hc=None, host=HOST, user=None, **kw):
    return build_spec(req(hc, **kw), Path("/rootfs"), user or ResolvedUser(0, 0, [0], "/root"),
                      "tugboat", host)


def test_defaults_match_dockerd():
    s = spec()
    p = s["process"]
    assert p["args"] == ["sleep", "30"]
    assert p["cwd"] == "/"
    assert p["terminal"] is False
    assert p["user"] == {"uid": 0, "gid": 0, "additionalGids": [0]}
    assert p["capabilities"] == {"bounding": DEFAULT_CAPABILITIES, "effective": DEFAULT_CAPABILITIES,
                                 "permitted": DEFAULT_CAPABILITIES}
    assert p["noNewPrivileges"] is False
    assert p["rlimits"] == [{"type": "RLIMIT_NOFILE", "soft": 1048576, "hard": 1048576}]
    assert p["env"] == ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                        "HOSTNAME=abababababab", "FOO=img", "HOME=/root"]
    assert s["root"] == {"path": "/rootfs", "readonly": False}
    assert s["hostname"] == "abababababab"
    assert "domainname" not in s
    lx = s["linux"]
    assert [n["type"] for n in lx["namespaces"]] == ["mount", "network", "uts", "pid", "ipc"]
    assert all("path" not in n for n in lx["namespaces"])
    assert lx["maskedPaths"] == MASKED_PATHS and lx["readonlyPaths"] == READONLY_PATHS
    assert lx["resources"] == {"devices": DEFAULT_DEVICE_RULES}
    assert lx["devices"] == []
    assert lx["cgroupsPath"] == f"/tugboat/{CID}"
    assert lx["sysctl"] == {"net.ipv4.ip_unprivileged_port_start": "0",
                            "net.ipv4.ping_group_range": "0 2147483647"}
    mounts = {m["destination"]: m for m in s["mounts"]}
    assert list(mounts) == ["/proc", "/dev", "/dev/pts", "/sys", "/sys/fs/cgroup", "/dev/mqueue", "/dev/shm"]
    assert mounts["/dev/pts"]["options"] == ["nosuid", "noexec", "newinstance", "ptmxmode=0666",
                                             "mode=0620", "gid=5"]
    assert mounts["/dev/shm"]["options"][-1] == "size=67108864"
    assert "ro" in mounts["/sys"]["options"] and "ro" in mounts["/sys/fs/cgroup"]["options"]


def test_env_defaults_do_not_override_engine_env():
    s = spec(process=ProcessSpec(args=["x"], env=["PATH=/bin", "HOSTNAME=h", "HOME=/h"], cwd="/w",
                                 user="", tty=True))
    assert s["process"]["env"] == ["TERM=xterm", "PATH=/bin", "HOSTNAME=h", "HOME=/h"]
    assert s["process"]["terminal"] is True and s["process"]["cwd"] == "/w"


def test_etc_files_and_hostname_domainname():
    files = {"/etc/hosts": Path("/d/hosts"), "/etc/resolv.conf": Path("/d/resolv.conf"),
             "/etc/hostname": Path("/d/hostname")}
    s = spec(etc_files=files, hostname="web", domainname="example.com")
    binds = [(m["destination"], m["source"], m["options"]) for m in s["mounts"] if m["type"] == "bind"]
    assert binds == [("/etc/resolv.conf", "/d/resolv.conf", ["rbind", "rprivate"]),
                     ("/etc/hostname", "/d/hostname", ["rbind", "rprivate"]),
                     ("/etc/hosts", "/d/hosts", ["rbind", "rprivate"])]
    assert s["hostname"] == "web" and "domainname" not in s
    assert s["linux"]["sysctl"]["kernel.domainname"] == "example.com"


def test_netns_path_and_host_modes():
    s = spec(netns_path="/run/netns/x")
    assert {"type": "network", "path": "/run/netns/x"} in s["linux"]["namespaces"]
    s = spec({"PidMode": "host", "IpcMode": "host", "UTSMode": "host"}, netns_path="host")
    assert [n["type"] for n in s["linux"]["namespaces"]] == ["mount"]
    assert s["linux"]["sysctl"] == {}


@pytest.mark.parametrize("hc,expected", [
    ({"CapAdd": ["NET_ADMIN"]}, DEFAULT_CAPABILITIES + ["CAP_NET_ADMIN"]),
    ({"CapAdd": ["cap_net_admin", "CHOWN"]}, DEFAULT_CAPABILITIES + ["CAP_NET_ADMIN"]),
    ({"CapDrop": ["chown", "CAP_KILL"]},
     [c for c in DEFAULT_CAPABILITIES if c not in ("CAP_CHOWN", "CAP_KILL")]),
    ({"CapDrop": ["ALL"], "CapAdd": ["NET_BIND_SERVICE"]}, ["CAP_NET_BIND_SERVICE"]),
    ({"CapDrop": ["all"]}, []),
    ({"CapAdd": ["ALL"], "CapDrop": ["SYS_ADMIN"]}, [c for c in ALL_CAPABILITIES if c != "CAP_SYS_ADMIN"]),
])
def test_capabilities(hc, expected):
    assert capabilities(hc, HOST) == expected


def test_unknown_capability():
    with pytest.raises(InvalidArgument) as e:
        capabilities({"CapAdd": ["foo"]}, HOST)
    assert e.value.message == 'invalid CapAdd: unknown capability: "CAP_FOO"'
    with pytest.raises(InvalidArgument, match='invalid CapDrop: unknown capability: "CAP_BAR"'):
        check_host_config({"CapDrop": ["CAP_BAR"]}, HOST)
    assert check_host_config({"BlkioWeight": 10}, HostInfo(blkio_weight=False)) == [
        "Your kernel does not support Block I/O weight or the cgroup is not mounted. Weight discarded."]


def test_all_capabilities_limited_to_host_bounding_set():
    host = HostInfo(bounding_caps=frozenset(ALL_CAPABILITIES) - {"CAP_SYS_RESOURCE"})
    assert "CAP_SYS_RESOURCE" not in capabilities({"Privileged": True}, host)
    assert "CAP_SYS_RESOURCE" not in capabilities({"CapAdd": ["ALL"]}, host)


def test_privileged():
    s = spec({"Privileged": True})
    lx = s["linux"]
    assert "maskedPaths" not in lx and "readonlyPaths" not in lx
    assert lx["resources"]["devices"] == [{"allow": True, "access": "rwm"}]
    assert any(d["path"] == "/dev/null" for d in lx["devices"])
    assert s["process"]["capabilities"]["bounding"] == ALL_CAPABILITIES
    mounts = {m["destination"]: m for m in s["mounts"]}
    assert "ro" not in mounts["/sys"]["options"] and "ro" not in mounts["/sys/fs/cgroup"]["options"]


def test_readonly_rootfs_shm_size_cgroup_parent():
    s = spec({"ReadonlyRootfs": True, "ShmSize": 10 * 1024 * 1024, "CgroupParent": "/custom/"})
    assert s["root"]["readonly"] is True
    assert "size=10485760" in [m for m in s["mounts"] if m["destination"] == "/dev/shm"][0]["options"]
    assert s["linux"]["cgroupsPath"] == f"/custom/{CID}"


def test_resources():
    hc = {"Memory": 64 << 20, "MemorySwap": 128 << 20, "CpuShares": 512, "NanoCpus": 1_500_000_000,
          "PidsLimit": 50, "CpusetCpus": "0", "CpusetMems": "0", "BlkioWeight": 300}
    res = spec(hc)["linux"]["resources"]
    assert res["memory"] == {"limit": 64 << 20, "swap": 128 << 20}
    assert res["cpu"] == {"shares": 512, "period": 100000, "quota": 150000, "cpus": "0", "mems": "0"}
    assert res["pids"] == {"limit": 50}
    assert res["blockIO"] == {"weight": 300}
    res = spec({"CpuQuota": 50000, "CpuPeriod": 100000, "PidsLimit": 0})["linux"]["resources"]
    assert res["cpu"] == {"period": 100000, "quota": 50000}
    assert "pids" not in res


def test_resources_the_kernel_lacks_are_dropped_with_a_warning():
    warnings: list[str] = []
    host = HostInfo(swap_limit=False, blkio_weight=False)
    s = build_spec(req({"Memory": 1 << 26, "MemorySwap": 1 << 27, "BlkioWeight": 300}), Path("/r"),
                   ResolvedUser(0, 0, [0]), "p", host, warnings)
    assert s["linux"]["resources"]["memory"] == {"limit": 1 << 26}
    assert "blockIO" not in s["linux"]["resources"]
    assert len(warnings) == 2


def test_ulimits_and_security_opts():
    s = spec({"Ulimits": [{"Name": "nproc", "Soft": 10, "Hard": 20}], "SecurityOpt": ["no-new-privileges"],
              "OomScoreAdj": 500, "Sysctls": {"net.core.somaxconn": "1024"}})
    assert {"type": "RLIMIT_NPROC", "soft": 10, "hard": 20} in s["process"]["rlimits"]
    assert s["process"]["noNewPrivileges"] is True
    assert s["process"]["oomScoreAdj"] == 500
    assert s["linux"]["sysctl"]["net.core.somaxconn"] == "1024"


def test_tmpfs_mounts():
    s = spec({"Tmpfs": {"/run": "size=1m"}})
    assert {"destination": "/run", "type": "tmpfs", "source": "tmpfs",
            "options": ["noexec", "nosuid", "nodev", "size=1m"]} in s["mounts"]


def test_user_mounts_replace_defaults_and_are_ordered_parents_first():
    extra = [{"destination": "/data/sub", "type": "bind", "source": "/h/sub", "options": ["rbind"]},
             {"destination": "/data", "type": "bind", "source": "/h/data", "options": ["rbind"]},
             {"destination": "/etc/hosts", "type": "bind", "source": "/h/hosts", "options": ["rbind"]}]
    s = spec({"Tmpfs": {"/dev/shm": "size=1m"}}, extra_mounts=extra,
             etc_files={"/etc/hosts": Path("/d/hosts"), "/etc/hostname": Path("/d/hostname")})
    dsts = [(m["destination"], m["source"]) for m in s["mounts"]]
    assert ("/dev/shm", "shm") not in dsts and ("/dev/shm", "tmpfs") in dsts
    assert ("/etc/hosts", "/d/hosts") not in dsts and ("/etc/hosts", "/h/hosts") in dsts
    assert ("/etc/hostname", "/d/hostname") in dsts
    assert dsts.index(("/data", "/h/data")) < dsts.index(("/data/sub", "/h/sub"))


def test_init_runs_tini_as_pid_1(monkeypatch):
    """HostConfig.Init as moby's WithCommonOptions: args prefixed, tini bind-mounted read-only."""
    import tugboat.runtime.spec as spec_mod

    monkeypatch.setattr(spec_mod, "init_binary", lambda: "/usr/bin/tini-static")
    s = spec({"Init": True})
    assert s["process"]["args"][:2] == ["/sbin/docker-init", "--"]
    assert s["mounts"][-1] == {"destination": "/sbin/docker-init", "type": "bind",
                               "source": "/usr/bin/tini-static", "options": ["bind", "ro"]}
    assert spec({"Init": False})["process"]["args"][0] != "/sbin/docker-init"


# --- security: seccomp, security options, cpuset checks ------------------------------------------

def test_seccomp_follows_capabilities_and_privileged(monkeypatch):
    from tugboat.runtime import seccomp

    profile = {"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [
        {"names": ["mount"], "action": "SCMP_ACT_ALLOW", "includes": {"caps": ["CAP_SYS_ADMIN"]}},
        {"names": ["read"], "action": "SCMP_ACT_ALLOW"}]}
    monkeypatch.setattr(seccomp, "default_profile", lambda: profile)
    plain = spec()["linux"]["seccomp"]
    assert plain["defaultAction"] == "SCMP_ACT_ERRNO"
    assert [c["names"] for c in plain["syscalls"]] == [["read"]]
    admin = spec({"CapAdd": ["SYS_ADMIN"]})["linux"]["seccomp"]
    assert [c["names"] for c in admin["syscalls"]] == [["mount"], ["read"]]
    assert "seccomp" not in spec({"Privileged": True})["linux"]
    assert "seccomp" not in spec({"SecurityOpt": ["seccomp=unconfined"]})["linux"]
    custom = spec({"SecurityOpt": ['seccomp={"defaultAction":"SCMP_ACT_ALLOW"}']})["linux"]["seccomp"]
    assert custom == {"defaultAction": "SCMP_ACT_ALLOW"}
    monkeypatch.setattr(seccomp, "default_profile", lambda: None)
    assert "seccomp" not in spec()["linux"]


def test_no_apparmor_profile_without_apparmor(monkeypatch):
    from tugboat.runtime import security_opts

    monkeypatch.setattr(security_opts, "apparmor_enabled", lambda: False)
    assert "apparmorProfile" not in spec({"SecurityOpt": ["apparmor=foo"]})["process"]
    monkeypatch.setattr(security_opts, "apparmor_enabled", lambda: True)
    assert spec({"SecurityOpt": ["apparmor=foo"]})["process"]["apparmorProfile"] == "foo"


def test_check_host_config_security_opt():
    with pytest.raises(InvalidArgument, match='invalid --security-opt 2: "foo=bar"'):
        check_host_config({"SecurityOpt": ["foo=bar"]}, HOST)


def test_check_host_config_cpuset():
    host = HostInfo(cpus="0-1", mems="0")
    assert check_host_config({"CpusetCpus": "0,1", "CpusetMems": "0"}, host) == []
    with pytest.raises(InvalidArgument) as e:
        check_host_config({"CpusetCpus": "0-99"}, host)
    assert e.value.message == "Requested CPUs are not available - requested 0-99, available: 0-1"
    with pytest.raises(InvalidArgument) as e:
        check_host_config({"CpusetMems": "3"}, host)
    assert e.value.message == "Requested memory nodes are not available - requested 3, available: 0"
    with pytest.raises(InvalidArgument) as e:
        check_host_config({"CpusetCpus": "abc"}, host)
    assert e.value.message == "Invalid value abc for cpuset cpus: invalid format: abc"
    # a host whose cpuset root we could not read: only the format is checked
    assert check_host_config({"CpusetCpus": "0-99"}, HostInfo()) == []


def test_kernel_memory_deprecated_but_applied():
    warnings: list[str] = []
    s = build_spec(req({"KernelMemory": 50 << 20}), Path("/rootfs"), ResolvedUser(0, 0, [0], "/root"),
                   "tugboat", HOST, warnings)
    assert s["linux"]["resources"]["memory"] == {"kernel": 50 << 20}
    assert warnings == ["Specifying a kernel memory limit is deprecated and will be removed in a future release."]
    warnings = check_host_config({"KernelMemory": 50 << 20}, HostInfo(kernel_memory=False))
    assert warnings[1].startswith("Your kernel does not support kernel memory limit capabilities")


@pytest.mark.parametrize("hc,msg", [
    ({"KernelMemory": 1 << 20}, "Minimum kernel memory limit allowed is 4MB"),
    ({"MemorySwappiness": 101}, "Invalid value: 101, valid memory swappiness range is 0-100"),
    ({"OomScoreAdj": 1001}, "Invalid value 1001, range for oom score adj is [-1000, 1000]"),
])
def test_check_host_config_ranges(hc, msg):
    with pytest.raises(InvalidArgument) as e:
        check_host_config(hc, HOST)
    assert e.value.message == msg


def test_masked_and_readonly_paths_from_host_config():
    lx = spec({"MaskedPaths": ["/proc/kcore"], "ReadonlyPaths": []})["linux"]
    assert lx["maskedPaths"] == ["/proc/kcore"] and lx["readonlyPaths"] == []
    lx = spec({"MaskedPaths": None})["linux"]
    assert lx["maskedPaths"] == MASKED_PATHS and lx["readonlyPaths"] == READONLY_PATHS
