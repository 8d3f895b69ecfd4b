"""Volume routes (moby's router/volume): create, list, inspect, remove, prune."""

from typing import Any

from tugboat.errors import InvalidArgument
from tugboat.server.request import Request
from tugboat.server.responses import Response, json_response, no_content
from tugboat.server.router import Route


def _str_map(body: dict, key: str) -> dict[str, str]:
    value = body.get(key) or {}
    if not isinstance(value, dict):
        raise InvalidArgument(f"invalid JSON: {key} must be an object")
    return {str(k): str(v) for k, v in value.items()}


def create(engine: Any, req: Request) -> Response:
    body = req.json("VolumeCreate") or {}
    if not isinstance(body, dict):
        raise InvalidArgument("invalid JSON: expected an object")
    vol = engine.volumes.create(body.get("Name") or None, body.get("Driver") or None,
                                _str_map(body, "DriverOpts"), _str_map(body, "Labels"))
    return json_response(vol, status=201)


def list_(engine: Any, req: Request) -> Response:
    return json_response(engine.volumes.list(req.filters()))


def inspect(engine: Any, req: Request) -> Response:
    return json_response(engine.volumes.inspect(req.params["name"]))


def remove(engine: Any, req: Request) -> Response:
    engine.volumes.remove(req.params["name"], force=req.query_bool("force"))
    return no_content()


def prune(engine: Any, req: Request) -> Response:
    return json_response(engine.volumes.prune(req.filters()))


ROUTES = [
    Route("GET", "/volumes", list_),
    Route("POST", "/volumes/create", create),
    Route("POST", "/volumes/prune", prune),
    Route("GET", "/volumes/{name}", inspect),
    Route("DELETE", "/volumes/{name}", remove),
]
