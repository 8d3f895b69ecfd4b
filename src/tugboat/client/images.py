"""Image endpoints (/images/...)."""

from __future__ import annotations

from tugboat.client.transport import Response, Transport

TYPE_CHECKING = False
if TYPE_CHECKING:
    from builtins import list as List  # the resource methods are called `list`
    from typing import Any


class Images:
    def __init__(self, t: Transport) -> None:
        self._t = t

    def list(self, all: bool = False, digests: bool = False,
             filters: dict[str, Any] | None = None) -> List[dict[str, Any]]:
        from tugboat.client import jsonlite as json
        params: dict[str, Any] = {"all": all or None, "digests": digests or None}
        if filters:
            params["filters"] = json.dumps(filters)
        return self._t.get_json("/images/json", params) or []

    def inspect(self, name: str) -> dict[str, Any]:
        return self._t.get_json(f"/images/{name}/json")

    def history(self, name: str) -> List[dict[str, Any]]:
        return self._t.get_json(f"/images/{name}/history") or []

    def remove(self, name: str, force: bool = False, noprune: bool = False) -> List[dict[str, str]]:
        return self._t.request("DELETE", f"/images/{name}",
                               {"force": force or None, "noprune": noprune or None}).json() or []

    def tag(self, name: str, repo: str, tag: str | None = None) -> None:
        self._t.request("POST", f"/images/{name}/tag", {"repo": repo, "tag": tag or None}).read()

    def create(self, params: dict[str, Any], body: Any = None,
               headers: dict[str, str] | None = None) -> Response:
        """POST /images/create: pull (fromImage) or import (fromSrc, body = tar stream)."""
        return self._t.request("POST", "/images/create", params, body, headers)

    def load(self, body: Any, quiet: bool = False) -> Response:
        return self._t.request("POST", "/images/load", {"quiet": quiet or None}, body,
                               {"Content-Type": "application/x-tar"})

    def save(self, names: List[str]) -> Response:
        if len(names) == 1:
            return self._t.request("GET", f"/images/{names[0]}/get")
        from urllib.parse import quote
        q = "&".join("names=" + quote(n, safe="") for n in names)
        return self._t.request("GET", "/images/get?" + q)

    def prune(self, filters: dict[str, Any] | None = None) -> dict[str, Any]:
        from tugboat.client import jsonlite as json
        return self._t.post_json("/images/prune", {"filters": json.dumps(filters) if filters else None})

    def pull(self, image: str, tag: str | None = None, platform: str | None = None,
             auth: str | None = None) -> Response:
        """POST /images/create?fromImage= (a progress stream); ``auth`` is X-Registry-Auth."""
        return self.create({"fromImage": image, "tag": tag or None, "platform": platform or None},
                           headers={"X-Registry-Auth": auth or "e30="})

    def push(self, name: str, tag: str | None = None, auth: str | None = None) -> Response:
        return self._t.request("POST", f"/images/{name}/push", {"tag": tag or None}, None,
                               {"X-Registry-Auth": auth or "e30="})

    def search(self, term: str, limit: int | None = None, filters: dict[str, Any] | None = None,
               auth: str | None = None) -> List[dict[str, Any]]:
        from tugboat.client import jsonlite as json
        params: dict[str, Any] = {"term": term, "limit": limit,
                                  "filters": json.dumps(filters) if filters else None}
        return self._t.request("GET", "/images/search", params, None,
                               {"X-Registry-Auth": auth or "e30="}).json() or []

    def build(self, body: Any, params: dict[str, Any]) -> Response:
        """POST /build: ``body`` is the context tar (bytes, file or iterable of chunks); the
        response streams JSON progress ({"stream"}, {"aux": {"ID"}}, {"errorDetail"})."""
        return self._t.request("POST", "/build", params, body, {"Content-Type": "application/x-tar"})

    def build_prune(self, all: bool = False, filters: dict[str, Any] | None = None) -> dict[str, Any]:
        from tugboat.client import jsonlite as json
        return self._t.post_json("/build/prune", {"all": all or None,
                                                  "filters": json.dumps(filters) if filters else None})
