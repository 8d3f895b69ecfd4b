"""`tug update` flags -> the update body: only the flags given, docker's units."""

from tugboat.cli.commands.update import _body, _flags
from tugboat.cli.flags import Spec, parse


def body(*argv: str) -> dict:
    opts, _ = parse(Spec("update", "", "", _flags(), 1, -1), [*argv, "c1"])
    return _body(opts)


def test_update_body():
    assert body("-m", "64m", "--memory-swap", "-1") == {"Memory": 64 << 20, "MemorySwap": -1}
    assert body("--cpus", "1.5", "--cpu-shares", "512") == {"NanoCpus": 1_500_000_000, "CpuShares": 512}
    assert body("--pids-limit", "0") == {"PidsLimit": 0}
    assert body("--restart", "on-failure:3") == {"RestartPolicy": {"Name": "on-failure", "MaximumRetryCount": 3}}
    assert body("--cpuset-cpus", "0", "--blkio-weight", "300") == {"CpusetCpus": "0", "BlkioWeight": 300}
    assert body() == {}
