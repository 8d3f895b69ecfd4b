"""POST /auth (docker login): check credentials against a registry; the daemon keeps none."""

from typing import Any

from tugboat.engine.registry.auth import AuthConfig
from tugboat.errors import InvalidArgument
from tugboat.server.request import Request
from tugboat.server.responses import Response, json_response
from tugboat.server.router import Route


def auth(engine: Any, req: Request) -> Response:
    body = req.json("Auth", required=True)
    if not isinstance(body, dict):
        raise InvalidArgument("invalid JSON in request body: not an object")
    low = {str(k).lower(): v for k, v in body.items()}

    def s(key: str) -> str:
        v = low.get(key)
        return v if isinstance(v, str) else ""

    cfg = AuthConfig(s("username"), s("password"), s("serveraddress"), s("identitytoken"), s("registrytoken"))
    return json_response(engine.images.login(cfg))


ROUTES = [Route("POST", "/auth", auth)]
