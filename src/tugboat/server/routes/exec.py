"""Exec routes (moby's router/container/exec.go): create, start, resize, inspect.

A non-detached start is hijacked like attach and pumped by ``hijack.attach_pump``:
the engine's ExecStream has the attach stream's shape, and starts the process when
the pump first asks for output, so that start failures reach the client in-band
as dockerd writes them.
"""

from typing import Any

from tugboat.errors import InvalidArgument
from tugboat.server.hijack import DetachKeys, attach_pump, parse_detach_keys
from tugboat.server.request import Request
from tugboat.server.responses import Hijack, Response, json_response
from tugboat.server.router import Route
from tugboat.server.routes.container_extras import _atoi


def create(engine: Any, req: Request) -> Response:
    body = req.json("ExecCreate", required=True)
    if not isinstance(body, dict):
        raise InvalidArgument("invalid exec config: expected a JSON object")
    if body.get("DetachKeys"):
        try:
            parse_detach_keys(str(body["DetachKeys"]))
        except InvalidArgument:
            raise InvalidArgument(f"Invalid escape keys ({body['DetachKeys']}) provided") from None
    return json_response(engine.execs.create(req.params["id"], body), status=201)


def start(engine: Any, req: Request) -> Response | Hijack:
    body = req.json("ExecStart") or {}
    if not isinstance(body, dict):
        raise InvalidArgument("invalid exec start config: expected a JSON object")
    detach = bool(body.get("Detach"))
    stream = engine.execs.start(req.params["id"], detach=detach)
    if stream is None:
        return Response(status=200, content_type=None)
    info = engine.execs.inspect(req.params["id"])
    detach_keys = DetachKeys(info.get("DetachKeys") or None, tty=stream.tty)
    return Hijack(pump=attach_pump(stream, bool(info.get("OpenStdin")), detach_keys),
                  upgrade=req.headers.get("Upgrade") is not None)


def resize(engine: Any, req: Request) -> Response:
    engine.execs.resize(req.params["id"], _atoi(req, "h"), _atoi(req, "w"))
    return Response(status=200, content_type=None)


def inspect(engine: Any, req: Request) -> Response:
    return json_response(engine.execs.inspect(req.params["id"]))


ROUTES = [
    Route("POST", "/containers/{id}/exec", create),
    Route("POST", "/exec/{id}/start", start),
    Route("POST", "/exec/{id}/resize", resize),
    Route("GET", "/exec/{id}/json", inspect),
]
