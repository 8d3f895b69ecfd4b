"""GET /events: a streaming response of EventMessage JSON documents."""

from __future__ import annotations

from tugboat.client import jsonlite as json
from tugboat.client.transport import Response, Transport

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


class Events:
    def __init__(self, t: Transport) -> None:
        self._t = t

    def stream(self, since: str | None = None, until: str | None = None,
               filters: dict[str, list[str]] | None = None) -> Response:
        params: dict[str, Any] = {"since": since or None, "until": until or None,
                                  "filters": json.dumps(filters) if filters else None}
        return self._t.request("GET", "/events", params, timeout=None)
