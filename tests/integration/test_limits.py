"""Resource limits: each flag lands in the container's cgroup (cgroup v1, read from inside the
container, where runc mounts the container's own cgroup dirs) and is enforced; inspect, stats and
update agree; invalid values are refused with dockerd's words."""

from __future__ import annotations

import json
import os

import pytest

from .helpers import ok, wait_until

CG = "/sys/fs/cgroup"
MB = 1024 * 1024


def sh(cli, script: str, *flags: str, timeout: float = 60):
    return cli("run", "--rm", "--network", "none", *flags, "busybox", "sh", "-c", script, timeout=timeout)


def cat(cli, files: list[str], *flags: str) -> list[str]:
    p = ok(sh(cli, "cat " + " ".join(f"{CG}/{f}" for f in files), *flags))
    return p.stdout.split()


# --- memory -------------------------------------------------------------------------------------


def test_memory_limits_in_cgroup(cli):
    got = cat(cli, ["memory/memory.limit_in_bytes", "memory/memory.memsw.limit_in_bytes",
                    "memory/memory.soft_limit_in_bytes"],
              "--memory", "32m", "--memory-swap", "64m", "--memory-reservation", "16m")
    assert got == [str(32 * MB), str(64 * MB), str(16 * MB)]


def test_oom_kill(cli, new_name):
    name = new_name("oom")
    p = cli("run", "--name", name, "--network", "none", "-m", "8m", "--memory-swap", "8m", "busybox",
            "sh", "-c", "tail /dev/zero", timeout=120)
    assert p.returncode == 137
    p = ok(cli("inspect", "-f", "{{.State.ExitCode}} {{.State.OOMKilled}}", name))
    assert p.stdout.split() == ["137", "true"]


def test_oom_kill_disable(cli):
    p = ok(sh(cli, f"cat {CG}/memory/memory.oom_control", "-m", "32m", "--oom-kill-disable"))
    assert "oom_kill_disable 1" in p.stdout
    p = ok(sh(cli, f"cat {CG}/memory/memory.oom_control", "-m", "32m"))
    assert "oom_kill_disable 0" in p.stdout


def test_stats_memory_limit(dclient, track):
    c = dclient.containers.run("busybox", ["sleep", "300"], detach=True, mem_limit="48m", network_mode="none")
    track.container(c.id)
    st = c.stats(stream=False)
    assert st["memory_stats"]["limit"] == 48 * MB
    c.remove(force=True)


# --- cpu ----------------------------------------------------------------------------------------


def test_cpus_sets_cfs_quota(cli):
    got = cat(cli, ["cpu/cpu.cfs_period_us", "cpu/cpu.cfs_quota_us", "cpu/cpu.shares"],
              "--cpus", "0.5", "--cpu-shares", "512")
    assert got == ["100000", "50000", "512"]


def test_cpu_period_and_quota(cli):
    assert cat(cli, ["cpu/cpu.cfs_period_us", "cpu/cpu.cfs_quota_us"],
               "--cpu-period", "50000", "--cpu-quota", "25000") == ["50000", "25000"]


def test_cpuset(cli):
    assert cat(cli, ["cpuset/cpuset.cpus", "cpuset/cpuset.mems"],
               "--cpuset-cpus", "0", "--cpuset-mems", "0") == ["0", "0"]
    p = ok(sh(cli, "grep Cpus_allowed_list /proc/self/status", "--cpuset-cpus", "0"))
    assert p.stdout.split()[-1] == "0"


# --- pids, blkio, ulimits, devices, shm -----------------------------------------------------------


def test_pids_limit_stops_a_fork_bomb(cli):
    # an inner shell forks until the kernel refuses (and dies of it); the outer one counts with
    # builtins only (no fork is left), then kills everything (it is PID 1 of the container)
    bomb = 'i=0; while [ $i -lt 40 ]; do sleep 30 & i=$((i+1)); done'
    p = ok(sh(cli, f"read max < {CG}/pids/pids.max; echo $max; sh -c '{bomb}'; "
                   f"read cur < {CG}/pids/pids.current; echo $cur; kill -9 -1; true", "--pids-limit", "10",
              timeout=90))
    limit, current = p.stdout.split()
    assert limit == "10"
    assert 5 < int(current) <= 10
    assert "can't fork: Resource temporarily unavailable" in p.stderr


def test_blkio_weight_warns_without_the_knob(cli):
    if os.path.exists(f"{CG}/blkio/blkio.weight"):
        assert cat(cli, ["blkio/blkio.weight"], "--blkio-weight", "300") == ["300"]
        return
    p = ok(sh(cli, "true", "--blkio-weight", "300"))
    assert "WARNING: Your kernel does not support Block I/O weight or the cgroup is not mounted. " \
           "Weight discarded." in p.stderr


def test_ulimits(cli):
    p = ok(sh(cli, "ulimit -n; ulimit -Hn; ulimit -u", "--ulimit", "nofile=100:200", "--ulimit", "nproc=50"))
    assert p.stdout.split() == ["100", "200", "50"]


def test_device_alias(cli):
    p = ok(sh(cli, "echo hi > /dev/mynull && ls -l /dev/mynull", "--device", "/dev/null:/dev/mynull"))
    assert p.stdout.startswith("crw")
    assert "1,   3" in p.stdout


def test_host_device_reachable_only_when_added(cli):
    assert os.path.exists("/dev/kmsg")
    assert sh(cli, "test -e /dev/kmsg").returncode == 1
    p = ok(sh(cli, "ls -l /dev/kmsg && echo tugboat-device-test > /dev/kmsg && echo written",
              "--device", "/dev/kmsg"))
    assert "written" in p.stdout


def test_shm_size(cli):
    p = ok(sh(cli, "df -k /dev/shm | tail -1", "--shm-size", "16m"))
    assert p.stdout.split()[1] == str(16 * 1024)


# --- inspect, update ----------------------------------------------------------------------------


def test_inspect_host_config_resources(cli, new_name):
    name = new_name("res")
    ok(cli("create", "--name", name, "--network", "none", "-m", "10m", "--memory-swap", "20m",
           "--memory-reservation", "8m", "--cpus", "1.5", "--cpuset-cpus", "0", "--pids-limit", "50",
           "--ulimit", "nofile=100:200", "--device", "/dev/null:/dev/mynull", "--oom-kill-disable",
           "busybox", "true"))
    hc = ok(cli("inspect", "-f",
                "{{.HostConfig.Memory}} {{.HostConfig.MemorySwap}} {{.HostConfig.MemoryReservation}} "
                "{{.HostConfig.NanoCpus}} {{.HostConfig.CpusetCpus}} {{.HostConfig.PidsLimit}} "
                "{{.HostConfig.OomKillDisable}} {{json .HostConfig.Ulimits}} {{json .HostConfig.Devices}}",
                name)).stdout.split()
    assert hc[:7] == [str(10 * MB), str(20 * MB), str(8 * MB), "1500000000", "0", "50", "true"]
    assert json.loads(hc[7]) == [{"Name": "nofile", "Hard": 200, "Soft": 100}]
    assert json.loads(hc[8]) == [{"PathOnHost": "/dev/null", "PathInContainer": "/dev/mynull",
                                  "CgroupPermissions": "rwm"}]


def test_update_cpus_and_pids_of_a_running_container(cli, new_name):
    name = new_name("upd")
    ok(cli("run", "-d", "--name", name, "--network", "none", "--cpus", "1", "--pids-limit", "100",
           "busybox", "sleep", "300"))
    pid = ok(cli("inspect", "-f", "{{.State.Pid}}", name)).stdout.strip()

    def read(f: str) -> str:
        with open(f"/proc/{pid}/root{CG}/{f}") as fh:
            return fh.read().strip()

    assert read("cpu/cpu.cfs_quota_us") == "100000"
    ok(cli("update", "--cpus", "0.5", "--pids-limit", "20", name))
    wait_until(lambda: read("cpu/cpu.cfs_quota_us") == "50000", 10, what="cfs quota update")
    assert read("pids/pids.max") == "20"
    assert ok(cli("inspect", "-f", "{{.HostConfig.NanoCpus}} {{.HostConfig.PidsLimit}}", name)).stdout.split() \
        == ["500000000", "20"]
    ok(cli("rm", "-f", name, timeout=60))


# --- validation ---------------------------------------------------------------------------------

NCPU = os.cpu_count() or 1


@pytest.mark.parametrize("flags,error", [
    (["-m", "4m"], "Minimum memory limit allowed is 6MB"),
    (["-m", "10m", "--memory-swap", "5m"], "Minimum memoryswap limit should be larger than memory limit, see usage"),
    (["--memory-swap", "100m"], "You should always set the Memory limit when using Memoryswap limit, see usage"),
    (["-m", "10m", "--memory-reservation", "20m"],
     "Minimum memory limit can not be less than memory reservation limit, see usage"),
    (["--cpus", "1", "--cpu-period", "10000"], "Conflicting options: Nano CPUs and CPU Period cannot both be set"),
    (["--cpus", "1", "--cpu-quota", "10000"], "Conflicting options: Nano CPUs and CPU Quota cannot both be set"),
    (["--cpus", str(NCPU + 3)],
     f"Range of CPUs is from 0.01 to {NCPU}.00, as there are only {NCPU} CPUs available"),
    (["--cpu-quota", "500"], "CPU cfs quota can not be less than 1ms (i.e. 1000)"),
    (["--cpuset-cpus", "0-99"], "Requested CPUs are not available - requested 0-99, available: "),
    (["--cpuset-cpus", "abc"], "Invalid value abc for cpuset cpus: invalid format: abc"),
    (["--cpuset-mems", "7"], "Requested memory nodes are not available - requested 7, available: "),
])
def test_invalid_resources(cli, flags, error):
    p = cli("run", "--rm", "--network", "none", *flags, "busybox", "true")
    assert p.returncode == 125
    assert f"Error response from daemon: {error}" in p.stderr


def test_invalid_swappiness_refused_by_the_cli(cli):
    p = cli("run", "--rm", "--memory-swappiness", "200", "busybox", "true")
    assert p.returncode == 125
    assert "invalid value: 200. Valid memory swappiness range is 0-100" in p.stderr


def test_update_memory_above_swap_conflicts(cli, new_name):
    name = new_name("upd")
    ok(cli("run", "-d", "--name", name, "--network", "none", "-m", "32m", "--memory-swap", "64m",
           "busybox", "sleep", "300"))
    p = cli("update", "-m", "128m", name)
    assert p.returncode == 1
    assert "Memory limit should be smaller than already set memoryswap limit, update the memoryswap at the " \
           "same time" in p.stderr
    ok(cli("rm", "-f", name, timeout=60))


@pytest.mark.parametrize("device,error,status", [
    ("/dev/nope", 'error gathering device information while adding custom device "/dev/nope": '
                  "no such file or directory", 127),
    ("/etc/passwd", 'error gathering device information while adding custom device "/etc/passwd": '
                    "not a device node", 125),
])
def test_bad_device(cli, device, error, status):
    p = cli("run", "--rm", "--network", "none", "--device", device, "busybox", "true")
    assert p.returncode == status
    assert f"Error response from daemon: {error}" in p.stderr
