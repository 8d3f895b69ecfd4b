"""docker login (POST /auth) and docker search (GET /images/search).

Login only checks the credentials against the registry's ``/v2/`` (dockerd's loginV2): the
daemon stores nothing, the client keeps them in its config.json.  Search uses the registry's
v1 search endpoint (Docker Hub's index has one; distribution registries do not, which is a
clear error instead of an empty list).
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

from tugboat.engine.reference import split_docker_domain
from tugboat.engine.registry.auth import AuthConfig
from tugboat.engine.registry.client import RegistryClient
from tugboat.engine.registry.endpoint import DOCKER_IO, RegistryOptions
from tugboat.engine.registry.errors import RegistryError
from tugboat.errors import InvalidArgument, TugboatError, Unauthorized

_HUB_ALIASES = {"", "docker.io", "index.docker.io", "registry-1.docker.io", "https://index.docker.io/v1/",
                "https://index.docker.io/v1", "https://registry-1.docker.io"}


def server_domain(address: str) -> str:
    """A login server address -> the registry's domain (scheme and path dropped)."""
    if address in _HUB_ALIASES:
        return DOCKER_IO
    s = address.removeprefix("https://").removeprefix("http://")
    return s.split("/", 1)[0]


def login(options: RegistryOptions, auth: AuthConfig) -> dict[str, str]:
    domain = server_domain(auth.serveraddress)
    client = RegistryClient(domain, options, auth)
    client.ping()
    endpoint = f"{client.scheme}://{client.host}/v2/"
    if client.challenge is None:
        return {"Status": "Login Succeeded", "IdentityToken": ""}
    try:
        with client.request("GET", "/v2/", (), ok=(200,)) as r:
            r.read()
    except RegistryError as e:
        if e.status == 401:
            if client.challenge.scheme == "basic":
                raise Unauthorized(f"login attempt to {endpoint} failed with status: 401 Unauthorized") from None
            raise Unauthorized(f'Get "{endpoint}": {e}') from None
        raise
    return {"Status": "Login Succeeded", "IdentityToken": ""}


def _filters(filters: dict[str, list[str]]) -> tuple[int, bool | None, bool | None]:
    for key in filters:
        if key not in ("stars", "is-automated", "is-official"):
            raise InvalidArgument(f"Invalid filter '{key}'")
    stars = 0
    for v in filters.get("stars", []):
        try:
            stars = max(stars, int(v))
        except ValueError:
            raise InvalidArgument(f"Invalid filter 'stars={v}'") from None

    def flag(key: str) -> bool | None:
        vals = filters.get(key) or []
        for v in vals:
            if v not in ("true", "false", "1", "0"):
                raise InvalidArgument(f"Invalid filter '{key}={v}'")
        return (vals[-1] in ("true", "1")) if vals else None

    return stars, flag("is-automated"), flag("is-official")


def search(options: RegistryOptions, term: str, limit: int | None, filters: dict[str, list[str]],
           auth: AuthConfig) -> list[dict[str, Any]]:
    """registry.Service.Search: the term's domain picks the index ("localhost:5000/foo")."""
    if limit is not None and not 1 <= limit <= 100:
        raise InvalidArgument(f"Limit {limit} is outside the range of [1, 100]")
    stars, automated, official = _filters(filters)
    domain, remote = split_docker_domain(term) if "/" in term else (DOCKER_IO, term)
    if domain == DOCKER_IO:
        remote = remote.removeprefix("library/")
        host = "index.docker.io"
    else:
        host = domain
    client = RegistryClient(host if domain == DOCKER_IO else domain, options, auth)
    client.host = host
    q = urlencode({"q": remote, "n": str(limit or 25)})
    try:
        with client.request("GET", f"/v1/search?{q}") as r:
            body = r.read()
    except RegistryError as e:
        raise TugboatError(f"Unexpected status code {e.status}") from None
    try:
        results = json.loads(body).get("results") or []
    except (ValueError, AttributeError) as e:
        raise TugboatError(f"invalid search response: {e}") from None
    out = []
    for item in results:
        if not isinstance(item, dict):
            continue
        if int(item.get("star_count") or 0) < stars:
            continue
        if automated is not None and bool(item.get("is_automated")) != automated:
            continue
        if official is not None and bool(item.get("is_official")) != official:
            continue
        out.append({"star_count": int(item.get("star_count") or 0), "is_official": bool(item.get("is_official")),
                    "name": str(item.get("name", "")), "is_automated": bool(item.get("is_automated")),
                    "description": str(item.get("description", ""))})
    return out[:limit] if limit else out
