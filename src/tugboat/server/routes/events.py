"""GET /events (moby's router/system getEvents): replay of the buffered past, then live.

``since``/``until`` are Docker timestamps ("seconds[.nanos]", what the CLI sends, or
RFC 3339 / durations); an ``until`` in the past ends the stream after the replay, a
future one ends it when reached.  Messages are JSON documents, one per line, flushed
as they happen.
"""

import json
import time
from collections.abc import Iterator
from typing import Any

from tugboat.api.timefmt import now_ns, parse_since
from tugboat.errors import InvalidArgument
from tugboat.server.request import Request
from tugboat.server.responses import StreamResponse
from tugboat.server.router import Route

_POLL = 0.25


def _time(req: Request, name: str) -> int:
    raw = req.query_str(name) or ""
    if not raw:
        return 0
    try:
        return parse_since(raw)
    except (ValueError, OverflowError):
        raise InvalidArgument(f"invalid value for {name}: {raw}") from None


def events(engine: Any, req: Request) -> StreamResponse:
    since, until = _time(req, "since"), _time(req, "until")
    if until and until < since:
        raise InvalidArgument(f"`since` time ({req.query_str('since')}) cannot be after "
                              f"`until` time ({req.query_str('until')})")
    filters = req.filters()
    only_past = bool(until) and until < now_ns()
    gone: list[bool] = []

    def body() -> Iterator[bytes]:
        # subscribed only once the headers are out, so that a response never sent leaves no
        # subscription behind (the generator's finally would not run)
        past, sub = engine.events.subscribe(since, until, filters)
        try:
            for msg in past:
                yield json.dumps(msg).encode() + b"\n"
            if only_past:
                return
            while not gone:
                if until and time.time_ns() >= until:
                    return
                msg = sub.get(timeout=_POLL)
                if msg is not None:
                    yield json.dumps(msg).encode() + b"\n"
        finally:
            sub.close()

    return StreamResponse(body(), content_type="application/json", prefetch=False,
                          on_disconnect=lambda: gone.append(True))


ROUTES = [Route("GET", "/events", events)]
