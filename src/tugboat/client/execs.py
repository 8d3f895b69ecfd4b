"""Exec endpoints (/containers/{id}/exec, /exec/...): ContainerExecCreate/Start/Resize/Inspect."""

from __future__ import annotations

from tugboat.client.transport import Hijacked, Transport

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


class Execs:
    def __init__(self, t: Transport) -> None:
        self._t = t

    def create(self, container: str, config: dict[str, Any]) -> dict[str, Any]:
        return self._t.post_json(f"/containers/{container}/exec", None, config)

    def start(self, id: str, tty: bool = False) -> Hijacked:
        """Start attached: the connection becomes the process's stdio (see Hijacked)."""
        from tugboat.client import jsonlite as json
        return self._t.hijack("POST", f"/exec/{id}/start", None,
                              json.dumps({"Detach": False, "Tty": tty}).encode())

    def start_detached(self, id: str, tty: bool = False) -> None:
        self._t.request("POST", f"/exec/{id}/start", None, {"Detach": True, "Tty": tty}).read()

    def resize(self, id: str, height: int, width: int) -> None:
        self._t.request("POST", f"/exec/{id}/resize", {"h": height, "w": width}).read()

    def inspect(self, id: str) -> dict[str, Any]:
        return self._t.get_json(f"/exec/{id}/json")
