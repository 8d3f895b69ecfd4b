"""Network routes (moby's router/network/network_routes.go): list, inspect, create, remove, prune,
and connect/disconnect, which belong to the container service (it owns the sandboxes).

Like every route module: parse, call ONE engine method, encode.
"""

from typing import Any

from tugboat.errors import InvalidArgument
from tugboat.server.request import Request
from tugboat.server.responses import Response, json_response, no_content
from tugboat.server.router import Route

_EOF = "got EOF while reading request body"


def _object(req: Request, body_type: str, what: str) -> dict[str, Any]:
    body = req.json(body_type, required=True, empty_message=_EOF)
    if not isinstance(body, dict):
        raise InvalidArgument(f"json: cannot unmarshal {type(body).__name__} into Go value of type {what}")
    return body


def list_networks(engine: Any, req: Request) -> Response:
    return json_response(engine.networks.list(req.filters()))


def inspect(engine: Any, req: Request) -> Response:
    return json_response(engine.networks.inspect(req.params["id"], verbose=req.query_bool("verbose"),
                                                 scope=req.query_str("scope") or ""))


def create(engine: Any, req: Request) -> Response:
    body = _object(req, "NetworkCreate", "types.NetworkCreateRequest")
    return json_response(engine.networks.create(body), status=201)


def remove(engine: Any, req: Request) -> Response:
    engine.networks.remove(req.params["id"])
    return no_content()


def prune(engine: Any, req: Request) -> Response:
    return json_response(engine.networks.prune(req.filters()))


def connect(engine: Any, req: Request) -> Response:
    body = _object(req, "NetworkConnect", "types.NetworkConnect")
    engine.containers.connect_network(str(body.get("Container") or ""), req.params["id"],
                                      body.get("EndpointConfig") or {})
    return Response(status=200, content_type=None)


def disconnect(engine: Any, req: Request) -> Response:
    body = _object(req, "NetworkDisconnect", "types.NetworkDisconnect")
    engine.containers.disconnect_network(str(body.get("Container") or ""), req.params["id"],
                                         bool(body.get("Force")))
    return Response(status=200, content_type=None)


ROUTES = [
    Route("GET", "/networks", list_networks),
    Route("GET", "/networks/{id}", inspect),
    Route("POST", "/networks/create", create),
    Route("POST", "/networks/prune", prune),
    Route("POST", "/networks/{id}/connect", connect),
    Route("POST", "/networks/{id}/disconnect", disconnect),
    Route("DELETE", "/networks/{id}", remove),
]
