"""HTTP to one registry: endpoint probing, the auth dance, redirects (stdlib only).

One ``RegistryClient`` per operation (pull, push, login) and registry: it pings ``/v2/``
once to learn the scheme (HTTPS, or plain HTTP for an insecure registry that does not
speak TLS) and the auth challenge, then authorizes every request up front (Basic
credentials or a Bearer token for the request's scope) and retries once after a 401
with a fresh token.  Connections are not pooled: a new one per request keeps the
client usable from several download threads without locking.
"""

from __future__ import annotations

import base64
import http.client
import json
import socket
import ssl
import threading
import time
from collections.abc import Iterable
from typing import Any, BinaryIO
from urllib.parse import urlencode, urljoin, urlsplit

from tugboat.engine.registry.auth import AuthConfig, Challenge, parse_challenges
from tugboat.engine.registry.endpoint import RegistryOptions
from tugboat.engine.registry.errors import RegistryError, RegistryUnauthorized, parse_error_body
from tugboat.errors import TugboatError, Unavailable

USER_AGENT = "tugboat/0.1 (docker-compatible)"
_REDIRECTS = (301, 302, 303, 307, 308)


class HTTPResult:
    """A response whose body may still be streaming; ``close()`` ends the connection."""

    def __init__(self, conn: http.client.HTTPConnection, resp: http.client.HTTPResponse) -> None:
        self._conn = conn
        self.resp = resp
        self.status = resp.status
        self.reason = resp.reason

    def header(self, name: str, default: str = "") -> str:
        return self.resp.getheader(name, default) or default

    def read(self, n: int = -1) -> bytes:
        return self.resp.read() if n < 0 else self.resp.read(n)

    def readable(self) -> bool:
        return True

    def close(self) -> None:
        try:
            self.resp.close()
        finally:
            self._conn.close()

    def __enter__(self) -> HTTPResult:
        return self

    def __exit__(self, *_: Any) -> None:
        self.close()


class RegistryClient:
    def __init__(self, domain: str, options: RegistryOptions | None = None,
                 auth: AuthConfig | None = None, timeout: float = 60, mirror: str | None = None) -> None:
        """``mirror``: a registry-mirrors URL ("http://10.0.0.5:5000") serving ``domain``'s
        repositories; its scheme is used as given, as dockerd does."""
        self.domain = domain
        self.options = options or RegistryOptions()
        self.auth = auth or AuthConfig()
        self.host = self.options.host_for(domain)
        self.insecure = self.options.is_insecure(domain)
        self.timeout = timeout
        self.scheme: str | None = None
        self.mirror = mirror
        if mirror:
            parts = urlsplit(mirror if "://" in mirror else "https://" + mirror)
            self.host = parts.netloc
            self.insecure = self.options.is_insecure(parts.netloc)
            self._schemes = [parts.scheme]
        self.challenge: Challenge | None = None
        self._tokens: dict[str, tuple[str, float]] = {}
        self._lock = threading.Lock()

    # ---- connections ---------------------------------------------------------------

    def _connect(self, scheme: str, host: str) -> http.client.HTTPConnection:
        if scheme == "https":
            ctx = self.options.tls_context(host, verify=not self.insecure)
            return http.client.HTTPSConnection(host, timeout=self.timeout, context=ctx)
        return http.client.HTTPConnection(host, timeout=self.timeout)

    def _raw(self, method: str, url: str, headers: dict[str, str], body: Any = None) -> HTTPResult:
        parts = urlsplit(url)
        conn = self._connect(parts.scheme, parts.netloc)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        hdrs = {"User-Agent": USER_AGENT, **headers}
        try:
            if body is not None and not isinstance(body, bytes | str) and "Content-Length" not in hdrs:
                hdrs["Transfer-Encoding"] = "chunked"
                conn.request(method, path, body=body, headers=hdrs, encode_chunked=True)
            else:
                conn.request(method, path, body=body, headers=hdrs)
            resp = conn.getresponse()
        except BaseException:
            conn.close()
            raise
        return HTTPResult(conn, resp)

    def base(self) -> str:
        if self.scheme is None:
            self.ping()
        return f"{self.scheme}://{self.host}"

    def ping(self) -> None:
        """GET /v2/: picks the scheme and records the auth challenge (dockerd's PingV2Registry)."""
        schemes = ["https", "http"] if self.insecure else ["https"]
        if self.mirror:
            schemes = self._schemes
        last: Exception | None = None
        url = ""
        for scheme in schemes:
            url = f"{scheme}://{self.host}/v2/"
            try:
                with self._raw("GET", f"{scheme}://{self.host}/v2/", {}) as r:
                    r.read()
                    if r.status == 401:
                        self._set_challenge(r.header("WWW-Authenticate"))
                    elif r.status >= 500:
                        raise Unavailable(f"registry {self.domain} answered {r.status} {r.reason}")
                    self.scheme = scheme
                    return
            except (OSError, http.client.HTTPException) as e:
                last = e
                continue
        raise Unavailable(f'Get "{url}": {_describe(last, self.host)}')

    def _set_challenge(self, header: str) -> None:
        for ch in parse_challenges(header or ""):
            if ch.scheme in ("bearer", "basic"):
                self.challenge = ch
                return

    # ---- auth ----------------------------------------------------------------------

    def _authorization(self, scopes: tuple[str, ...], fresh: bool = False) -> str | None:
        ch = self.challenge
        if ch is None:
            return None
        if ch.scheme == "basic":
            basic = self.auth.basic()
            if basic is None:
                raise RegistryUnauthorized(401, [], "no basic auth credentials")
            return basic
        key = " ".join(sorted(scopes))
        with self._lock:
            cached = self._tokens.get(key)
            if cached and not fresh and cached[1] > time.monotonic():
                return "Bearer " + cached[0]
        token, ttl = self._fetch_token(ch, scopes)
        with self._lock:
            self._tokens[key] = (token, time.monotonic() + max(ttl - 5, 1))
        return "Bearer " + token

    def _fetch_token(self, ch: Challenge, scopes: tuple[str, ...]) -> tuple[str, float]:
        """The token server round trip (docker/distribution's token handler)."""
        realm = ch.params.get("realm", "")
        if not realm.startswith(("http://", "https://")):
            raise TugboatError(f"invalid bearer realm {realm!r} from registry {self.domain}")
        service = ch.params.get("service", "")
        all_scopes = [s for s in scopes if s] or ([ch.params["scope"]] if ch.params.get("scope") else [])
        headers: dict[str, str] = {}
        if self.auth.identitytoken:
            form = {"grant_type": "refresh_token", "refresh_token": self.auth.identitytoken,
                    "service": service, "client_id": "docker", "scope": " ".join(all_scopes)}
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            res = self._raw("POST", realm, headers, urlencode(form).encode())
        else:
            q = [("service", service)] if service else []
            q += [("scope", s) for s in all_scopes]
            basic = self.auth.basic()
            if basic:
                headers["Authorization"] = basic
                q.append(("account", self.auth.username))
            sep = "&" if "?" in realm else "?"
            res = self._raw("GET", realm + (sep + urlencode(q) if q else ""), headers)
        with res:
            body = res.read()
            if res.status != 200:
                err = parse_error_body(res.status, body, res.reason)
                if res.status in (401, 403):
                    raise RegistryUnauthorized(401, err.codes, res.reason)
                raise err
        try:
            obj = json.loads(body)
        except ValueError as e:
            raise TugboatError(f"unable to decode token response: {e}") from None
        token = obj.get("token") or obj.get("access_token")
        if not token:
            raise TugboatError("authorization server did not include a token in the response")
        return str(token), float(obj.get("expires_in") or 60)

    # ---- requests ------------------------------------------------------------------

    def request(self, method: str, path: str, scopes: Iterable[str] = (), headers: dict[str, str] | None = None,
                body: Any = None, ok: Iterable[int] = (200,), follow: bool = True) -> HTTPResult:
        """An authorized request; a status outside ``ok`` raises RegistryError (body parsed).
        ``path`` is absolute ("/v2/...") or a full URL (upload locations)."""
        scopes = tuple(scopes)
        url = path if path.startswith(("http://", "https://")) else self.base() + path
        retried = False
        redirects = 0
        hdrs = dict(headers or {})
        while True:
            same_host = urlsplit(url).netloc == self.host
            authz = self._authorization(scopes, fresh=retried) if same_host else None
            h = dict(hdrs)
            if authz:
                h["Authorization"] = authz
            res = self._raw(method, url, h, body)
            if res.status == 401 and same_host and not retried and _replayable(body):
                res.read()
                res.close()
                self._set_challenge(res.header("WWW-Authenticate"))
                retried = True
                continue
            if follow and res.status in _REDIRECTS and method in ("GET", "HEAD") and redirects < 5:
                loc = res.header("Location")
                res.read()
                res.close()
                url = urljoin(url, loc)
                redirects += 1
                continue
            if res.status in tuple(ok):
                return res
            with res:
                data = res.read() if method != "HEAD" else b""
            raise parse_error_body(res.status, data, res.reason)

    def absolute(self, location: str) -> str:
        return urljoin(self.base() + "/", location)


def _describe(e: Exception | None, host: str) -> str:
    """Go's net errors, which scripts match on ("connect: connection refused")."""
    if isinstance(e, ssl.SSLCertVerificationError):
        if "self-signed" in str(e) or "unable to get local issuer" in str(e):
            return "x509: certificate signed by unknown authority"
        return f"x509: {e.verify_message}"
    if isinstance(e, ssl.SSLError) and "WRONG_VERSION_NUMBER" in str(e).upper():
        return "http: server gave HTTP response to HTTPS client"
    if isinstance(e, socket.gaierror):
        return f"dial tcp: lookup {host.rsplit(':', 1)[0]}: no such host"
    if isinstance(e, ConnectionRefusedError):
        return f"dial tcp {host}: connect: connection refused"
    if isinstance(e, TimeoutError):
        return f"dial tcp {host}: i/o timeout"
    if isinstance(e, OSError) and getattr(e, "strerror", None):
        return f"dial tcp {host}: {str(e.strerror).lower()}"
    return str(e) if e else "no endpoint"


def _replayable(body: Any) -> bool:
    return body is None or isinstance(body, bytes | str)


class Repository:
    """One repository (``library/busybox``) on a registry: the calls pull and push make."""

    def __init__(self, client: RegistryClient, path: str, push: bool = False) -> None:
        self.client = client
        self.path = path
        self.scope = f"repository:{path}:pull,push" if push else f"repository:{path}:pull"

    def get_manifest(self, ref: str, accept: Iterable[str]) -> tuple[bytes, str, str]:
        """(body, media type, Docker-Content-Digest header or "")."""
        with self.client.request("GET", f"/v2/{self.path}/manifests/{ref}", [self.scope],
                                 {"Accept": ", ".join(accept)}) as r:
            body = r.read()
            return body, r.header("Content-Type").split(";", 1)[0].strip(), r.header("Docker-Content-Digest")

    def open_blob(self, digest: str) -> HTTPResult:
        return self.client.request("GET", f"/v2/{self.path}/blobs/{digest}", [self.scope])

    def blob_size(self, digest: str) -> int | None:
        """HEAD: the blob's size if the repository has it, None if not."""
        try:
            with self.client.request("HEAD", f"/v2/{self.path}/blobs/{digest}", [self.scope]) as r:
                return int(r.header("Content-Length") or 0)
        except RegistryError as e:
            if e.status == 404:
                return None
            raise

    def mount_blob(self, digest: str, source_path: str) -> str | None:
        """Cross-repository mount; None when mounted, else the upload location the registry
        opened instead (which the caller then uses for a normal upload)."""
        scopes = [self.scope, f"repository:{source_path}:pull"]
        q = urlencode({"mount": digest, "from": source_path})
        with self.client.request("POST", f"/v2/{self.path}/blobs/uploads/?{q}", scopes,
                                 {"Content-Length": "0"}, b"", ok=(201, 202)) as r:
            r.read()
            if r.status == 201:
                return None
            return self.client.absolute(r.header("Location"))

    def start_upload(self) -> str:
        with self.client.request("POST", f"/v2/{self.path}/blobs/uploads/", [self.scope],
                                 {"Content-Length": "0"}, b"", ok=(202,)) as r:
            r.read()
            return self.client.absolute(r.header("Location"))

    def upload(self, location: str, digest: str, src: BinaryIO, size: int, chunk: int,
               on_progress: Any = None) -> None:
        """Monolithic PUT for blobs up to ``chunk`` bytes, else PATCH chunks and a closing PUT."""
        def with_digest(loc: str) -> str:
            return loc + ("&" if "?" in loc else "?") + urlencode({"digest": digest})

        if size <= chunk:
            data = src.read()
            with self.client.request("PUT", with_digest(location), [self.scope],
                                     {"Content-Type": "application/octet-stream",
                                      "Content-Length": str(len(data))}, data, ok=(201, 204)) as r:
                r.read()
            if on_progress:
                on_progress(len(data))
            return
        offset = 0
        while True:
            data = src.read(chunk)
            if not data:
                break
            hdrs = {"Content-Type": "application/octet-stream", "Content-Length": str(len(data)),
                    "Content-Range": f"{offset}-{offset + len(data) - 1}"}
            with self.client.request("PATCH", location, [self.scope], hdrs, data, ok=(202, 204)) as r:
                r.read()
                location = self.client.absolute(r.header("Location") or location)
            offset += len(data)
            if on_progress:
                on_progress(offset)
        with self.client.request("PUT", with_digest(location), [self.scope], {"Content-Length": "0"}, b"",
                                 ok=(201, 204)) as r:
            r.read()

    def put_manifest(self, ref: str, body: bytes, media_type: str) -> str:
        with self.client.request("PUT", f"/v2/{self.path}/manifests/{ref}", [self.scope],
                                 {"Content-Type": media_type, "Content-Length": str(len(body))}, body,
                                 ok=(200, 201, 202)) as r:
            r.read()
            return r.header("Docker-Content-Digest")

    def tags(self) -> list[str]:
        with self.client.request("GET", f"/v2/{self.path}/tags/list", [self.scope]) as r:
            obj = json.loads(r.read() or b"{}")
        return [str(t) for t in obj.get("tags") or []]


def basic_header(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
