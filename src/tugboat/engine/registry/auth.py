"""Registry credentials: the X-Registry-Auth header, WWW-Authenticate challenges, tokens.

Docker clients send credentials per request (base64url JSON in X-Registry-Auth), the
daemon keeps none.  A registry answers 401 with a challenge: ``Basic realm=...`` wants
the credentials on every request; ``Bearer realm=...,service=...,scope=...`` wants a
token fetched from the realm (with the credentials as Basic auth, if any), which is
cached per scope for as long as it lives.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass

from tugboat.errors import InvalidArgument


@dataclass(frozen=True)
class AuthConfig:
    """types.AuthConfig: what the client sent (all optional)."""

    username: str = ""
    password: str = ""
    serveraddress: str = ""
    identitytoken: str = ""
    registrytoken: str = ""

    @property
    def empty(self) -> bool:
        return not (self.username or self.password or self.identitytoken or self.registrytoken)

    def basic(self) -> str | None:
        """The ``Authorization: Basic`` value, if there are a username and password."""
        if not self.username and not self.password:
            return None
        raw = f"{self.username}:{self.password}".encode()
        return "Basic " + base64.b64encode(raw).decode()


def _b64decode(value: str) -> bytes:
    """base64, URL-safe or standard, with or without padding (clients differ)."""
    s = value.strip().replace("-", "+").replace("_", "/")
    s += "=" * (-len(s) % 4)
    return base64.b64decode(s, validate=True)


def decode_auth_header(value: str | None) -> AuthConfig:
    """registry.DecodeAuthConfig: an empty header means anonymous; a malformed one is a 400
    ("invalid X-Registry-Auth header" as dockerd words it)."""
    if not value:
        return AuthConfig()
    try:
        obj = json.loads(_b64decode(value))
    except (binascii.Error, ValueError) as e:
        raise InvalidArgument(f"invalid X-Registry-Auth header: {e}") from None
    if not isinstance(obj, dict):
        raise InvalidArgument("invalid X-Registry-Auth header: not a JSON object")
    lower = {str(k).lower(): v for k, v in obj.items()}

    def get(key: str) -> str:
        v = lower.get(key)
        return v if isinstance(v, str) else ""

    auth = get("auth")
    user, password = get("username"), get("password")
    if auth and not user:
        try:
            user, _, password = _b64decode(auth).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            pass
    return AuthConfig(user, password, get("serveraddress"), get("identitytoken"), get("registrytoken"))


def encode_auth_header(cfg: AuthConfig) -> str:
    """The inverse (for clients): base64url of the JSON, as the docker CLI sends it."""
    obj = {k: v for k, v in (("username", cfg.username), ("password", cfg.password),
                             ("serveraddress", cfg.serveraddress),
                             ("identitytoken", cfg.identitytoken)) if v}
    return base64.urlsafe_b64encode(json.dumps(obj).encode()).decode()


@dataclass(frozen=True)
class Challenge:
    scheme: str                 # lower case: "basic" | "bearer"
    params: dict[str, str]


def parse_challenges(header: str) -> list[Challenge]:
    """WWW-Authenticate: ``Bearer realm="https://x/token",service="reg",scope="a,b"`` (quoted
    values may hold commas; several challenges may be given, separated by commas too)."""
    out: list[Challenge] = []
    i, n = 0, len(header)
    while i < n:
        while i < n and header[i] in " ,":
            i += 1
        start = i
        while i < n and header[i] not in " ,=":
            i += 1
        token = header[start:i]
        if not token:
            break
        if i < n and header[i] == "=":  # a parameter of the current challenge
            i += 1
            if i < n and header[i] == '"':
                i += 1
                val = []
                while i < n and header[i] != '"':
                    if header[i] == "\\" and i + 1 < n:
                        i += 1
                    val.append(header[i])
                    i += 1
                i += 1
                value = "".join(val)
            else:
                vstart = i
                while i < n and header[i] != ",":
                    i += 1
                value = header[vstart:i].strip()
            if out:
                out[-1].params[token.lower()] = value
            continue
        out.append(Challenge(token.lower(), {}))
    return out
