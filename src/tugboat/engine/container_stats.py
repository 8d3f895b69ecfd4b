"""`GET /containers/{id}/stats`: runc's cgroup statistics in dockerd's StatsJSON shape.

`docker stats` computes CPU % from the difference between ``cpu_stats`` and
``precpu_stats`` (container usage against ``system_cpu_usage``), so every sample
carries the previous one, and a non-streamed answer waits for a second sample as
dockerd does unless ``one_shot`` is asked for.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator

from tugboat.api.timefmt import now_ns, rfc3339nano

INTERVAL_SECONDS = 1.0
_BLKIO_KEYS = (("io_service_bytes_recursive", "ioServiceBytesRecursive"),
               ("io_serviced_recursive", "ioServicedRecursive"),
               ("io_queue_recursive", "ioQueueRecursive"),
               ("io_service_time_recursive", "ioServiceTimeRecursive"),
               ("io_wait_time_recursive", "ioWaitTimeRecursive"),
               ("io_merged_recursive", "ioMergedRecursive"),
               ("io_time_recursive", "ioTimeRecursive"),
               ("sectors_recursive", "sectorsRecursive"))


def system_cpu_usage() -> int:
    """dockerd's getSystemCPUUsage: the first 7 fields of /proc/stat's "cpu" line, in ns."""
    try:
        with open("/proc/stat") as f:
            for line in f:
                parts = line.split()
                if parts and parts[0] == "cpu":
                    ticks = sum(int(x) for x in parts[1:8])
                    return ticks * 1_000_000_000 // os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError):
        pass
    return 0


def host_memory() -> int:
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    return 0


def _empty_cpu() -> dict:
    return {"cpu_usage": {"total_usage": 0, "usage_in_kernelmode": 0, "usage_in_usermode": 0},
            "throttling_data": {"periods": 0, "throttled_periods": 0, "throttled_time": 0}}


def empty_stats(name: str, cid: str) -> dict:
    """What dockerd answers for a container that is not running."""
    zero = "0001-01-01T00:00:00Z"
    return {"read": zero, "preread": zero, "pids_stats": {},
            "blkio_stats": {k: None for k, _ in _BLKIO_KEYS}, "num_procs": 0, "storage_stats": {},
            "cpu_stats": _empty_cpu(), "precpu_stats": _empty_cpu(), "memory_stats": {},
            "name": name, "id": cid}


def convert(raw: dict, name: str, cid: str, read_ns: int, prev: dict | None) -> dict:
    """One sample; ``raw`` is `runc events --stats` output ({"data": {...}} or the data itself)."""
    data = raw.get("data", raw) if isinstance(raw, dict) else {}
    cpu = data.get("cpu") or {}
    usage = cpu.get("usage") or {}
    percpu = [int(x) for x in usage.get("percpu") or []]
    thr = cpu.get("throttling") or {}
    cpu_stats = {
        "cpu_usage": {"total_usage": int(usage.get("total") or 0), "percpu_usage": percpu,
                      "usage_in_kernelmode": int(usage.get("kernel") or 0),
                      "usage_in_usermode": int(usage.get("user") or 0)},
        "system_cpu_usage": system_cpu_usage(),
        "online_cpus": len(percpu) or (os.cpu_count() or 1),
        "throttling_data": {"periods": int(thr.get("periods") or 0),
                            "throttled_periods": int(thr.get("throttled_periods") or 0),
                            "throttled_time": int(thr.get("throttled_time") or 0)},
    }
    mem = data.get("memory") or {}
    mu = mem.get("usage") or {}
    limit = int(mu.get("limit") or 0)
    host = host_memory()
    if not limit or (host and limit > host):
        limit = host
    memory_stats = {"usage": int(mu.get("usage") or 0), "max_usage": int(mu.get("max") or 0),
                    "stats": {k: int(v) for k, v in sorted((mem.get("raw") or {}).items())},
                    "limit": limit}
    if mu.get("failcnt"):
        memory_stats["failcnt"] = int(mu["failcnt"])
    blk = data.get("blkio") or {}
    blkio = {ours: [{"major": int(e.get("major") or 0), "minor": int(e.get("minor") or 0),
                     "op": str(e.get("op") or ""), "value": int(e.get("value") or 0)}
                    for e in blk.get(theirs) or []]
             for ours, theirs in _BLKIO_KEYS}
    pids = data.get("pids") or {}
    pids_stats = {"current": int(pids.get("current") or 0)}
    if pids.get("limit"):
        pids_stats["limit"] = int(pids["limit"])
    return {
        "read": rfc3339nano(read_ns),
        "preread": prev["read"] if prev else "0001-01-01T00:00:00Z",
        "pids_stats": pids_stats, "blkio_stats": blkio, "num_procs": 0, "storage_stats": {},
        "cpu_stats": cpu_stats, "precpu_stats": prev["cpu_stats"] if prev else _empty_cpu(),
        "memory_stats": memory_stats, "name": name, "id": cid,
    }


def sample_stream(sample: Callable[[], dict | None], name: str, cid: str, stream: bool, one_shot: bool,
                  sleep: Callable[[float], object], exists: Callable[[], bool] | None = None) -> Iterator[dict]:
    """Samples every second; ``sample()`` returns None while the container is not running.

    Not streaming: one sample (an empty one for a stopped container).  Streaming, as dockerd's
    stats collector: an empty sample (name and id only) every second while the container is
    not running, real ones again once it runs, until it is removed (``exists()`` false)."""
    if stream and exists is not None:
        yield from _stream_until_removed(sample, name, cid, sleep, exists)
        return
    prev: dict | None = None
    if not stream and not one_shot:
        raw = sample()
        if raw is None:
            yield empty_stats(name, cid)
            return
        prev = convert(raw, name, cid, now_ns(), None)
        sleep(INTERVAL_SECONDS)
    while True:
        raw = sample()
        if raw is None:
            if prev is None:
                yield empty_stats(name, cid)
            return
        cur = convert(raw, name, cid, now_ns(), prev)
        yield cur
        if not stream:
            return
        prev = cur
        sleep(INTERVAL_SECONDS)


def _stream_until_removed(sample: Callable[[], dict | None], name: str, cid: str,
                          sleep: Callable[[float], object], exists: Callable[[], bool]) -> Iterator[dict]:
    prev: dict | None = None
    while True:
        raw = sample()
        if raw is None:
            prev = None
            yield empty_stats(name, cid)
        else:
            prev = convert(raw, name, cid, now_ns(), prev)
            yield prev
        sleep(INTERVAL_SECONDS)
        if not exists():
            return
