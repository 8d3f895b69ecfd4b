"""Build routes (moby's router/build): POST /build and POST /build/prune.

The handler turns the query into ``BuildOptions`` and hands the body (the context tar,
plain or compressed) to the build service; what the service yields is streamed as
dockerd's JSON progress lines.  A failed step ends the stream with an ``errorDetail``
that carries the RUN's exit code, which the docker CLI exits with."""

import json
from typing import Any

from tugboat.engine.builder import BuildOptions
from tugboat.errors import InvalidArgument, NotImplementedYet
from tugboat.server.errors import error_message
from tugboat.server.request import Request
from tugboat.server.responses import Response, StreamResponse, json_lines, json_response
from tugboat.server.router import Route


def _json_param(req: Request, name: str, kind: type) -> Any:
    raw = req.query_str(name)
    if not raw:
        return kind()
    try:
        val = json.loads(raw)
    except ValueError as e:
        raise InvalidArgument(f"invalid {name} specified: {e}") from None
    if val is None:
        return kind()
    if not isinstance(val, kind):
        raise InvalidArgument(f"invalid {name} specified")
    return val


_INT_PARAMS = {"shmsize": "ShmSize", "memory": "Memory", "memswap": "MemorySwap", "cpushares": "CpuShares",
               "cpuquota": "CpuQuota", "cpuperiod": "CpuPeriod"}
_STR_PARAMS = {"cpusetcpus": "CpusetCpus", "cpusetmems": "CpusetMems", "cgroupparent": "CgroupParent"}


def _host_config(req: Request) -> dict[str, Any]:
    """The RUN containers' resources, as dockerd's build options carry them."""
    hc: dict[str, Any] = {}
    for param, key in _INT_PARAMS.items():
        v = req.query_int(param)
        if v:
            hc[key] = v
    for param, key in _STR_PARAMS.items():
        if req.query_str(param):
            hc[key] = req.query_str(param)
    hosts = [h for h in req.query_list("extrahosts") if h]
    if hosts:
        hc["ExtraHosts"] = hosts
    ulimits = _json_param(req, "ulimits", list)
    if ulimits:
        hc["Ulimits"] = ulimits
    return hc


def _auth_configs(req: Request) -> dict[str, Any]:
    """X-Registry-Config: base64url JSON {registry: AuthConfig} (credentials for FROM pulls)."""
    raw = req.headers.get("X-Registry-Config")
    if not raw:
        return {}
    import base64

    from tugboat.engine.registry.auth import decode_auth_header
    try:
        data = json.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))
    except (ValueError, TypeError):
        return {}   # dockerd ignores an unreadable header too (it logs and builds anonymously)
    if not isinstance(data, dict):
        return {}
    out = {}
    for registry, entry in data.items():
        if isinstance(entry, dict):
            encoded = base64.urlsafe_b64encode(json.dumps(entry).encode()).decode()
            out[str(registry)] = decode_auth_header(encoded)
    return out


def options_from(req: Request) -> BuildOptions:
    build_args = _json_param(req, "buildargs", dict)
    labels = _json_param(req, "labels", dict)
    cache_from = _json_param(req, "cachefrom", list)
    return BuildOptions(
        tags=[t for t in req.query_list("t") if t],
        dockerfile=req.query_str("dockerfile") or "Dockerfile",
        build_args={str(k): (None if v is None else str(v)) for k, v in build_args.items()},
        labels={str(k): str(v) for k, v in labels.items()},
        target=req.query_str("target") or "",
        no_cache=req.query_bool("nocache"),
        rm=req.query_bool("rm", default=True),
        force_rm=req.query_bool("forcerm"),
        pull=req.query_bool("pull"),
        quiet=req.query_bool("q"),
        network_mode=req.query_str("networkmode") or "",
        cache_from=[str(c) for c in cache_from],
        platform=req.query_str("platform") or "",
        remote=req.query_str("remote") or "",
        host_config=_host_config(req),
        auth_configs=_auth_configs(req),
    )


def _error_line(exc: BaseException) -> bytes:
    msg = error_message(exc)
    detail: dict[str, Any] = {"message": msg}
    code = getattr(exc, "code", 0)
    if code:
        detail = {"code": code, "message": msg}
    return json.dumps({"errorDetail": detail, "error": msg}).encode() + b"\r\n"


def build(engine: Any, req: Request) -> StreamResponse:
    if req.query_str("version") == "2":
        raise NotImplementedYet("BuildKit is not supported by tugd; use the classic builder (DOCKER_BUILDKIT=0)")
    items = engine.builds.build(req.body, options_from(req))
    return StreamResponse(chunks=json_lines(items), on_error=_error_line,
                          on_disconnect=getattr(items, "cancel", None))


def prune(engine: Any, req: Request) -> Response:
    return json_response(engine.builds.prune(req.filters(), all=req.query_bool("all")))


ROUTES = [
    Route("POST", "/build", build),
    Route("POST", "/build/prune", prune),
]
