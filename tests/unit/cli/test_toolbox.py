"""pause/unpause/rename/top/diff/stats: output formatting against a fake client (no daemon)."""

from __future__ import annotations

import io
from typing import Any

import pytest

from tugboat.cli.commands import stats as stats_cmd
from tugboat.cli.commands import toolbox
from tugboat.cli.context import Context
from tugboat.client.errors import APIError


class FakeContainers:
    def __init__(self) -> None:
        self.calls: list[tuple] = []

    def pause(self, ref: str) -> None:
        self.calls.append(("pause", ref))
        if ref == "bad":
            raise APIError(409, "Container abc is not running")

    def rename(self, ref: str, name: str) -> None:
        self.calls.append(("rename", ref, name))
        if name == ref:
            raise APIError(400, "Renaming a container with the same name as its current name")

    def top(self, ref: str, ps_args: str | None = None) -> dict[str, Any]:
        self.calls.append(("top", ref, ps_args))
        return {"Titles": ["UID", "PID", "CMD"], "Processes": [["root", "4242", "sleep 300"]]}

    def changes(self, ref: str) -> list[dict[str, Any]] | None:
        return [{"Path": "/etc", "Kind": 0}, {"Path": "/x", "Kind": 1}, {"Path": "/etc/group", "Kind": 2}] \
            if ref == "c" else None


class FakeClient:
    def __init__(self) -> None:
        self.containers = FakeContainers()


def ctx() -> Context:
    c = Context(out=io.StringIO(), err=io.StringIO())
    c._client = FakeClient()  # type: ignore[assignment]
    return c


def test_pause_reports_each(monkeypatch: pytest.MonkeyPatch) -> None:
    c = ctx()
    assert toolbox.pause(c, ["a", "bad", "b"], "pause") == 1
    assert c.out.getvalue() == "a\nb\n"  # type: ignore[attr-defined]
    assert c.err.getvalue() == "Error response from daemon: Container abc is not running\n"  # type: ignore[attr-defined]


def test_rename_failure_lines() -> None:
    c = ctx()
    assert toolbox.rename(c, ["x", "x"], "rename") == 1
    assert c.err.getvalue() == ("Error response from daemon: Renaming a container with the same name as its "  # type: ignore[attr-defined]
                                "current name\nError: failed to rename container named x\n")
    c = ctx()
    assert toolbox.rename(c, ["x", "y"], "rename") == 0
    assert c.out.getvalue() == ""  # type: ignore[attr-defined]


def test_top_passes_ps_args_and_aligns_at_20() -> None:
    c = ctx()
    assert toolbox.top(c, ["c", "-o", "pid,comm"], "top") == 0
    assert c.client.containers.calls[-1] == ("top", "c", "-o pid,comm")  # type: ignore[attr-defined]
    assert c.out.getvalue() == ("UID" + " " * 17 + "PID" + " " * 17 + "CMD\n"  # type: ignore[attr-defined]
                                "root" + " " * 16 + "4242" + " " * 16 + "sleep 300\n")


def test_diff_kinds() -> None:
    c = ctx()
    assert toolbox.diff(c, ["c"], "diff") == 0
    assert c.out.getvalue() == "C /etc\nA /x\nD /etc/group\n"  # type: ignore[attr-defined]
    c = ctx()
    assert toolbox.diff(c, ["other"], "diff") == 0
    assert c.out.getvalue() == ""  # type: ignore[attr-defined]


SAMPLE = {
    "name": "/web", "id": "f" * 64,
    "cpu_stats": {"cpu_usage": {"total_usage": 300_000_000, "percpu_usage": [1, 2]},
                  "system_cpu_usage": 20_000_000_000, "online_cpus": 2},
    "precpu_stats": {"cpu_usage": {"total_usage": 100_000_000}, "system_cpu_usage": 18_000_000_000},
    "memory_stats": {"usage": 3 * 1024 * 1024, "limit": 2 * 1024 ** 3, "stats": {"inactive_file": 1024 * 1024}},
    "pids_stats": {"current": 3},
    "blkio_stats": {"io_service_bytes_recursive": [{"op": "Read", "value": 4096}, {"op": "Write", "value": 1500},
                                                   {"op": "Total", "value": 5596}]},
    "networks": {"eth0": {"rx_bytes": 1180, "tx_bytes": 0}},
}


def test_stats_row_like_docker() -> None:
    row = stats_cmd.StatsRow("web", SAMPLE)
    assert row.ID() == "f" * 12 and row.Name() == "web" and row.Container() == "web"
    assert row.CPUPerc() == "20.00%"              # 0.2s of 2s system time on 2 CPUs
    assert row.MemUsage() == "2MiB / 2GiB"        # usage minus inactive_file
    assert row.MemPerc() == "0.10%"
    assert row.NetIO() == "1.18kB / 0B"
    assert row.BlockIO() == "4.1kB / 1.5kB"
    assert row.PIDs() == "3"


def test_stats_row_of_a_stopped_container() -> None:
    empty = {"name": "/idle", "id": "a" * 64, "memory_stats": {}, "pids_stats": {},
             "cpu_stats": {"cpu_usage": {"total_usage": 0}}, "precpu_stats": {"cpu_usage": {"total_usage": 0}}}
    row = stats_cmd.StatsRow("idle", empty)
    assert (row.CPUPerc(), row.MemUsage(), row.MemPerc(), row.NetIO(), row.BlockIO(), row.PIDs()) == (
        "0.00%", "0B / 0B", "0.00%", "0B / 0B", "0B / 0B", "0")
