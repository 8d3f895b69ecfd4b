"""The docker CLI's config.json credentials ("auths"), shared with docker itself.

$DOCKER_CONFIG (default ~/.docker) holds config.json; ``auths`` maps a server
("https://index.docker.io/v1/" for Docker Hub, else host[:port]) to {"auth": base64(user:pass)}
or {"identitytoken": ...}.  Credential helpers (credsStore) are not supported: entries there
are ignored, so a pull is then anonymous.  The X-Registry-Auth header sent with pull/push is
the base64url JSON of the entry, or "e30=" ({}) when there is none, as the docker CLI sends.
"""

from __future__ import annotations

import base64
import json
import os

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

HUB = "https://index.docker.io/v1/"
EMPTY = "e30="


def config_dir() -> str:
    return os.environ.get("DOCKER_CONFIG") or os.path.join(os.path.expanduser("~"), ".docker")


def config_path() -> str:
    return os.path.join(config_dir(), "config.json")


def load() -> dict[str, Any]:
    try:
        with open(config_path()) as f:
            obj = json.load(f)
        return obj if isinstance(obj, dict) else {}
    except (OSError, ValueError):
        return {}


def save(obj: dict[str, Any]) -> None:
    d = config_dir()
    os.makedirs(d, mode=0o700, exist_ok=True)
    tmp = config_path() + ".tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(obj, f, indent="\t")
    os.replace(tmp, config_path())


def server_key(server: str | None) -> str:
    """The "auths" key for a server given to login/logout, or a registry domain."""
    if not server or server in ("docker.io", "index.docker.io", "registry-1.docker.io", HUB,
                                "https://index.docker.io/v1", "https://registry-1.docker.io"):
        return HUB
    s = server.removeprefix("https://").removeprefix("http://")
    return s.rstrip("/")


def registry_of(image: str) -> str:
    """The domain part of an image reference, as reference.ParseNormalizedNamed splits it."""
    first, sep, _rest = image.partition("/")
    if sep and ("." in first or ":" in first or first == "localhost"):
        return first
    return "docker.io"


def credentials(server_or_image_domain: str) -> dict[str, str]:
    key = server_key(server_or_image_domain)
    auths = load().get("auths") or {}
    entry = auths.get(key)
    if entry is None and key != HUB:
        for k, v in auths.items():
            if server_key(k) == key:
                entry = v
                break
    if not isinstance(entry, dict):
        return {}
    out: dict[str, str] = {"serveraddress": key}
    if entry.get("auth"):
        try:
            user, _, pw = base64.b64decode(entry["auth"]).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            return {}
        out.update(username=user, password=pw)
    if entry.get("identitytoken"):
        out["identitytoken"] = entry["identitytoken"]
    return out


def encode(cfg: dict[str, str]) -> str:
    if not cfg:
        return EMPTY
    return base64.urlsafe_b64encode(json.dumps(cfg).encode()).decode()


def header_for_image(image: str) -> str:
    return encode(credentials(registry_of(image)))


def store(server: str, username: str, password: str, identitytoken: str = "") -> None:
    obj = load()
    auths = obj.setdefault("auths", {})
    entry: dict[str, str] = {"auth": base64.b64encode(f"{username}:{password}".encode()).decode()}
    if identitytoken:
        entry = {"auth": "", "identitytoken": identitytoken}
    auths[server_key(server)] = entry
    save(obj)


def erase(server: str) -> bool:
    obj = load()
    auths = obj.get("auths") or {}
    key = server_key(server)
    if key not in auths:
        return False
    del auths[key]
    save(obj)
    return True
