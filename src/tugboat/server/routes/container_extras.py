"""Container routes beside the lifecycle: pause/unpause, resize, rename, top, changes
(docker diff), stats and prune (moby's router/container/container_routes.go).

Like every route module: parse, call ONE engine method, encode.  Errors are
raised by the engine with dockerd's words and mapped in server/errors.py.
"""

import json
from collections.abc import Iterator
from typing import Any

from tugboat.errors import InvalidArgument
from tugboat.server.request import Request
from tugboat.server.responses import Response, StreamResponse, json_response, no_content
from tugboat.server.router import Route


def _atoi(req: Request, name: str) -> int:
    """Go's strconv.Atoi as moby's postContainersResize uses it: absent or garbage is a 400
    with Go's words (checked against dockerd 20.10)."""
    raw = req.query_str(name) or ""
    try:
        text = raw[1:] if raw[:1] in "+-" and len(raw) > 1 else raw
        if not text.isascii() or not text.isdigit():
            raise ValueError(raw)
        return int(raw, 10)
    except ValueError:
        raise InvalidArgument(f'strconv.Atoi: parsing "{raw}": invalid syntax') from None


def resize(engine: Any, req: Request) -> Response:
    height = _atoi(req, "h")
    width = _atoi(req, "w")
    engine.containers.resize(req.params["id"], height, width)
    return Response(status=200, content_type=None)


def pause(engine: Any, req: Request) -> Response:
    engine.containers.pause(req.params["id"])
    return no_content()


def unpause(engine: Any, req: Request) -> Response:
    engine.containers.unpause(req.params["id"])
    return no_content()


def rename(engine: Any, req: Request) -> Response:
    engine.containers.rename(req.params["id"], req.query_str("name") or "")
    return no_content()


def top(engine: Any, req: Request) -> Response:
    return json_response(engine.containers.top(req.params["id"], req.query_str("ps_args") or ""))


def changes(engine: Any, req: Request) -> Response:
    return json_response(engine.containers.changes(req.params["id"]))


def _at_least_1_41(version: str | None) -> bool:
    if not version:
        return True
    try:
        return tuple(int(p) for p in version.split(".")) >= (1, 41)
    except ValueError:
        return True


def stats(engine: Any, req: Request) -> Response | StreamResponse:
    """stream defaults to true; one-shot exists from API 1.41 on.  dockerd answers a
    single sample with Content-Type application/json and a stream with no content
    type at all (JSON documents, one a line)."""
    stream = req.query_bool("stream", default=True)
    one_shot = req.query_bool("one-shot") if _at_least_1_41(req.version) else False
    samples = engine.containers.stats(req.params["id"], stream=stream, one_shot=one_shot)
    if not stream:
        return json_response(next(iter(samples)))

    def body() -> Iterator[bytes]:
        for sample in samples:
            yield json.dumps(sample).encode() + b"\n"

    return StreamResponse(body(), content_type=None)


def prune(engine: Any, req: Request) -> Response:
    return json_response(engine.containers.prune(req.filters()))


ROUTES = [
    Route("POST", "/containers/prune", prune),
    Route("GET", "/containers/{id}/top", top),
    Route("GET", "/containers/{id}/changes", changes),
    Route("GET", "/containers/{id}/stats", stats),
    Route("POST", "/containers/{id}/resize", resize),
    Route("POST", "/containers/{id}/pause", pause),
    Route("POST", "/containers/{id}/unpause", unpause),
    Route("POST", "/containers/{id}/rename", rename),
]
