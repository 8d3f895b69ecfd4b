"""Image routes: list, inspect, remove, tag, history, import, pull, push, search, save and load
(moby's router/image/image_routes.go).  Names route greedily ({name:.+}) because
references contain slashes and registry ports: /images/localhost:5000/ns/app:tag/json."""

from typing import Any

from tugboat.engine.registry.auth import AuthConfig, decode_auth_header
from tugboat.errors import InvalidArgument, NotImplementedYet
from tugboat.server.request import Request
from tugboat.server.responses import Response, StreamResponse, json_response, json_stream
from tugboat.server.router import Route


def list_(engine: Any, req: Request) -> Response:
    filters = req.filters()
    legacy = req.query_str("filter")            # pre-1.25 clients: ?filter=<reference>
    if legacy:
        filters.setdefault("reference", []).append(legacy)
    return json_response(engine.images.list(all=req.query_bool("all"), filters=filters,
                                            digests=req.query_bool("digests")))


def inspect(engine: Any, req: Request) -> Response:
    return json_response(engine.images.inspect(req.params["name"]))


def remove(engine: Any, req: Request) -> Response:
    return json_response(engine.images.remove(req.params["name"], force=req.query_bool("force"),
                                              noprune=req.query_bool("noprune")))


def tag(engine: Any, req: Request) -> Response:
    repo = req.query_str("repo") or ""
    engine.images.tag(req.params["name"], repo, req.query_str("tag") or None)
    return Response(status=201, content_type=None)


def history(engine: Any, req: Request) -> Response:
    return json_response(engine.images.history(req.params["name"]))


def _auth(req: Request) -> AuthConfig:
    return decode_auth_header(req.headers.get("X-Registry-Auth"))


def create(engine: Any, req: Request) -> StreamResponse:
    """Pull (fromImage) or import (fromSrc=-, the body is a tar)."""
    from_image = req.query_str("fromImage")
    if from_image:
        return json_stream(engine.images.pull(from_image, req.query_str("tag") or None,
                                              req.query_str("platform") or "", _auth(req)))
    src = req.query_str("fromSrc")
    if src != "-":
        if not src:
            raise InvalidArgument("either fromImage or fromSrc must be given")
        raise NotImplementedYet("importing from a URL is not implemented yet; use fromSrc=- with the tar as body")
    items = engine.images.import_image(req.body, req.query_str("repo") or None, req.query_str("tag") or None,
                                       req.query_list("changes"), req.query_str("message") or "")
    return json_stream(items)


def push(engine: Any, req: Request) -> StreamResponse:
    return json_stream(engine.images.push(req.params["name"], req.query_str("tag") or None, _auth(req)))


def search(engine: Any, req: Request) -> Response:
    term = req.query_str("term") or ""
    return json_response(engine.images.search(term, req.query_int("limit"), req.filters(), _auth(req)))


def prune(engine: Any, req: Request) -> Response:
    return json_response(engine.images.prune(req.filters()))


def save_one(engine: Any, req: Request) -> StreamResponse:
    return StreamResponse(engine.images.save([req.params["name"]]), content_type="application/x-tar")


def save_many(engine: Any, req: Request) -> StreamResponse:
    return StreamResponse(engine.images.save(req.query_list("names")), content_type="application/x-tar")


def load(engine: Any, req: Request) -> StreamResponse:
    # dockerd's default for quiet is true (BoolValueOrDefault(r, "quiet", true)).
    return json_stream(engine.images.load(req.body, quiet=req.query_bool("quiet", default=True)))


ROUTES = [
    Route("GET", "/images/json", list_),
    Route("GET", "/images/get", save_many),
    Route("POST", "/images/create", create),
    Route("POST", "/images/load", load),
    Route("POST", "/images/prune", prune),
    Route("GET", "/images/search", search),
    Route("GET", "/images/{name:.+}/get", save_one),
    Route("GET", "/images/{name:.+}/history", history),
    Route("GET", "/images/{name:.+}/json", inspect),
    Route("POST", "/images/{name:.+}/tag", tag),
    Route("POST", "/images/{name:.+}/push", push),
    Route("DELETE", "/images/{name:.+}", remove),
]
