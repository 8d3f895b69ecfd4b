"""run/create resource, device, sysctl and security-opt flags -> the create body, as docker's CLI."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tugboat.cli.commands.run import RunError, _spec, build_config
from tugboat.cli.commands.run_limits import check_flags
from tugboat.cli.flags import UsageError, parse


def host(argv: list[str]) -> dict[str, Any]:
    spec = _spec("run", run=True)
    opts, args = parse(spec, argv + ["busybox"])
    check_flags(opts, spec)
    return build_config(opts, args, False)[0]["HostConfig"]


def test_resource_flags() -> None:
    hc = host(["--memory-reservation", "16m", "--cpu-period", "50000", "--cpu-quota", "25000",
               "--cpuset-cpus", "0-1", "--cpuset-mems", "0", "--blkio-weight", "300",
               "--memory-swappiness", "10", "--oom-score-adj", "-500"])
    assert (hc["MemoryReservation"], hc["CpuPeriod"], hc["CpuQuota"]) == (16 << 20, 50000, 25000)
    assert (hc["CpusetCpus"], hc["CpusetMems"], hc["BlkioWeight"]) == ("0-1", "0", 300)
    assert (hc["MemorySwappiness"], hc["OomScoreAdj"]) == (10, -500)
    assert "MemorySwappiness" not in host([])


def test_swappiness_range() -> None:
    with pytest.raises(RunError, match="invalid value: 101. Valid memory swappiness range is 0-100"):
        host(["--memory-swappiness", "101"])


@pytest.mark.parametrize("flag,mapping", [
    ("/dev/null", {"PathOnHost": "/dev/null", "PathInContainer": "/dev/null", "CgroupPermissions": "rwm"}),
    ("/dev/null:/dev/mynull", {"PathOnHost": "/dev/null", "PathInContainer": "/dev/mynull",
                               "CgroupPermissions": "rwm"}),
    ("/dev/null:r", {"PathOnHost": "/dev/null", "PathInContainer": "/dev/null", "CgroupPermissions": "r"}),
    ("/dev/null:/dev/n:rw", {"PathOnHost": "/dev/null", "PathInContainer": "/dev/n", "CgroupPermissions": "rw"}),
])
def test_devices(flag: str, mapping: dict[str, str]) -> None:
    assert host(["--device", flag])["Devices"] == [mapping]


def test_bad_device() -> None:
    with pytest.raises(RunError, match="invalid device specification: /a:/b:rw:x"):
        host(["--device", "/a:/b:rw:x"])
    with pytest.raises(RunError, match="bad mode specified: rwx"):
        host(["--device", "/a:/b:rwx"])


@pytest.mark.parametrize("sysctl", ["kernel.shmmax=1", "kernel.sem=1 2 3 4", "net.ipv4.ip_forward=1",
                                    "fs.mqueue.msg_max=20", "kernel.shm_rmid_forced=1"])
def test_namespaced_sysctls_pass(sysctl: str) -> None:
    key, _, value = sysctl.partition("=")
    assert host(["--sysctl", sysctl])["Sysctls"] == {key: value}


@pytest.mark.parametrize("sysctl", ["kernel.foo=1", "vm.swappiness=1", "kernel.hostname=x", "net.ipv4.ip_forward"])
def test_other_sysctls_refused(sysctl: str) -> None:
    with pytest.raises(UsageError) as e:
        host(["--sysctl", sysctl])
    assert e.value.message == f'invalid argument "{sysctl}" for "--sysctl" flag: sysctl \'{sysctl}\' is not allowed'


def test_seccomp_profile_file_is_inlined(tmp_path) -> None:
    f = tmp_path / "p.json"
    f.write_text('{\n  "defaultAction": "SCMP_ACT_ALLOW",\n  "syscalls": []\n}\n')
    opts = host(["--security-opt", f"seccomp={f}", "--security-opt", "no-new-privileges",
                 "--security-opt", "seccomp=unconfined"])["SecurityOpt"]
    assert opts == ['seccomp={"defaultAction":"SCMP_ACT_ALLOW","syscalls":[]}', "no-new-privileges",
                    "seccomp=unconfined"]
    assert json.loads(opts[0][len("seccomp="):]) == {"defaultAction": "SCMP_ACT_ALLOW", "syscalls": []}


def test_security_opt_errors(tmp_path) -> None:
    with pytest.raises(RunError, match='Invalid --security-opt: "nonsense"'):
        host(["--security-opt", "nonsense"])
    with pytest.raises(RunError, match=r"opening seccomp profile \(/nope\) failed: open /nope: "
                                       "no such file or directory"):
        host(["--security-opt", "seccomp=/nope"])
    bad = tmp_path / "bad.json"
    bad.write_text("{bad")
    with pytest.raises(RunError, match=r"compacting json for seccomp profile \(.*bad.json\) failed"):
        host(["--security-opt", f"seccomp={bad}"])


def test_userns_modes() -> None:
    assert host(["--userns", "host"])["UsernsMode"] == "host"
    with pytest.raises(RunError, match="--userns: invalid USER mode"):
        host(["--userns", "private"])
