"""Method + path routing with named parameters, and dockerd's API version handling.

Patterns use gorilla/mux syntax as moby's route tables do: ``{id}`` matches one
path segment, ``{name:.*}`` is greedy so image references with slashes and
colons route like moby (``/images/localhost:5000/ns/app:tag/json``).  Routes are
tried in table order, so literal paths (``/images/json``) come before greedy ones.

Version handling follows moby's api/server/middleware/version.go: an optional
``/v<digits and dots>`` prefix; versions above API_VERSION or below
MIN_API_VERSION are a 400 with dockerd's exact words.  A path that matches a
route only under another method is a 404 "page not found", as dockerd 20.10
answers (moby sets MethodNotAllowedHandler to its not-found handler; checked
against the reference daemon).  ``MethodNotAllowed`` is kept distinct so that a
405 would be a one-line change in server/errors.py.
"""

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from tugboat.api.version import API_VERSION, MIN_API_VERSION
from tugboat.errors import InvalidArgument, NotFound

Handler = Callable[[Any, Any], Any]   # (engine, Request) -> Response | StreamResponse | Hijack

_VERSION_PREFIX = re.compile(r"^/v(?P<version>[0-9.]+)(?P<rest>/.*)$")
_PARAM = re.compile(r"\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?::(?P<regex>[^}]+))?\}")


class MethodNotAllowed(NotFound):
    """A known path under the wrong method: 404 like dockerd 20.10 (see module docstring)."""


PAGE_NOT_FOUND = "page not found"


@dataclass(frozen=True)
class Route:
    method: str
    pattern: str
    handler: Handler

    def compile(self) -> re.Pattern[str]:
        out, pos = [], 0
        for m in _PARAM.finditer(self.pattern):
            out.append(re.escape(self.pattern[pos:m.start()]))
            out.append(f"(?P<{m.group('name')}>{m.group('regex') or '[^/]+'})")
            pos = m.end()
        out.append(re.escape(self.pattern[pos:]))
        return re.compile("^" + "".join(out) + "$")


class Router:
    def __init__(self, routes: Iterable[Route]):
        self._routes = [(r, r.compile()) for r in routes]

    def match(self, method: str, path: str) -> tuple[Route, dict[str, str]]:
        """The route for (method, path) and its parameters; NotFound or MethodNotAllowed."""
        path_known = False
        for route, rx in self._routes:
            m = rx.match(path)
            if m is None:
                continue
            if route.method == method:
                return route, m.groupdict()
            path_known = True
        if path_known:
            raise MethodNotAllowed(PAGE_NOT_FOUND)
        raise NotFound(PAGE_NOT_FOUND)


def split_version(path: str) -> tuple[str | None, str]:
    """('1.41', '/containers/json') for '/v1.41/containers/json'; (None, path) without prefix."""
    m = _VERSION_PREFIX.match(path)
    if m is None:
        return None, path
    return m.group("version"), m.group("rest")


def _version_key(v: str) -> list[int]:
    """moby's versions.compare: dot-separated integers, non-numbers count as 0."""
    out = []
    for part in v.split("."):
        try:
            out.append(int(part))
        except ValueError:
            out.append(0)
    return out


def _less(a: str, b: str) -> bool:
    ka, kb = _version_key(a), _version_key(b)
    n = max(len(ka), len(kb))
    return ka + [0] * (n - len(ka)) < kb + [0] * (n - len(kb))


def check_version(version: str | None) -> str:
    """The negotiated API version for a request, or InvalidArgument as dockerd words it."""
    if version is None or version == "":
        return API_VERSION
    if _less(API_VERSION, version):
        raise InvalidArgument(f"client version {version} is too new. "
                              f"Maximum supported API version is {API_VERSION}")
    if _less(version, MIN_API_VERSION):
        raise InvalidArgument(f"client version {version} is too old. Minimum supported API version "
                              f"is {MIN_API_VERSION}, please upgrade your client to a newer version")
    return version
