"""The bearer token flow against a real registry: docker-registry with ``auth: token`` and a small
token server of the tests' own.

The token server (a ``http.server`` thread on 127.0.0.1) checks Basic credentials and answers with
a JWT as docker/distribution's token access controller wants it: signed with RS256 by a key whose
self-signed certificate is the registry's ``rootcertbundle``, the certificate in the header's
``x5c``, claims iss/sub/aud/exp/nbf/iat/jti and ``access``.  Anonymous requests get a token that
grants nothing (as Docker Hub does), wrong credentials a 401.  Every request is recorded, so the
tests can count the token round trips a pull makes.
"""

from __future__ import annotations

import base64
import json
import secrets
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from .conftest import DOCKER, TARGET, TUG, run_cmd
from .test_registry import Registry, serve_registry

USER, PASSWORD = "tokenuser", "t0ken-pass"
SERVICE, ISSUER = "test-registry", "test-issuer"
TOKEN_TTL = 300


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@dataclass
class TokenRequest:
    account: str            # "" for anonymous, else the Basic user (checked)
    scopes: list[str]


@dataclass
class TokenServer:
    key: Path               # the signing key (PEM)
    cert_der: bytes         # its self-signed certificate, for x5c
    requests: list[TokenRequest] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    realm: str = ""

    def sign(self, claims: dict) -> str:
        header = {"typ": "JWT", "alg": "RS256", "x5c": [base64.b64encode(self.cert_der).decode()]}
        signing_input = _b64url(json.dumps(header).encode()) + "." + _b64url(json.dumps(claims).encode())
        sig = subprocess.run(["openssl", "dgst", "-sha256", "-sign", str(self.key)], input=signing_input.encode(),
                             capture_output=True, check=True).stdout
        return signing_input + "." + _b64url(sig)

    def issue(self, account: str, scopes: list[str]) -> str:
        access = []
        if account:   # an authenticated user gets what they ask for; anonymous, nothing
            for scope in scopes:
                kind, _, rest = scope.partition(":")
                name, _, actions = rest.rpartition(":")
                if kind == "repository" and name:
                    access.append({"type": kind, "name": name, "actions": actions.split(",")})
        now = int(time.time())
        return self.sign({"iss": ISSUER, "sub": account, "aud": SERVICE, "exp": now + TOKEN_TTL,
                          "nbf": now - 10, "iat": now, "jti": secrets.token_hex(8), "access": access})

    def count(self, scope: str | None = None) -> int:
        with self.lock:
            return sum(1 for r in self.requests if scope is None or scope in r.scopes)


def _handler(server: TokenServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *_: object) -> None:
            pass

        def _reply(self, status: int, obj: dict) -> None:
            body = json.dumps(obj).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            url = urlsplit(self.path)
            if url.path != "/token":
                self._reply(404, {"details": "not found"})
                return
            q = parse_qs(url.query)
            if q.get("service") != [SERVICE]:
                self._reply(400, {"details": "unknown service"})
                return
            account = ""
            authz = self.headers.get("Authorization", "")
            if authz:
                user, _, password = "", "", ""
                if authz.lower().startswith("basic "):
                    user, _, password = base64.b64decode(authz[6:]).decode().partition(":")
                if (user, password) != (USER, PASSWORD):
                    self._reply(401, {"details": "incorrect username or password"})
                    return
                account = user
            scopes = q.get("scope", [])
            with server.lock:
                server.requests.append(TokenRequest(account, scopes))
            tok = server.issue(account, scopes)
            self._reply(200, {"token": tok, "access_token": tok, "expires_in": TOKEN_TTL,
                              "issued_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())})

    return Handler


@dataclass
class TokenRegistry:
    registry: Registry
    tokens: TokenServer


@pytest.fixture(scope="module")
def token_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TokenRegistry]:
    keys = tmp_path_factory.mktemp("tokenkeys")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-subj", "/CN=tugboat-test-token-issuer", "-keyout", str(keys / "token.key"),
                    "-out", str(keys / "token.crt")], check=True, capture_output=True)
    der = subprocess.run(["openssl", "x509", "-in", str(keys / "token.crt"), "-outform", "DER"],
                         check=True, capture_output=True).stdout
    tokens = TokenServer(keys / "token.key", der)
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(tokens))
    tokens.realm = f"http://127.0.0.1:{httpd.server_address[1]}/token"
    thread = threading.Thread(target=httpd.serve_forever, name="token-server", daemon=True)
    thread.start()
    extra = (f"auth:\n  token:\n    realm: {tokens.realm}\n    service: {SERVICE}\n    issuer: {ISSUER}\n"
             f"    rootcertbundle: {keys / 'token.crt'}\n")
    try:
        with serve_registry(tmp_path_factory.mktemp("tokenreg"), extra=extra) as reg:
            yield TokenRegistry(reg, tokens)
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(10)


@pytest.mark.parametrize("client", ["tug", "docker"])
def test_bearer_token_flow(token_registry: TokenRegistry, tugd, tmp_path: Path, token: str, client: str) -> None:
    """login (a token for /v2/), push and pull with the stored credentials through tokens from the
    token server; without credentials the anonymous token grants nothing and the pull is denied
    as dockerd words it."""
    binary = TUG if client == "tug" else DOCKER
    env = {**tugd.env, "DOCKER_CONFIG": str(tmp_path / "cfg")}
    addr = token_registry.registry.addr
    tokens = token_registry.tokens
    path = f"tt{token}/bearer-{client}"
    name = f"{addr}/{path}:1"
    pull_scope = f"repository:{path}:pull"

    def run(*args: str, input: str | None = None) -> subprocess.CompletedProcess:
        return run_cmd([str(binary), *args], env, input=input, timeout=120)

    assert run("tag", "busybox:latest", name).returncode == 0
    try:
        p = run("login", "-u", USER, "--password-stdin", addr, input="wrong\n")
        assert p.returncode == 1 and "unauthorized" in p.stderr, (p.stdout, p.stderr)
        p = run("login", "-u", USER, "--password-stdin", addr, input=PASSWORD + "\n")
        assert p.returncode == 0 and "Login Succeeded" in p.stdout, p.stderr

        before = len(tokens.requests)
        p = run("push", name)
        assert p.returncode == 0 and "1: digest: sha256:" in p.stdout, (p.stdout, p.stderr)
        pushed = tokens.requests[before:]
        assert pushed and all(r.account == USER for r in pushed), pushed
        # tugd asks for "pull,push", dockerd for "push,pull"
        assert any(s.startswith(f"repository:{path}:") and set(s.rsplit(":", 1)[1].split(",")) == {"pull", "push"}
                   for r in pushed for s in r.scopes), pushed

        # a pull: manifest, config and layer requests, all with the one token for the scope
        for round_ in range(2):
            assert run("rmi", name).returncode == 0
            n = tokens.count(pull_scope)
            p = run("pull", name)
            assert p.returncode == 0 and f"Status: Downloaded newer image for {name}" in p.stdout, \
                (round_, p.stdout, p.stderr)
            if TARGET != "docker":
                # tugd caches tokens per scope for one operation (one RegistryClient): exactly one
                # token round trip per pull, whatever the number of blobs
                assert tokens.count(pull_scope) == n + 1, tokens.requests[-4:]
            assert tokens.requests[-1].account == USER

        assert run("logout", addr).returncode == 0
        assert run("rmi", name).returncode == 0
        anon_before = sum(1 for r in tokens.requests if not r.account)
        p = run("pull", name)
        assert p.returncode == 1, (p.stdout, p.stderr)
        assert (f"Error response from daemon: pull access denied for {addr}/{path}, repository does not "
                "exist or may require 'docker login'") in p.stderr, p.stderr
        assert sum(1 for r in tokens.requests if not r.account) > anon_before
    finally:
        run("rmi", "-f", name)
