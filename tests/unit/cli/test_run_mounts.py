"""run/create -v and --mount -> the create body, as docker's CLI sends them."""

from __future__ import annotations

from typing import Any

import pytest

from tugboat.cli.commands.run import _spec, build_config, ram_in_bytes
from tugboat.cli.commands.run_mounts import check_flags
from tugboat.cli.flags import UsageError, parse


def body(argv: list[str]) -> dict[str, Any]:
    spec = _spec("run", run=True)
    opts, args = parse(spec, argv + ["busybox"])
    check_flags(opts, spec, ram_in_bytes)
    return build_config(opts, args, False)[0]


def test_v_splits_binds_and_anonymous_volumes() -> None:
    b = body(["-v", "/host:/ctr:ro", "-v", "/anon", "-v", "named:/data"])
    assert b["HostConfig"]["Binds"] == ["/host:/ctr:ro", "named:/data"]
    assert b["Volumes"] == {"/anon": {}}
    assert body([])["HostConfig"]["Binds"] is None


def test_mount_values() -> None:
    mounts = body(["--mount", "type=volume,src=v,dst=/m,readonly,volume-nocopy,volume-label=a=b,"
                   "volume-opt=type=tmpfs,volume-opt=device=tmpfs",
                   "--mount", "type=bind,source=/tmp,target=/b,bind-propagation=rshared",
                   "--mount", "type=tmpfs,destination=/t,tmpfs-size=1m,tmpfs-mode=1770",
                   "--mount", "dst=/anon"])["HostConfig"]["Mounts"]
    assert mounts == [
        {"Type": "volume", "Source": "v", "Target": "/m", "ReadOnly": True,
         "VolumeOptions": {"NoCopy": True, "Labels": {"a": "b"},
                           "DriverConfig": {"Options": {"type": "tmpfs", "device": "tmpfs"}}}},
        {"Type": "bind", "Source": "/tmp", "Target": "/b", "BindOptions": {"Propagation": "rshared"}},
        {"Type": "tmpfs", "Target": "/t", "TmpfsOptions": {"SizeBytes": 1048576, "Mode": 0o1770}},
        {"Type": "volume", "Target": "/anon"},
    ]


@pytest.mark.parametrize("value,msg", [
    ("src=x", "target is required"),
    ("foo", "invalid field 'foo' must be a key=value pair"),
    ("type=tmpfs,dst=/x,volume-nocopy", "cannot mix 'volume-*' options with mount type 'tmpfs'"),
    ("type=volume,dst=/x,bind-propagation=shared", "cannot mix 'bind-*' options with mount type 'volume'"),
    ("dst=/x,bogus=1", "unexpected key 'bogus' in 'bogus=1'"),
    ("dst=/x,readonly=maybe", "invalid value for readonly: maybe"),
])
def test_bad_mount_values(value: str, msg: str) -> None:
    with pytest.raises(UsageError) as e:
        body(["--mount", value])
    assert e.value.message == f'invalid argument "{value}" for "--mount" flag: {msg}'
