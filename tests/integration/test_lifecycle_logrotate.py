"""json-file rotation (--log-opt max-size/max-file), --log-driver none, and log-opt validation."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from .conftest import TARGET
from .helpers import ok

# ~300 KB: 3000 numbered lines of 100 bytes
WRITER = 'i=1; while [ $i -le 3000 ]; do printf "%05d%094d\\n" $i 0; i=$((i+1)); done'


def test_rotation_keeps_max_file_files(cli, new_name):
    name = new_name("rot")
    ok(cli("run", "--name", name, "--log-opt", "max-size=100k", "--log-opt", "max-file=2",
           "busybox", "sh", "-c", WRITER, timeout=120))
    p = ok(cli("inspect", "-f", "{{json .HostConfig.LogConfig}}|{{.LogPath}}", name))
    cfg, log_path = p.stdout.strip().split("|")
    assert json.loads(cfg) == {"Type": "json-file", "Config": {"max-file": "2", "max-size": "100k"}}
    files = sorted(Path(log_path).parent.glob(Path(log_path).name + "*"))
    assert [f.name[len(Path(log_path).name):] for f in files] == ["", ".1"]
    assert all(f.stat().st_size <= 102_400 for f in files)
    out = ok(cli("logs", name)).stdout.splitlines()
    nums = [int(ln[:5]) for ln in out]
    assert nums == list(range(nums[0], 3001)) and 600 < len(nums) < 1300  # .1 full (~600 records) + the live one
    tail = ok(cli("logs", "--tail", "3", name)).stdout.splitlines()
    assert [int(ln[:5]) for ln in tail] == [2998, 2999, 3000]


def test_log_driver_none(cli, new_name):
    name = new_name("nolog")
    ok(cli("run", "--name", name, "--log-driver", "none", "busybox", "echo", "hi", timeout=30))
    p = cli("logs", name)
    assert p.returncode != 0
    assert "configured logging driver does not support reading" in p.stderr
    assert ok(cli("inspect", "-f", "{{.LogPath}}", name)).stdout.strip() == ""


def test_unknown_log_opt(cli, new_name):
    p = cli("create", "--name", new_name("badopt"), "--log-opt", "x=1", "busybox")
    assert p.returncode != 0
    assert "unknown log opt 'x' for json-file log driver" in p.stderr


@pytest.mark.skipif(TARGET == "docker", reason="dockerd 20.10 repeats and drops lines when following rotations")
def test_follow_across_rotations(cli, new_name):
    """logs -f from the start of a container that rotates its 10 KB log ~30 times: no line lost."""
    name = new_name("rotf")
    script = ('i=1; while [ $i -le 1500 ]; do printf "%05d\\n" $i; [ $((i % 50)) = 0 ] && usleep 20000; '
              'i=$((i+1)); done')
    ok(cli("run", "-d", "--name", name, "--log-opt", "max-size=10k", "--log-opt", "max-file=3",
           "busybox", "sh", "-c", script, timeout=30))
    p = ok(cli("logs", "-f", name, timeout=60))
    nums = [int(ln) for ln in p.stdout.split()]
    assert nums == list(range(nums[0], 1501))


@pytest.mark.skipif(TARGET == "docker", reason="Tugboat's default rotation (Docker has none) and its monitor.conf")
def test_default_rotation_reaches_the_monitor(tug, tugd, new_name):
    name = new_name("rotd")
    cid = ok(tug("run", "-d", "--name", name, "busybox", "sleep", "300", timeout=30)).stdout.strip()
    conf = (tugd.exec_root / "containers" / cid / "monitor.conf").read_text().splitlines()
    assert "log_max_size=20000000" in conf and "log_max_file=5" in conf
    assert ok(tug("inspect", "-f", "{{json .HostConfig.LogConfig.Config}}", name)).stdout.strip() == "{}"
    ok(tug("rm", "-f", name, timeout=60))
