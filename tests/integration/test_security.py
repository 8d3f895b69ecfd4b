"""Default isolation of a container and the flags that loosen or tighten it (as dockerd 20.10).

A default container runs with Docker's 14 capabilities, the default seccomp profile, masked and
read-only /proc paths and only the default device nodes; --privileged, --cap-add/--cap-drop,
--security-opt (seccomp, no-new-privileges) and --sysctl change that. Everything is checked from
inside the container (busybox), through tug and the docker CLI, and docker-py where natural.
"""

from __future__ import annotations

import json
import os

import pytest

from .helpers import ok

DEFAULT_DEV = {"fd", "full", "mqueue", "null", "ptmx", "pts", "random", "shm", "stderr", "stdin",
               "stdout", "tty", "urandom", "zero"}


def sh(cli, script: str, *flags: str):
    """Run ``sh -c script`` in a throw-away busybox container without networking."""
    return cli("run", "--rm", "--network", "none", *flags, "busybox", "sh", "-c", script, timeout=60)


def status_field(cli, name: str, *flags: str) -> str:
    p = ok(sh(cli, f"grep '^{name}:' /proc/self/status", *flags))
    return p.stdout.split(":", 1)[1].strip()


def host_bounding_caps() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("CapBnd:"):
                return int(line.split()[1], 16)
    raise AssertionError("no CapBnd in /proc/self/status")


# --- the default container ---------------------------------------------------------------------


def test_default_cannot_mount(cli):
    p = sh(cli, "mkdir /tmp/m && mount -t tmpfs none /tmp/m")
    assert p.returncode != 0
    assert "permission denied" in p.stderr.lower()


def test_default_cannot_load_kernel_modules(cli):
    # a non-module file: with CAP_SYS_MODULE the kernel would say "Invalid module format"
    p = sh(cli, "echo x > /tmp/m.ko && insmod /tmp/m.ko")
    assert p.returncode != 0
    assert "Operation not permitted" in p.stderr


def test_default_cannot_create_namespaces(cli):
    # a user namespace needs no capability: the seccomp profile is what stops it, as in Docker
    p = sh(cli, "unshare -U -r true; unshare -n true; unshare -m true")
    assert p.stderr.count("Operation not permitted") == 3
    assert sh(cli, "unshare -U -r true", "--security-opt", "seccomp=unconfined").returncode == 0


def test_default_cannot_set_the_time(cli):
    p = sh(cli, "date -s 2001-01-01")   # busybox prints the date it could not set and exits 0
    assert "can't set date: Operation not permitted" in p.stderr


def test_default_proc_sys_is_read_only(cli):
    p = sh(cli, "echo 12345 > /proc/sys/kernel/shmmax")
    assert p.returncode != 0
    assert "Read-only file system" in p.stderr


def test_default_sees_only_its_own_processes(cli):
    p = ok(sh(cli, "ps -o pid,comm"))
    rows = [line.split() for line in p.stdout.strip().splitlines()[1:]]
    assert rows and rows[0][0] == "1"
    assert {r[1] for r in rows} <= {"sh", "ps"}


def test_default_devices_only(cli):
    p = ok(sh(cli, "ls /dev"))
    assert set(p.stdout.split()) == DEFAULT_DEV
    # CAP_MKNOD makes the node, the device cgroup keeps the disk behind it closed
    p = sh(cli, "mknod /tmp/sda b 8 0 && head -c 1 /tmp/sda")
    assert p.returncode != 0
    assert "Operation not permitted" in p.stderr


def test_default_capabilities_and_seccomp(cli):
    assert status_field(cli, "Seccomp") == "2"
    # Docker's 14 default capabilities: chown dac_override fowner fsetid kill setgid setuid setpcap
    # net_bind_service net_raw sys_chroot mknod audit_write setfcap
    assert int(status_field(cli, "CapEff"), 16) == 0xa80425fb
    assert status_field(cli, "NoNewPrivs") == "0"


def test_seccomp_unconfined(cli):
    assert status_field(cli, "Seccomp", "--security-opt", "seccomp=unconfined") == "0"


def test_seccomp_profile_file_is_sent_as_json(cli, new_name, tmp_path):
    profile = {"defaultAction": "SCMP_ACT_ALLOW",
               "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO"}]}
    path = tmp_path / "no-mkdir.json"
    path.write_text(json.dumps(profile, indent=2))
    name = new_name("seccomp")
    p = cli("run", "--name", name, "--network", "none", "--security-opt", f"seccomp={path}", "busybox",
            "sh", "-c", "grep Seccomp: /proc/self/status; mkdir /tmp/x", timeout=60)
    assert p.returncode == 1
    assert "Seccomp:\t2" in p.stdout
    assert "Operation not permitted" in p.stderr
    opts = json.loads(ok(cli("inspect", "-f", "{{json .HostConfig.SecurityOpt}}", name)).stdout)
    assert len(opts) == 1 and opts[0].startswith("seccomp={")
    assert json.loads(opts[0][len("seccomp="):]) == profile


def test_seccomp_profile_file_errors(cli, tmp_path):
    p = cli("run", "--rm", "--security-opt", f"seccomp={tmp_path}/missing.json", "busybox", "true")
    assert p.returncode == 125
    assert f"opening seccomp profile ({tmp_path}/missing.json) failed: open {tmp_path}/missing.json: " \
           "no such file or directory" in p.stderr
    bad = tmp_path / "bad.json"
    bad.write_text("{bad")
    p = cli("run", "--rm", "--security-opt", f"seccomp={bad}", "busybox", "true")
    assert p.returncode == 125
    assert f"compacting json for seccomp profile ({bad}) failed" in p.stderr


def test_bad_seccomp_json_through_the_api_fails_at_start(dclient, track):
    c = dclient.containers.create("busybox", ["true"], security_opt=["seccomp={bad"], network_mode="none")
    track.container(c.id)
    with pytest.raises(Exception) as e:
        c.start()
    assert "Decoding seccomp profile failed" in str(e.value)


def test_invalid_security_opt(cli):
    for opt, err in (("foo=bar", 'invalid --security-opt 2: "foo=bar"'),
                     ("no-new-privileges=maybe", 'invalid --security-opt 2: "no-new-privileges=maybe"')):
        p = cli("run", "--rm", "--security-opt", opt, "busybox", "true")
        assert p.returncode == 125, opt
        assert f"Error response from daemon: {err}" in p.stderr


def test_apparmor_option_ignored_without_apparmor(cli):
    # dockerd ignores apparmor= where the host has no AppArmor (this machine's kernel has none):
    # the container runs, even with a profile that is loaded nowhere
    assert not os.path.exists("/sys/module/apparmor/parameters/enabled")
    ok(sh(cli, "true", "--security-opt", "apparmor=no-such-profile"))


def test_no_new_privileges(cli):
    assert status_field(cli, "NoNewPrivs", "--security-opt", "no-new-privileges") == "1"
    assert status_field(cli, "NoNewPrivs", "--security-opt", "no-new-privileges=true") == "1"
    assert status_field(cli, "NoNewPrivs", "--security-opt", "no-new-privileges=false") == "0"


def test_info_security_options(dclient):
    assert "name=seccomp,profile=default" in dclient.info()["SecurityOptions"]


# --- privileged and capabilities ---------------------------------------------------------------


def test_privileged_container(cli):
    p = ok(sh(cli, "mkdir /tmp/m && mount -t tmpfs none /tmp/m && grep ' /tmp/m ' /proc/mounts; "
                   "echo 12345 > /proc/sys/kernel/shmmax && cat /proc/sys/kernel/shmmax; "
                   "ls /dev; grep -E '^(Seccomp|CapEff):' /proc/self/status", "--privileged"))
    out = p.stdout
    assert "none /tmp/m tmpfs" in out
    assert "12345" in out.split()
    devs = set(out.split())
    assert "kmsg" in devs and len(devs - DEFAULT_DEV) > 3
    assert "Seccomp:\t0" in out
    cap_eff = next(line for line in out.splitlines() if line.startswith("CapEff:")).split()[1]
    assert int(cap_eff, 16) == host_bounding_caps()


def test_cap_drop_all(cli):
    p = sh(cli, "touch /tmp/f && chown 1 /tmp/f", "--cap-drop", "ALL")
    assert p.returncode != 0
    assert "Operation not permitted" in p.stderr
    assert int(status_field(cli, "CapEff", "--cap-drop", "ALL"), 16) == 0


def test_cap_drop_all_add_one(cli):
    assert int(status_field(cli, "CapEff", "--cap-drop", "ALL", "--cap-add", "CHOWN"), 16) == 1
    ok(sh(cli, "touch /tmp/f && chown 1 /tmp/f", "--cap-drop", "ALL", "--cap-add", "CHOWN"))


def test_cap_add_sys_admin_allows_mount_and_namespaces(cli):
    p = ok(sh(cli, "mkdir /tmp/m && mount -t tmpfs none /tmp/m && grep ' /tmp/m ' /proc/mounts && "
                   "unshare -n -U -r true", "--cap-add", "SYS_ADMIN"))
    assert "none /tmp/m tmpfs" in p.stdout


def test_cap_add_all(cli):
    cap = int(status_field(cli, "CapEff", "--cap-add", "ALL"), 16)
    assert cap == host_bounding_caps()
    assert status_field(cli, "Seccomp", "--cap-add", "ALL") == "2"


def test_cap_add_unknown(cli):
    p = cli("run", "--rm", "--cap-add", "FOO", "busybox", "true")
    assert p.returncode == 125
    assert 'invalid CapAdd: unknown capability: "CAP_FOO"' in p.stderr


# --- sysctls -----------------------------------------------------------------------------------


def test_namespaced_sysctls(cli):
    p = ok(sh(cli, "cat /proc/sys/kernel/shmmax /proc/sys/net/ipv4/ip_forward",
              "--sysctl", "kernel.shmmax=1234567", "--sysctl", "net.ipv4.ip_forward=1"))
    assert p.stdout.split() == ["1234567", "1"]


def test_sysctl_not_allowed_by_the_cli(cli):
    p = cli("run", "--rm", "--sysctl", "kernel.foo=1", "busybox", "true")
    assert p.returncode == 125
    assert 'invalid argument "kernel.foo=1" for "--sysctl" flag: sysctl \'kernel.foo=1\' is not allowed' in p.stderr


def test_sysctl_outside_namespaces_fails_at_start(dclient, track):
    c = dclient.containers.create("busybox", ["true"], sysctls={"vm.swappiness": "1"}, network_mode="none")
    track.container(c.id)
    with pytest.raises(Exception) as e:
        c.start()
    assert 'sysctl "vm.swappiness" is not in a separate kernel namespace' in str(e.value)


def test_net_sysctl_refused_in_host_network(cli):
    p = cli("run", "--rm", "--network", "host", "--sysctl", "net.ipv4.ip_forward=1", "busybox", "true")
    assert p.returncode != 0
    assert 'sysctl "net.ipv4.ip_forward" not allowed in host network namespace' in p.stderr


def test_userns_host_accepted(cli):
    assert ok(sh(cli, "id -u", "--userns", "host")).stdout.strip() == "0"


def test_exec_keeps_the_containers_restrictions(cli, new_name):
    name = new_name("sec")
    ok(cli("run", "-d", "--name", name, "--network", "none", "--security-opt", "no-new-privileges",
           "--cap-drop", "ALL", "busybox", "sleep", "300"))
    out = ok(cli("exec", name, "grep", "-E", "^(Seccomp|NoNewPrivs|CapEff):", "/proc/self/status")).stdout
    fields = dict(line.split(":\t") for line in out.strip().splitlines())
    assert fields == {"Seccomp": "2", "NoNewPrivs": "1", "CapEff": "0000000000000000"}
    ok(cli("rm", "-f", name, timeout=60))


def test_userns_other_modes_refused_by_the_cli(cli):
    p = cli("run", "--rm", "--userns", "private", "busybox", "true")
    assert p.returncode == 125
    assert "--userns: invalid USER mode" in p.stderr


def test_masked_and_read_only_paths(cli, new_name):
    # masked files are /dev/null bind mounts, masked dirs empty read-only tmpfs
    assert os.path.exists("/proc/timer_list") and os.listdir("/sys/firmware")
    p = ok(sh(cli, "stat -c %t,%T /proc/timer_list; ls /sys/firmware | wc -l; "
                   "grep -E ' /proc/(bus|fs|irq|sys) ' /proc/mounts"))
    lines = p.stdout.splitlines()
    assert lines[:2] == ["1,3", "0"]
    ro = {line.split()[1] for line in lines[2:] if "ro" in line.split()[3].split(",")}
    assert ro == {"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys"}
    name = new_name("paths")
    ok(cli("create", "--name", name, "busybox", "true"))
    hc = json.loads(ok(cli("inspect", "-f", "{{json .HostConfig}}", name)).stdout)
    assert "/proc/kcore" in hc["MaskedPaths"] and "/proc/sys" in hc["ReadonlyPaths"]
    priv = new_name("paths")
    ok(cli("create", "--name", priv, "--privileged", "busybox", "true"))
    hc = json.loads(ok(cli("inspect", "-f", "{{json .HostConfig}}", priv)).stdout)
    assert hc["MaskedPaths"] is None and hc["ReadonlyPaths"] is None
