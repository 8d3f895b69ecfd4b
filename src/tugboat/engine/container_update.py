"""docker update: change a container's resources and restart policy (moby daemon/update.go).

Kept out of containers.py: it validates like dockerd's verifyContainerSettings (update mode),
merges like container.UpdateContainer (a zero field means "unchanged"), persists HostConfig,
and, only when the container is running or paused, asks the runtime to apply the *requested*
fields live (runc update).  A failure there restores the previous HostConfig, as dockerd does,
and every failure is "Cannot update container <id>: <cause>".
"""

from __future__ import annotations

import copy
import os
from typing import Any

from tugboat.engine.container_state import PAUSED, REMOVING, RUNNING
from tugboat.errors import Conflict, InvalidArgument, TugboatError

# The Resources fields docker update can change; everything else in the body is ignored.
UPDATABLE = ("Memory", "MemorySwap", "MemoryReservation", "KernelMemory", "CpuShares", "CpuPeriod",
             "CpuQuota", "NanoCpus", "CpusetCpus", "CpusetMems", "BlkioWeight",
             "CpuRealtimePeriod", "CpuRealtimeRuntime")
_MIN_MEMORY = 6 * 1024 * 1024


def _int(body: dict[str, Any], key: str) -> int:
    try:
        return int(body.get(key) or 0)
    except (TypeError, ValueError):
        raise InvalidArgument(f"invalid value for {key}: {body.get(key)!r}") from None


def verify(body: dict[str, Any]) -> None:
    """dockerd's verifyPlatformContainerResources checks that apply to an update's fields."""
    mem, swap, resv = _int(body, "Memory"), _int(body, "MemorySwap"), _int(body, "MemoryReservation")
    if 0 < mem < _MIN_MEMORY:
        raise InvalidArgument("Minimum memory limit allowed is 6MB")
    if mem > 0 and swap > 0 and swap < mem:
        raise InvalidArgument("Minimum memoryswap limit should be larger than memory limit, see usage")
    if 0 < resv < _MIN_MEMORY:
        raise InvalidArgument("Minimum memory reservation allowed is 6MB")
    if mem > 0 and resv > 0 and mem < resv:
        raise InvalidArgument("Minimum memory limit can not be less than memory reservation limit, see usage")
    nano, period, quota = _int(body, "NanoCpus"), _int(body, "CpuPeriod"), _int(body, "CpuQuota")
    if nano > 0 and period > 0:
        raise InvalidArgument("Conflicting options: Nano CPUs and CPU Period cannot both be set")
    if nano > 0 and quota > 0:
        raise InvalidArgument("Conflicting options: Nano CPUs and CPU Quota cannot both be set")
    ncpu = os.cpu_count() or 1
    if nano < 0 or nano > ncpu * 1_000_000_000:
        raise InvalidArgument(f"Range of CPUs is from 0.01 to {ncpu}.00, as there are only {ncpu} CPUs available")
    if period and not 1000 <= period <= 1_000_000:
        raise InvalidArgument("CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s "
                              "(i.e. 1000000)")
    if quota and 0 < quota < 1000:
        raise InvalidArgument("CPU cfs quota can not be less than 1ms (i.e. 1000)")
    weight = _int(body, "BlkioWeight")
    if weight and not 10 <= weight <= 1000:
        raise InvalidArgument("Range of blkio weight is from 10 to 1000")


def merge(hc: dict[str, Any], body: dict[str, Any]) -> None:
    """container.UpdateContainer: copy the non-zero fields into ``hc`` (Conflict on clashes)."""
    def conflict(msg: str) -> None:
        raise Conflict(msg)

    new: dict[str, Any] = {k: body[k] for k in UPDATABLE if body.get(k)}
    if new.get("NanoCpus") and int(hc.get("CpuPeriod") or 0) > 0:
        conflict("Conflicting options: Nano CPUs cannot be updated as CPU Period has already been set")
    if new.get("NanoCpus") and int(hc.get("CpuQuota") or 0) > 0:
        conflict("Conflicting options: Nano CPUs cannot be updated as CPU Quota has already been set")
    if new.get("CpuPeriod") and int(hc.get("NanoCpus") or 0) > 0:
        conflict("Conflicting options: CPU Period cannot be updated as NanoCPUs has already been set")
    if new.get("CpuQuota") and int(hc.get("NanoCpus") or 0) > 0:
        conflict("Conflicting options: CPU Quota cannot be updated as NanoCPUs has already been set")
    # as dockerd 20.10: also when no swap limit was set (0), so -m alone needs --memory-swap too
    if new.get("Memory") and int(new["Memory"]) > int(hc.get("MemorySwap") or 0) and not new.get("MemorySwap"):
        conflict("Memory limit should be smaller than already set memoryswap limit, update the memoryswap "
                 "at the same time")
    hc.update(new)
    if body.get("PidsLimit") is not None:
        hc["PidsLimit"] = int(body["PidsLimit"])
    rp = body.get("RestartPolicy") or {}
    if rp.get("Name"):
        if rp.get("Name") not in ("no", "always", "unless-stopped", "on-failure"):
            raise InvalidArgument(f"invalid restart policy '{rp['Name']}'")
        if hc.get("AutoRemove") and rp["Name"] != "no":
            conflict("Restart policy cannot be updated because AutoRemove is enabled for the container")
        hc["RestartPolicy"] = {"Name": rp["Name"], "MaximumRetryCount": int(rp.get("MaximumRetryCount") or 0)}


class ContainerUpdate:
    """Mixed into ContainerService; relies on its lookup, runtime and event bus."""

    _runtime: Any

    def _get(self, ref: str) -> Any: ...

    def _publish(self, rec: Any, action: str, extra: dict[str, str] | None = None) -> None: ...

    def update(self, ref: str, body: dict[str, Any]) -> dict[str, Any]:
        """POST /containers/{id}/update; returns {"Warnings": [...]}."""
        c = self._get(ref)   # dockerd looks the container up first (404 before any 400)
        for key in (*UPDATABLE, "PidsLimit"):
            if not key.startswith("Cpuset"):
                _int(body, key)  # a 400 for a malformed field, before anything uses it
        # knobs this kernel lacks are dropped with dockerd's warning before the range checks
        warnings: list[str] = list(self._runtime.check_host_config({k: body.get(k) for k in UPDATABLE}))
        if body.get("BlkioWeight") and any("Block I/O weight" in w for w in warnings):
            body = {**body, "BlkioWeight": 0}
        verify(body)
        with c.lock:
            rec = c.rec
            prefix = f"Cannot update container {rec.id}: "
            if rec.state.status == REMOVING:
                raise Conflict(prefix + 'container is marked for removal and cannot be "update"')
            backup = copy.deepcopy(rec.host_config)
            try:
                merge(rec.host_config, body)
            except TugboatError as e:
                rec.host_config = backup
                raise type(e)(prefix + e.message) from None
            if rec.state.status in (RUNNING, PAUSED):
                delta = {k: body[k] for k in (*UPDATABLE, "PidsLimit") if body.get(k) is not None}
                try:
                    self._runtime.update(rec.id, delta)
                except TugboatError as e:
                    rec.host_config = backup
                    raise TugboatError(prefix + e.message) from None
            rec.save()
        self._publish(rec, "update")
        return {"Warnings": warnings}
