"""Volume endpoints (/volumes/...)."""

from __future__ import annotations

from tugboat.client.transport import Transport

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


class Volumes:
    def __init__(self, t: Transport) -> None:
        self._t = t

    def create(self, name: str | None = None, driver: str | None = None,
               driver_opts: dict[str, str] | None = None, labels: dict[str, str] | None = None) -> dict[str, Any]:
        body = {"Name": name or "", "Driver": driver or "local", "DriverOpts": driver_opts or {},
                "Labels": labels or {}}
        return dict(self._t.post_json("/volumes/create", None, body) or {})

    def list(self, filters: dict[str, Any] | None = None) -> dict[str, Any]:
        from tugboat.client import jsonlite as json
        return dict(self._t.get_json("/volumes", {"filters": json.dumps(filters) if filters else None}) or {})

    def inspect(self, name: str) -> dict[str, Any]:
        return dict(self._t.get_json(f"/volumes/{name}") or {})

    def remove(self, name: str, force: bool = False) -> None:
        self._t.request("DELETE", f"/volumes/{name}", {"force": force or None}).read()

    def prune(self, filters: dict[str, Any] | None = None) -> dict[str, Any]:
        from tugboat.client import jsonlite as json
        return dict(self._t.post_json("/volumes/prune", {"filters": json.dumps(filters) if filters else None})
                    or {})
