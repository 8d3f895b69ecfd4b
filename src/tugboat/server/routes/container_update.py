"""POST /containers/{id}/update (moby's postContainerUpdate): resources and restart policy.

Its own module so that the container route table stays about the lifecycle; like every
route module it parses, calls ONE engine method and encodes.
"""

from typing import Any

from tugboat.errors import InvalidArgument
from tugboat.server.request import Request
from tugboat.server.responses import Response, json_response
from tugboat.server.router import Route


def update(engine: Any, req: Request) -> Response:
    body = req.json("ContainerUpdate") or {}
    if not isinstance(body, dict):
        raise InvalidArgument("invalid update config: expected a JSON object")
    return json_response(engine.containers.update(req.params["id"], body))


ROUTES = [Route("POST", "/containers/{id}/update", update)]
