"""The less central container operations: rename, top, changes (docker diff), prune.

Kept apart from the lifecycle in containers.py; they only look containers up,
read state and call the runtime/layer store, with dockerd's messages.
"""

from __future__ import annotations

import builtins
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from tugboat.api.timefmt import parse_since
from tugboat.engine.container_names import normalize
from tugboat.engine.container_stats import sample_stream
from tugboat.errors import Conflict, InvalidArgument, NotFound, TugboatError
from tugboat.runtime.ps import host_ps

if TYPE_CHECKING:
    from tugboat.engine.container_index import ContainerIndex

_KINDS = {"C": 0, "A": 1, "D": 2}   # archive.ChangeType: Modify, Add, Delete


def parse_ps_output(output: str, pids: set[int]) -> dict:
    """moby's parsePSOutput: keep the rows of our pids; the last column may contain spaces."""
    lines = output.split("\n")
    titles = lines[0].split()
    if "PID" not in titles:
        raise TugboatError("Couldn't find PID field in ps output")
    idx = titles.index("PID")
    procs = []
    for line in lines[1:]:
        fields = line.split()
        if not fields or len(fields) <= idx:
            continue
        try:
            pid = int(fields[idx])
        except ValueError:
            raise TugboatError(f"Unexpected pid '{fields[idx]}'") from None
        if pid in pids:
            procs.append(fields[:len(titles) - 1] + [" ".join(fields[len(titles) - 1:])])
    return {"Processes": procs, "Titles": titles}


def _label_filter(specs: builtins.list[str], negate: bool, labels: dict) -> bool:
    for spec in specs:
        key, eq, value = spec.partition("=")
        hit = key in labels and (not eq or labels[key] == value)
        if hit == negate:
            return False
    return True


class ContainerExtras:
    """Mixed into ContainerService; relies on its index, lookup, layers and runtime."""

    _index: ContainerIndex[Any]
    _layers: Any
    _runtime: Any

    def _get(self, ref: str) -> Any: ...

    def _remove(self, c: Any, force: bool, ref: str | None = None) -> None: ...

    def _publish(self, rec: Any, action: str, extra: dict[str, str] | None = None) -> None: ...

    def rename(self, ref: str, new_name: str) -> None:
        if not ref or not new_name:
            raise InvalidArgument("Neither old nor new names may be empty")
        c = self._get(ref)
        with c.lock:
            rec = c.rec
            full = normalize(new_name)
            if full == rec.name:
                raise InvalidArgument("Renaming a container with the same name as its current name")
            try:
                self._index.reserve(full, rec.id)
            except Conflict as e:
                raise Conflict(f"Error when allocating new name: {e.message}") from None
            old, rec.name = rec.name, full
            try:
                rec.save()
            except BaseException:
                rec.name = old
                self._index.release_name(full, rec.id)
                raise
            self._index.release_name(old, rec.id)
        self._publish(rec, "rename", {"oldName": old})

    def top(self, ref: str, ps_args: str = "") -> dict:
        c = self._get(ref)
        if not c.rec.state.running:
            raise Conflict(f"Container {c.rec.id} is not running")
        pids = set(self._runtime.ps(c.rec.id))
        out = host_ps((ps_args or "-ef").split())
        self._publish(c.rec, "top")
        return parse_ps_output(out, pids)

    def changes(self, ref: str) -> builtins.list[dict] | None:
        """GET /containers/{id}/changes: [{"Path", "Kind"}], null when nothing changed."""
        c = self._get(ref)
        out = [{"Path": path, "Kind": _KINDS.get(kind, 0)} for kind, path in self._layers.rw_changes(c.rec.id)]
        return out or None

    def prune(self, filters: dict[str, builtins.list[str]] | None = None) -> dict:
        """POST /containers/prune: remove every container that is not running."""
        f = {k: list(v) for k, v in (filters or {}).items() if v is not None}
        for key in f:
            if key not in ("until", "label", "label!"):
                raise InvalidArgument(f"Invalid filter '{key}'")
        until = None
        if f.get("until"):
            try:
                until = parse_since(f["until"][-1])
            except (ValueError, OverflowError):
                raise InvalidArgument(f"invalid filter 'until={f['until'][-1]}'") from None
        deleted, reclaimed = [], 0
        for c in self._index.values():
            rec = c.rec
            if rec.state.running or rec.state.status == "removing":
                continue
            if until is not None and rec.created_ns >= until:
                continue
            labels = rec.config.get("Labels") or {}
            if not (_label_filter(f.get("label", []), False, labels)
                    and _label_filter(f.get("label!", []), True, labels)):
                continue
            try:
                size = int(self._layers.rw_size(rec.id))
            except Exception:  # noqa: BLE001 - size is informational
                size = 0
            try:
                self._remove(c, force=False)
            except (Conflict, NotFound):
                continue   # started or removed meanwhile
            deleted.append(rec.id)
            reclaimed += size
        return {"ContainersDeleted": deleted or None, "SpaceReclaimed": reclaimed}

    def stats(self, ref: str, stream: bool = True, one_shot: bool = False) -> Iterator[dict]:
        """GET /containers/{id}/stats: StatsJSON samples, one per second while streaming."""
        c = self._get(ref)
        rec = c.rec

        def sample() -> dict | None:
            if not rec.state.running:
                return None
            try:
                return dict(self._runtime.stats(rec.id))
            except TugboatError:
                return None if not rec.state.running else {}

        def exists() -> bool:
            try:
                return self._index.get(rec.id) is c
            except NotFound:
                return False

        samples = sample_stream(sample, rec.name, rec.id, stream, one_shot, time.sleep, exists)
        networking = getattr(self, "networking", None)
        if networking is None:
            return samples

        def with_networks(one: dict) -> dict:
            """dockerd's "networks": per-interface counters of a running container's sandbox."""
            counters = networking.counters(rec) if rec.state.running else None
            return {**one, "networks": counters} if counters else one
        return (with_networks(one) for one in samples)
