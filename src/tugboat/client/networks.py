"""Network endpoints (/networks/...)."""

from __future__ import annotations

from tugboat.client.transport import Transport

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


class Networks:
    def __init__(self, t: Transport) -> None:
        self._t = t

    def create(self, body: dict[str, Any]) -> dict[str, Any]:
        """POST /networks/create with a NetworkCreateRequest -> {"Id", "Warning"}."""
        return dict(self._t.post_json("/networks/create", None, body) or {})

    def list(self, filters: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        from tugboat.client import jsonlite as json
        return list(self._t.get_json("/networks", {"filters": json.dumps(filters) if filters else None}) or [])

    def inspect_raw(self, ref: str, verbose: bool = False) -> bytes:
        """The daemon's JSON bytes as sent (`network inspect` prints them re-indented, not re-encoded)."""
        return self._t.request("GET", f"/networks/{ref}", {"verbose": "true" if verbose else None}).read()

    def remove(self, ref: str) -> None:
        self._t.request("DELETE", f"/networks/{ref}").read()

    def prune(self, filters: dict[str, Any] | None = None) -> dict[str, Any]:
        from tugboat.client import jsonlite as json
        return dict(self._t.post_json("/networks/prune", {"filters": json.dumps(filters) if filters else None})
                    or {})

    def connect(self, ref: str, container: str, endpoint_config: dict[str, Any] | None = None) -> None:
        self._t.request("POST", f"/networks/{ref}/connect", None,
                        {"Container": container, "EndpointConfig": endpoint_config or {}}).read()

    def disconnect(self, ref: str, container: str, force: bool = False) -> None:
        self._t.request("POST", f"/networks/{ref}/disconnect", None, {"Container": container, "Force": force}).read()
