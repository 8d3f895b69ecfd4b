"""GET/HEAD /_ping, GET /version, GET /info."""

from typing import Any

from tugboat.server.request import Request
from tugboat.server.responses import Response, json_response
from tugboat.server.router import Route

_PING_HEADERS = {
    "Builder-Version": "1",
    "Cache-Control": "no-cache, no-store, must-revalidate",
    "Pragma": "no-cache",
}


def ping(engine: Any, req: Request) -> Response:
    # HEAD answers Content-Length: 0 like dockerd, so clients never wait for a body.
    body = b"" if req.method == "HEAD" else b"OK"
    return Response(body=body, content_type="text/plain; charset=utf-8", headers=dict(_PING_HEADERS))


def version(engine: Any, req: Request) -> Response:
    return json_response(engine.system.version())


def info(engine: Any, req: Request) -> Response:
    return json_response(engine.system.info())


def disk_usage(engine: Any, req: Request) -> Response:
    return json_response(engine.system.disk_usage())


ROUTES = [
    Route("GET", "/_ping", ping),
    Route("HEAD", "/_ping", ping),
    Route("GET", "/version", version),
    Route("GET", "/info", info),
    Route("GET", "/system/df", disk_usage),
]
