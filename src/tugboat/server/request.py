"""The request object handlers see: path parameters, dockerd-compatible query
parsing and a streaming request body.

Query helpers reproduce dockerd's httputils semantics (``BoolValue``,
``filters.FromJSON``) because clients rely on them: docker-py sends ``1``/``0``,
the docker CLI ``true``/``false``, old clients the legacy ``{"k":{"v":true}}``
filter map.  Bad values are ``InvalidArgument`` (400) instead of dockerd's 500.

The body is a file-like object that reads from the socket on demand (sized by
Content-Length or decoded from ``Transfer-Encoding: chunked``, which the docker
CLI uses for ``load``/``import``), so multi-gigabyte image archives are never
held in memory.
"""

import io
import json
from email.message import Message
from typing import Any

from tugboat.errors import InvalidArgument
from tugboat.server.body_types import check_body


class BodyReader(io.RawIOBase):
    """A request body read lazily from the connection's buffered reader."""

    def __init__(self, rfile: io.BufferedIOBase, length: int | None = None, chunked: bool = False):
        self._rfile = rfile
        self._chunked = chunked
        self._remaining = 0 if chunked else (length or 0)   # bytes left in body / current chunk
        self._eof = not chunked and not length
        self._broken = False      # a framing error: the connection can't be reused

    def readable(self) -> bool:
        return True

    @property
    def exhausted(self) -> bool:
        return self._eof

    def _readline(self) -> bytes:
        line = self._rfile.readline(65537)
        if not line.endswith(b"\n"):
            raise InvalidArgument("malformed chunked request body")
        return line

    def _next_chunk(self) -> None:
        size_line = self._readline().split(b";", 1)[0].strip()
        try:
            size = int(size_line, 16)
        except ValueError:
            raise InvalidArgument("malformed chunked request body") from None
        if size < 0:
            raise InvalidArgument("malformed chunked request body")
        if size == 0:
            while self._readline() not in (b"\r\n", b"\n"):   # trailers
                pass
            self._eof = True
        self._remaining = size

    def readinto(self, buf: Any) -> int:
        if self._broken:
            raise InvalidArgument("malformed request body")
        try:
            return self._readinto(buf)
        except (InvalidArgument, OSError):
            self._broken = True
            raise

    def _readinto(self, buf: Any) -> int:
        view = memoryview(buf).cast("B")
        if self._eof or not len(view):
            return 0
        if self._remaining == 0:
            if not self._chunked:
                self._eof = True
                return 0
            self._next_chunk()
            if self._eof:
                return 0
        want = min(len(view), self._remaining)
        data = self._rfile.read1(want) if hasattr(self._rfile, "read1") else self._rfile.read(want)
        if not data:
            raise InvalidArgument("unexpected EOF in request body")
        n = len(data)
        view[:n] = data
        self._remaining -= n
        if self._remaining == 0:
            if self._chunked:
                if self._readline().strip():
                    raise InvalidArgument("malformed chunked request body")
            else:
                self._eof = True
        return n

    def drain(self, limit: int) -> bool:
        """Read and discard the rest (up to ``limit`` bytes) so the connection can be
        reused; False if more was left or the body was malformed."""
        if self._broken:
            return False
        try:
            while limit > 0 and not self._eof:
                got = self.read(min(65536, limit))
                if not got:
                    break
                limit -= len(got)
        except (InvalidArgument, OSError):
            return False
        return self._eof


def parse_bool(value: str | None) -> bool:
    """dockerd's httputils.BoolValue: "", "0", "no", "false", "none" are false, the rest true."""
    if value is None:
        return False
    return value.strip().lower() not in ("", "0", "no", "false", "none")


def parse_filters(raw: str | None) -> dict[str, list[str]]:
    """dockerd's filters.FromJSON: ``{"k":["v"]}`` or legacy ``{"k":{"v":true}}``."""
    if raw is None or raw.strip() == "":
        return {}
    try:
        data = json.loads(raw)
    except ValueError as e:
        raise InvalidArgument(f"invalid filter format: {e}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise InvalidArgument("invalid filter format: expected a JSON object")
    out: dict[str, list[str]] = {}
    for key, val in data.items():
        if isinstance(val, list) and all(isinstance(v, str) for v in val):
            out[key] = list(val)
        elif isinstance(val, dict) and all(isinstance(v, bool) for v in val.values()):
            out[key] = [k for k, on in val.items() if on]
        else:
            raise InvalidArgument(f"invalid filter format for {key!r}")
    return out


class Request:
    """One parsed HTTP request, as routed (path without the /v1.xx prefix)."""

    def __init__(self, method: str, path: str, query: dict[str, list[str]], headers: Message,
                 body: BodyReader, version: str | None = None, params: dict[str, str] | None = None):
        self.method = method
        self.path = path
        self.query = query
        self.headers = headers
        self.body = body
        self.version = version
        self.params: dict[str, str] = params or {}

    # -- query parameters --------------------------------------------------------
    def has_query(self, name: str) -> bool:
        return name in self.query

    def query_str(self, name: str, default: str | None = None) -> str | None:
        vals = self.query.get(name)
        return vals[0] if vals else default

    def query_list(self, name: str) -> list[str]:
        """All values of a repeated parameter (``changes=..&changes=..``)."""
        return list(self.query.get(name, []))

    def query_bool(self, name: str, default: bool = False) -> bool:
        """dockerd BoolValueOrDefault: the default only when the parameter is absent."""
        if name not in self.query:
            return default
        return parse_bool(self.query_str(name))

    def query_int(self, name: str, default: int | None = None) -> int | None:
        """An integer parameter; absent or empty gives ``default``, garbage a 400."""
        raw = self.query_str(name)
        if raw is None or raw.strip() == "":
            return default
        try:
            return int(raw.strip(), 10)
        except ValueError:
            raise InvalidArgument(f'invalid value for "{name}": strconv.Atoi: parsing "{raw}": '
                                  "invalid syntax") from None

    def filters(self, name: str = "filters") -> dict[str, list[str]]:
        return parse_filters(self.query_str(name))

    # -- body ----------------------------------------------------------------------
    def json(self, body_type: str | None = None, required: bool = False,
             empty_message: str = "request body is empty") -> Any:
        """The body as JSON; None when empty (unless ``required``), 400 when malformed or, given
        ``body_type`` (server/body_types.py), when a value has the wrong type for dockerd's struct."""
        raw = self.body.read()
        if not raw or not raw.strip():
            if required:
                raise InvalidArgument(empty_message)
            return None
        try:
            data = json.loads(raw)
        except ValueError as e:
            raise InvalidArgument(f"invalid JSON in request body: {e}") from None
        if body_type is not None:
            check_body(body_type, data)
        return data
