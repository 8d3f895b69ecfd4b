"""System endpoints: /_ping, /version, /info, /system/df."""

from __future__ import annotations

from tugboat.client.transport import Transport

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


class System:
    def __init__(self, t: Transport) -> None:
        self._t = t

    def ping(self) -> bool:
        return self._t.request("GET", "/_ping").read() == b"OK"

    def version(self) -> dict[str, Any]:
        return self._t.get_json("/version")

    def info(self) -> dict[str, Any]:
        return self._t.get_json("/info")

    def df(self) -> dict[str, Any]:
        """GET /system/df (docker system df)."""
        return self._t.get_json("/system/df")

    def auth(self, username: str, password: str, server: str) -> dict[str, Any]:
        """POST /auth (docker login): the daemon checks the credentials with the registry."""
        return self._t.post_json("/auth", None, {"username": username, "password": password,
                                                 "serveraddress": server})
