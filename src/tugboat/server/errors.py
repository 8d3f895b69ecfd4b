"""The ONE place that turns errors into HTTP: status codes and JSON bodies.

The engine raises ``tugboat.errors`` classes and never knows about HTTP; every
other server module calls ``status_for``/``error_message`` instead of choosing a
code itself, so the mapping cannot drift between routes.  Errors that happen
after a streamed JSON response has started cannot change the status line any
more; ``stream_error_line`` encodes them the way dockerd's streamformatter does,
so the docker CLI prints them instead of seeing a dead connection.
"""

import json

from tugboat import errors

# Most specific first: a subclass of a listed class must come before it.
_STATUS: list[tuple[type[BaseException], int]] = [
    (errors.NotModified, 304),
    (errors.InvalidArgument, 400),
    (errors.Unauthorized, 401),
    (errors.Forbidden, 403),
    (errors.NotFound, 404),
    (errors.Conflict, 409),
    (errors.NotImplementedYet, 501),
    (errors.Unavailable, 503),
]


def status_for(exc: BaseException) -> int:
    """HTTP status for an exception; anything unknown is an internal error (500)."""
    for cls, status in _STATUS:
        if isinstance(exc, cls):
            return status
    return 500


def error_message(exc: BaseException) -> str:
    """What the client sees: the engine's (dockerd-worded) message, else something useful."""
    if isinstance(exc, errors.TugboatError):
        return exc.message
    text = str(exc)
    return text if text else type(exc).__name__


def error_body(message: str) -> bytes:
    """dockerd's error body: ``{"message": "..."}``."""
    return json.dumps({"message": message}).encode() + b"\n"


def stream_error_line(exc: BaseException) -> bytes:
    """A JSON-lines error as dockerd's streamformatter writes it mid-stream."""
    msg = error_message(exc)
    return json.dumps({"errorDetail": {"message": msg}, "error": msg}).encode() + b"\r\n"
