"""``docker commit`` and ``docker cp``: POST /commit and /containers/{id}/archive
(moby's router/image postCommit and router/container/copy.go).

Parse, call ONE engine method, encode.  The archive stat travels in the
``X-Docker-Container-Path-Stat`` header (base64 JSON), which the docker CLI reads for
HEAD, GET and error-free PUT alike.
"""

from typing import Any

from tugboat.api.path_stat import STAT_HEADER, encode_stat
from tugboat.api.version import API_VERSION
from tugboat.errors import InvalidArgument
from tugboat.server.request import Request
from tugboat.server.responses import Response, StreamResponse, json_response
from tugboat.server.router import Route, _less


def _path(req: Request) -> str:
    path = req.query_str("path") or ""
    if not path:
        raise InvalidArgument("bad parameter: pathcannot be empty")   # sic, dockerd 20.10
    return path


def commit(engine: Any, req: Request) -> Response:
    """pause defaults to true from API 1.13 on; the body is an optional ContainerConfig."""
    pause = req.query_bool("pause")
    if not req.query_str("pause") and not _less(req.version or API_VERSION, "1.13"):
        pause = True
    body = req.json("Commit")
    config = None
    if isinstance(body, dict):
        config = {k: v for k, v in body.items() if k not in ("HostConfig", "NetworkingConfig")} or None
    elif body is not None:
        raise InvalidArgument("invalid JSON in request body: expected an object")
    image_id = engine.commits.commit(
        req.query_str("container") or "", repo=req.query_str("repo") or None,
        tag=req.query_str("tag") or None, comment=req.query_str("comment") or "",
        author=req.query_str("author") or "", changes=req.query_list("changes"), pause=pause,
        config=config)
    return json_response({"Id": image_id}, status=201)


def archive_head(engine: Any, req: Request) -> Response:
    stat = engine.archives.stat(req.params["id"], _path(req))
    return Response(status=200, content_type=None, headers={STAT_HEADER: encode_stat(stat)})


def archive_get(engine: Any, req: Request) -> StreamResponse:
    stat, chunks = engine.archives.get(req.params["id"], _path(req))
    return StreamResponse(chunks, content_type="application/x-tar", headers={STAT_HEADER: encode_stat(stat)})


def archive_put(engine: Any, req: Request) -> Response:
    engine.archives.put(req.params["id"], _path(req), req.body,
                        no_overwrite_dir_non_dir=req.query_bool("noOverwriteDirNonDir"),
                        copy_uid_gid=req.query_bool("copyUIDGID"))
    return Response(status=200, content_type=None)


ROUTES = [
    Route("POST", "/commit", commit),
    Route("HEAD", "/containers/{id}/archive", archive_head),
    Route("GET", "/containers/{id}/archive", archive_get),
    Route("PUT", "/containers/{id}/archive", archive_put),
]
