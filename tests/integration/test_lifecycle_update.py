"""docker update: resources applied live through runc (cgroup v1 seen inside), persisted, restart policy."""

from __future__ import annotations

import time

import pytest

from .helpers import ok

LIMIT = "/sys/fs/cgroup/memory/memory.limit_in_bytes"


def test_update_memory_running(cli, new_name):
    name = new_name("upd")
    ok(cli("run", "-d", "--name", name, "busybox", "sleep", "300", timeout=30))
    p = ok(cli("update", "--memory", "64m", "--memory-swap", "128m", name))
    assert p.stdout == f"{name}\n"
    p = ok(cli("inspect", "-f", "{{.HostConfig.Memory}} {{.HostConfig.MemorySwap}}", name))
    assert p.stdout.split() == [str(64 << 20), str(128 << 20)]
    pid = ok(cli("inspect", "-f", "{{.State.Pid}}", name)).stdout.strip()
    with open(f"/proc/{pid}/root{LIMIT}") as f:   # the container's own view of its cgroup
        assert int(f.read()) == 64 << 20
    ok(cli("rm", "-f", name, timeout=60))


def test_update_memory_seen_inside(cli, new_name):
    name = new_name("upd")
    ok(cli("run", "-d", "--name", name, "busybox", "sh", "-c", f"sleep 2; cat {LIMIT}; sleep 300", timeout=30))
    ok(cli("update", "-m", "48m", "--memory-swap", "-1", name))

    time.sleep(3)
    p = ok(cli("logs", name))
    assert int(p.stdout.split()[0]) == 48 << 20
    ok(cli("rm", "-f", name, timeout=60))


def test_update_restart_policy_created_and_stopped(cli, new_name):
    name = new_name("upd")
    ok(cli("create", "--name", name, "busybox", "true"))
    ok(cli("update", "--restart", "always", "--cpu-shares", "512", "--pids-limit", "50", name))
    p = ok(cli("inspect", "-f", "{{.HostConfig.RestartPolicy.Name}} {{.HostConfig.CpuShares}} "
               "{{.HostConfig.PidsLimit}}", name))
    assert p.stdout.split() == ["always", "512", "50"]
    ok(cli("update", "--restart", "no", name))
    ok(cli("start", name))
    ok(cli("wait", name, timeout=30))
    ok(cli("update", "--cpus", "0.5", name))
    assert ok(cli("inspect", "-f", "{{.HostConfig.NanoCpus}}", name)).stdout.strip() == "500000000"


def test_update_errors(cli, new_name):
    name = new_name("upd")
    ok(cli("create", "--name", name, "busybox", "true"))
    p = cli("update", "--memory", "1m", name)
    assert p.returncode == 1
    assert "Minimum memory limit allowed is 6MB" in p.stderr
    p = cli("update", "--memory", "64m", "nosuchcontainer_lc")
    assert p.returncode == 1 and "No such container: nosuchcontainer_lc" in p.stderr
    p = cli("update", "--memory", "64m", name)      # no swap limit yet: dockerd wants both
    assert p.returncode == 1
    assert (f"Error response from daemon: Cannot update container {ok(cli('inspect', '-f', '{{.Id}}', name)).stdout.strip()}: "
            "Memory limit should be smaller than already set memoryswap limit, update the memoryswap at the same time"
            ) in p.stderr
    p = cli("update", "--memory", "64m", "--memory-swap", "32m", name)
    assert p.returncode == 1 and "Minimum memoryswap limit should be larger than memory limit" in p.stderr
    p = cli("update", "--restart", "bogus", name)
    assert p.returncode == 1 and "invalid restart policy 'bogus'" in p.stderr
    p = cli("update", name)
    assert p.returncode == 1 and "you must provide one or more flags when using this command" in p.stderr
    p = cli("update", "--blkio-weight", "5", name)
    if "Your kernel does not support Block I/O weight" in p.stdout:   # dropped with a warning first
        assert p.returncode == 0 and p.stdout.startswith(f"{name}\n")
    else:
        assert p.returncode == 1 and "Range of blkio weight is from 10 to 1000" in p.stderr
    ok(cli("update", "--cpu-period", "100000", name))
    p = cli("update", "--cpus", "1", name)
    assert p.returncode == 1
    assert "Conflicting options: Nano CPUs cannot be updated as CPU Period has already been set" in p.stderr


def test_update_dockerpy(dclient, new_name):
    name = new_name("upd")
    c = dclient.containers.run("busybox", ["sleep", "300"], name=name, detach=True)
    try:
        r = c.update(mem_limit="32m", memswap_limit="64m")
        assert r == {"Warnings": []} or r.get("Warnings") in (None, [])
        c.reload()
        assert c.attrs["HostConfig"]["Memory"] == 32 << 20
    finally:
        c.remove(force=True)


@pytest.mark.parametrize("flag", ["--memory=64m"])
def test_update_needs_a_container(cli, flag):
    p = cli("update", flag)
    assert p.returncode != 0


def test_update_paused_container(cli, new_name):
    name = new_name("upd")
    ok(cli("run", "-d", "--name", name, "busybox", "sleep", "300", timeout=30))
    ok(cli("pause", name))
    ok(cli("update", "-m", "40m", "--memory-swap", "80m", "--pids-limit", "64", name))
    ok(cli("unpause", name))
    pid = ok(cli("inspect", "-f", "{{.State.Pid}}", name)).stdout.strip()
    with open(f"/proc/{pid}/root{LIMIT}") as f:
        assert int(f.read()) == 40 << 20
    with open(f"/proc/{pid}/root/sys/fs/cgroup/pids/pids.max") as f:
        assert f.read().strip() == "64"
    ok(cli("rm", "-f", name, timeout=60))
