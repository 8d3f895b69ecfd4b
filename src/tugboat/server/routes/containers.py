"""Container routes: create, start/stop/kill/restart, wait, remove, list, inspect,
logs, attach and export (moby's router/container/container_routes.go)."""

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from tugboat.errors import InvalidArgument
from tugboat.server.errors import error_message
from tugboat.server.hijack import DetachKeys, attach_pump, parse_detach_keys
from tugboat.server.request import Request
from tugboat.server.responses import (
    STDERR,
    STDOUT,
    Hijack,
    Response,
    StreamResponse,
    frame,
    json_response,
    no_content,
)
from tugboat.server.router import Route


def create(engine: Any, req: Request) -> Response:
    body = req.json("ContainerCreate", required=True,
                    empty_message="config cannot be empty in order to create a container")
    if not isinstance(body, dict):
        raise InvalidArgument("invalid container config: expected a JSON object")
    result = engine.containers.create(req.query_str("name") or None, body,
                                      platform=req.query_str("platform") or None)
    return json_response(result, status=201)


def start(engine: Any, req: Request) -> Response:
    engine.containers.start(req.params["id"])
    return no_content()


def stop(engine: Any, req: Request) -> Response:
    engine.containers.stop(req.params["id"], timeout=req.query_int("t"),
                           signal=req.query_str("signal") or None)
    return no_content()


def kill(engine: Any, req: Request) -> Response:
    engine.containers.kill(req.params["id"], signal=req.query_str("signal") or None)
    return no_content()


def restart(engine: Any, req: Request) -> Response:
    engine.containers.restart(req.params["id"], timeout=req.query_int("t"))
    return no_content()


def wait(engine: Any, req: Request) -> StreamResponse:
    """Register the waiter first (errors are plain HTTP errors), then send the headers
    at once and the body when the condition is met: a client may send wait, then
    start, and must not miss the exit."""
    waiter = engine.containers.wait_begin(req.params["id"], req.query_str("condition") or "not-running")

    def body() -> Iterator[bytes]:
        yield json.dumps(waiter.result()).encode() + b"\n"

    def on_error(exc: BaseException) -> bytes:
        return json.dumps({"StatusCode": -1, "Error": {"Message": error_message(exc)}}).encode() + b"\n"

    return StreamResponse(body(), prefetch=False, on_error=on_error, on_disconnect=waiter.cancel)


def remove(engine: Any, req: Request) -> Response:
    engine.containers.remove(req.params["id"], force=req.query_bool("force"),
                             volumes=req.query_bool("v"), link=req.query_bool("link"))
    return no_content()


def list_(engine: Any, req: Request) -> Response:
    limit = req.query_int("limit", -1)
    return json_response(engine.containers.list(all=req.query_bool("all"), limit=-1 if limit is None else limit,
                                                size=req.query_bool("size"), filters=req.filters()))


def inspect(engine: Any, req: Request) -> Response:
    return json_response(engine.containers.inspect(req.params["id"], size=req.query_bool("size")))


def parse_timestamp(value: str | None, name: str) -> int:
    """moby's timetypes.ParseTimestamps: "<unix seconds>[.<fraction>]" -> ns; "" -> 0."""
    if value is None or value == "":
        return 0
    sec, _, frac = value.partition(".")
    try:
        ns = int(sec, 10) * 1_000_000_000
        if frac:
            ns += int((frac + "000000000")[:9], 10) * (1 if ns >= 0 else -1)
    except ValueError:
        raise InvalidArgument(f'invalid value for "{name}": {value!r} is not a unix timestamp') from None
    return ns


def log_timestamp(ns: int) -> str:
    """jsonmessage.RFC3339NanoFixed, what dockerd prefixes log lines with (9 digits, never trimmed)."""
    secs, frac = divmod(ns, 1_000_000_000)
    return datetime.fromtimestamp(secs, UTC).strftime("%Y-%m-%dT%H:%M:%S") + f".{frac:09d}Z"


def logs(engine: Any, req: Request) -> StreamResponse:
    stdout, stderr = req.query_bool("stdout"), req.query_bool("stderr")
    if not (stdout or stderr):
        raise InvalidArgument("Bad parameters: you must choose at least one stream")
    follow, timestamps = req.query_bool("follow"), req.query_bool("timestamps")
    try:
        tail = int(req.query_str("tail") or "all")     # dockerd: "all" or garbage -> everything
    except ValueError:
        tail = -1
    tty, entries = engine.containers.logs(
        req.params["id"], stdout=stdout, stderr=stderr, follow=follow,
        since_ns=parse_timestamp(req.query_str("since"), "since"),
        until_ns=parse_timestamp(req.query_str("until"), "until"), tail=tail)

    def body() -> Iterator[bytes]:
        for entry in entries:
            data = entry.data
            if timestamps:
                data = log_timestamp(entry.time_ns).encode() + b" " + data
            yield data if tty else frame(STDERR if entry.stream == "stderr" else STDOUT, data)

    # Headers go out at once when following, so `logs -f` of a silent container returns.
    return StreamResponse(body(), content_type=None, prefetch=not follow)


def attach(engine: Any, req: Request) -> Hijack:
    stdin = req.query_bool("stdin")
    detach_spec = req.query_str("detachKeys") or None
    if detach_spec:
        parse_detach_keys(detach_spec)      # a 400 before anything is attached, as dockerd
    stream = engine.containers.attach(req.params["id"], stdin=stdin, stdout=req.query_bool("stdout"),
                                      stderr=req.query_bool("stderr"), stream=req.query_bool("stream"),
                                      logs=req.query_bool("logs"))
    # moby answers 101 when the request has an Upgrade header at all.
    detach = DetachKeys(detach_spec, tty=bool(getattr(stream, "tty", False)))
    return Hijack(pump=attach_pump(stream, stdin, detach),
                  upgrade=req.headers.get("Upgrade") is not None)


def attach_ws(engine: Any, req: Request) -> Hijack:
    """GET /containers/{id}/attach/ws: the attach as a websocket (server/websocket.py)."""
    from tugboat.server import websocket
    stdin = req.query_bool("stdin")
    detach_spec = req.query_str("detachKeys") or None
    if detach_spec:
        parse_detach_keys(detach_spec)
    stream = engine.containers.attach(req.params["id"], stdin=stdin, stdout=req.query_bool("stdout"),
                                      stderr=req.query_bool("stderr"), stream=req.query_bool("stream"),
                                      logs=req.query_bool("logs"))
    try:
        preamble = websocket.handshake(req.headers)    # after the lookup: a missing container is a 404
    except InvalidArgument:
        stream.close()
        raise
    detach = DetachKeys(detach_spec, tty=bool(getattr(stream, "tty", False)))
    return Hijack(pump=websocket.attach_pump(stream, stdin, detach), upgrade=True, preamble=preamble)


def export(engine: Any, req: Request) -> StreamResponse:
    return StreamResponse(engine.containers.export(req.params["id"]), content_type="application/x-tar")


ROUTES = [
    Route("GET", "/containers/json", list_),
    Route("POST", "/containers/create", create),
    Route("GET", "/containers/{id}/json", inspect),
    Route("GET", "/containers/{id}/logs", logs),
    Route("GET", "/containers/{id}/export", export),
    Route("POST", "/containers/{id}/start", start),
    Route("POST", "/containers/{id}/stop", stop),
    Route("POST", "/containers/{id}/kill", kill),
    Route("POST", "/containers/{id}/restart", restart),
    Route("POST", "/containers/{id}/wait", wait),
    Route("POST", "/containers/{id}/attach", attach),
    Route("GET", "/containers/{id}/attach/ws", attach_ws),
    Route("DELETE", "/containers/{id:.+}", remove),   # "parent/alias" with ?link
]
