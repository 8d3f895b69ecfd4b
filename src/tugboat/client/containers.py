"""Container endpoints (/containers/...). Methods return decoded JSON or a streaming Response.

Names follow the API operation names (ContainerCreate -> create) so the same verb is recognisable
in client, server and engine.
"""

from __future__ import annotations

from tugboat.client.transport import Hijacked, Response, Transport

TYPE_CHECKING = False
if TYPE_CHECKING:
    from builtins import list as List  # the resource methods are called `list`
    from typing import Any


class Containers:
    def __init__(self, t: Transport) -> None:
        self._t = t

    def list(self, all: bool = False, limit: int | None = None, size: bool = False,
             filters: dict[str, Any] | None = None) -> List[dict[str, Any]]:
        from tugboat.client import jsonlite as json
        params: dict[str, Any] = {"all": all or None, "limit": limit if limit and limit > 0 else None,
                                  "size": size or None}
        if filters:
            params["filters"] = json.dumps(filters)
        return self._t.get_json("/containers/json", params) or []

    def create(self, config: dict[str, Any], name: str | None = None,
               platform: str | None = None) -> dict[str, Any]:
        return self._t.post_json("/containers/create", {"name": name or None, "platform": platform or None},
                                 config)

    def inspect(self, id: str, size: bool = False) -> dict[str, Any]:
        return self._t.get_json(f"/containers/{id}/json", {"size": size or None})

    def start(self, id: str) -> None:
        self._t.request("POST", f"/containers/{id}/start").read()

    def stop(self, id: str, timeout: int | None = None, signal: str | None = None) -> None:
        self._t.request("POST", f"/containers/{id}/stop", {"t": timeout, "signal": signal or None}).read()

    def restart(self, id: str, timeout: int | None = None, signal: str | None = None) -> None:
        self._t.request("POST", f"/containers/{id}/restart", {"t": timeout, "signal": signal or None}).read()

    def kill(self, id: str, signal: str | None = None) -> None:
        self._t.request("POST", f"/containers/{id}/kill", {"signal": signal or None}).read()

    def remove(self, id: str, force: bool = False, volumes: bool = False, link: bool = False) -> None:
        self._t.request("DELETE", f"/containers/{id}",
                        {"force": force or None, "v": volumes or None, "link": link or None}).read()

    def wait(self, id: str, condition: str | None = None) -> dict[str, Any]:
        return self._t.post_json(f"/containers/{id}/wait", {"condition": condition or None})

    def wait_response(self, id: str, condition: str | None = None) -> Response:
        """Start a wait without reading the answer (docker run registers the wait before starting)."""
        return self._t.request("POST", f"/containers/{id}/wait", {"condition": condition or None},
                               timeout=None)

    def logs(self, id: str, **params: Any) -> Response:
        return self._t.request("GET", f"/containers/{id}/logs", params)

    def attach(self, id: str, stdin: bool = False, stdout: bool = True, stderr: bool = True,
               logs: bool = False) -> Hijacked:
        return self._t.hijack("POST", f"/containers/{id}/attach",
                              {"stream": True, "stdin": stdin or None, "stdout": stdout or None,
                               "stderr": stderr or None, "logs": logs or None})

    def export(self, id: str) -> Response:
        return self._t.request("GET", f"/containers/{id}/export")

    def prune(self, filters: dict[str, Any] | None = None) -> dict[str, Any]:
        from tugboat.client import jsonlite as json
        return self._t.post_json("/containers/prune", {"filters": json.dumps(filters) if filters else None})

    def resize(self, id: str, height: int, width: int) -> None:
        self._t.request("POST", f"/containers/{id}/resize", {"h": height, "w": width}).read()

    def pause(self, id: str) -> None:
        self._t.request("POST", f"/containers/{id}/pause").read()

    def unpause(self, id: str) -> None:
        self._t.request("POST", f"/containers/{id}/unpause").read()

    def update(self, id: str, body: dict[str, Any]) -> dict[str, Any]:
        return dict(self._t.post_json(f"/containers/{id}/update", None, body) or {})

    def rename(self, id: str, name: str) -> None:
        self._t.request("POST", f"/containers/{id}/rename", {"name": name}).read()

    def top(self, id: str, ps_args: str | None = None) -> dict[str, Any]:
        return self._t.get_json(f"/containers/{id}/top", {"ps_args": ps_args or None})

    def changes(self, id: str) -> List[dict[str, Any]] | None:
        return self._t.get_json(f"/containers/{id}/changes")

    def stats(self, id: str, stream: bool = True, one_shot: bool = False) -> Response:
        """A streaming Response of StatsJSON documents (one, if not ``stream``)."""
        return self._t.request("GET", f"/containers/{id}/stats",
                               {"stream": "1" if stream else "0", "one-shot": one_shot or None})
