"""json-file log options (dockerd's checks, Tugboat's default rotation) and reading rotated logs."""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path

import pytest

from tugboat.engine import log_options
from tugboat.engine.container_logs import read_log
from tugboat.engine.container_update import merge, verify
from tugboat.errors import Conflict, InvalidArgument


def rec(n: int) -> bytes:
    return json.dumps({"log": f"l{n}\n", "stream": "stdout", "time": f"2024-01-01T00:00:{n:02d}Z"}).encode() + b"\n"


def write(path: Path, lines: range) -> None:
    path.write_bytes(b"".join(rec(n) for n in lines))


def test_rotation_settings():
    assert log_options.rotation({"Type": "json-file", "Config": {}}) == (20_000_000, 5)
    assert log_options.rotation({"Type": "json-file", "Config": {"max-size": "100k"}}) == (100_000, 1)
    assert log_options.rotation({"Type": "json-file", "Config": {"max-size": "10m", "max-file": "3"}}) == \
        (10_000_000, 3)
    assert log_options.rotation({"Type": "none", "Config": {}}) == (0, 1)


@pytest.mark.parametrize(("opts", "msg"), [
    ({"x": "1"}, "unknown log opt 'x' for json-file log driver"),
    ({"max-size": "ten"}, "invalid size: 'ten'"),
    ({"max-size": "0"}, "max-size must be a positive number"),
    ({"max-size": "1m", "max-file": "0"}, "max-file cannot be less than 1"),
    ({"max-size": "1m", "max-file": "x"}, 'strconv.Atoi: parsing "x": invalid syntax'),
])
def test_validate_errors(opts, msg):
    with pytest.raises(InvalidArgument, match=msg.replace("(", r"\(")):
        log_options.validate({"Type": "json-file", "Config": opts})


def test_read_across_rotated_files(tmp_path: Path):
    log = tmp_path / "c-json.log"
    write(log.with_name(log.name + ".2"), range(0, 3))
    write(log.with_name(log.name + ".1"), range(3, 6))
    write(log, range(6, 8))
    assert [e.data for e in read_log(log)] == [f"l{n}\n".encode() for n in range(8)]
    assert [e.data for e in read_log(log, tail=4)] == [b"l4\n", b"l5\n", b"l6\n", b"l7\n"]
    assert [e.data for e in read_log(log, tail=1)] == [b"l7\n"]
    assert list(read_log(log, tail=0)) == []
    since = 5 * 10**9 + 1704067200 * 10**9
    assert [e.data for e in read_log(log, since_ns=since)][0] == b"l5\n"


def test_follow_across_a_rotation(tmp_path: Path):
    log = tmp_path / "c-json.log"
    write(log, range(0, 2))
    running = [True]

    def monitor() -> None:
        time.sleep(0.2)
        with open(log, "ab") as f:
            f.write(rec(2))
        os.rename(log, log.with_name(log.name + ".1"))
        write(log, range(3, 5))
        time.sleep(0.2)
        log.write_bytes(b"")     # max-file 1: truncated in place
        time.sleep(0.2)
        write(log, range(5, 6))
        time.sleep(0.3)
        running[0] = False

    t = threading.Thread(target=monitor)
    t.start()
    got = [e.data for e in read_log(log, follow=True, is_running=lambda: running[0])]
    t.join()
    assert got == [f"l{n}\n".encode() for n in range(6)]


def test_update_merge_and_checks():
    hc = {"Memory": 0, "MemorySwap": 0, "CpuPeriod": 0, "NanoCpus": 0, "RestartPolicy": {"Name": ""}}
    with pytest.raises(Conflict, match="update the memoryswap at the same time"):
        merge(hc, {"Memory": 64 << 20})     # dockerd 20.10: even with no swap limit set
    merge(hc, {"Memory": 64 << 20, "MemorySwap": -1, "CpuShares": 0, "RestartPolicy": {"Name": "always"}})
    assert hc["Memory"] == 64 << 20 and "CpuShares" not in hc
    assert hc["RestartPolicy"] == {"Name": "always", "MaximumRetryCount": 0}
    hc["CpuPeriod"] = 100000
    with pytest.raises(Conflict, match="Nano CPUs cannot be updated as CPU Period"):
        merge(hc, {"NanoCpus": 10**9})
    hc["MemorySwap"] = 128 << 20
    merge(hc, {"Memory": 100 << 20})
    with pytest.raises(Conflict, match="Memory limit should be smaller"):
        merge(hc, {"Memory": 256 << 20})
    with pytest.raises(InvalidArgument, match="Minimum memory limit allowed is 6MB"):
        verify({"Memory": 1024})
    with pytest.raises(InvalidArgument, match="Range of blkio weight is from 10 to 1000"):
        verify({"BlkioWeight": 5})


def test_follow_catches_up_over_several_rotations(tmp_path: Path):
    """The follower is on the oldest file when two rotations happen at once: it reads .1 then the live one."""
    log = tmp_path / "c-json.log"
    write(log, range(0, 2))
    running = [True]
    started = threading.Event()

    def monitor() -> None:
        started.wait()
        time.sleep(0.2)
        os.rename(log, log.with_name(log.name + ".2"))
        write(log.with_name(log.name + ".1"), range(2, 4))
        write(log, range(4, 5))
        time.sleep(0.3)
        running[0] = False

    t = threading.Thread(target=monitor)
    t.start()
    got = []
    for e in read_log(log, follow=True, is_running=lambda: running[0]):
        got.append(e.data)
        started.set()
    t.join()
    assert got == [f"l{n}\n".encode() for n in range(5)]
