"""The registry client and pull/push against an in-process fake registry (no daemon, no network).

The fake speaks just enough of the distribution API (ping, manifests, blobs, uploads, a token
server) to drive the auth dance, digest verification and the pull/push bookkeeping.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import io
import json
import tarfile
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from tugboat.engine.images import ImageService
from tugboat.engine.registry.auth import AuthConfig, decode_auth_header, encode_auth_header, parse_challenges
from tugboat.engine.registry.client import RegistryClient, Repository
from tugboat.engine.registry.endpoint import RegistryOptions
from tugboat.engine.registry.errors import ErrCode, RegistryError, translate_pull_error
from tugboat.engine.registry.manifest import (
    DOCKER_LAYER,
    DOCKER_LIST,
    DOCKER_MANIFEST,
    Platform,
    detect_kind,
    parse_platform,
    schema2_manifest,
    select_platform,
)
from tugboat.engine.registry.progress import bar, human_size
from tugboat.errors import InvalidArgument, NotFound, TugboatError
from tugboat.store.images import ImageStore
from tugboat.store.layers import LayerStore

# ---- pure functions ------------------------------------------------------------------------


def test_parse_bearer_challenge_with_commas_in_quotes() -> None:
    [ch] = parse_challenges('Bearer realm="https://auth.example/token",service="registry.example",'
                            'scope="repository:a/b:pull,push"')
    assert ch.scheme == "bearer"
    assert ch.params == {"realm": "https://auth.example/token", "service": "registry.example",
                         "scope": "repository:a/b:pull,push"}


def test_parse_basic_and_several_challenges() -> None:
    chs = parse_challenges('Basic realm="basic-realm", Bearer realm="http://x/t"')
    assert [c.scheme for c in chs] == ["basic", "bearer"]
    assert chs[0].params["realm"] == "basic-realm"
    assert chs[1].params["realm"] == "http://x/t"


@pytest.mark.parametrize("header", [
    base64.urlsafe_b64encode(b'{"username":"u","password":"p~?>","serveraddress":"r:5000"}').decode(),
    base64.urlsafe_b64encode(b'{"username":"u","password":"p~?>","serveraddress":"r:5000"}').decode().rstrip("="),
    base64.b64encode(b'{"Username":"u","Password":"p~?>","ServerAddress":"r:5000"}').decode(),
])
def test_decode_x_registry_auth(header: str) -> None:
    assert decode_auth_header(header) == AuthConfig("u", "p~?>", "r:5000")


def test_decode_x_registry_auth_empty_and_bad() -> None:
    assert decode_auth_header("e30=").empty
    assert decode_auth_header(None).empty
    assert decode_auth_header(base64.b64encode(b'{"auth":"dTpw"}').decode()).username == "u"
    with pytest.raises(InvalidArgument, match="invalid X-Registry-Auth header"):
        decode_auth_header("%%%")
    cfg = AuthConfig("a", "b", "h")
    assert decode_auth_header(encode_auth_header(cfg)) == cfg


def test_platform_parsing_and_selection() -> None:
    assert parse_platform("", "amd64") == Platform("linux", "amd64")
    assert parse_platform("linux/arm64/v8", "amd64") == Platform("linux", "arm64")
    assert parse_platform("linux/x86_64", "arm64") == Platform("linux", "amd64")
    with pytest.raises(InvalidArgument):
        parse_platform("linux//", "amd64")
    lst = {"manifests": [
        {"digest": "sha256:" + "1" * 64, "size": 1, "mediaType": DOCKER_MANIFEST,
         "platform": {"os": "linux", "architecture": "arm", "variant": "v7"}},
        {"digest": "sha256:" + "2" * 64, "size": 1, "mediaType": DOCKER_MANIFEST,
         "platform": {"os": "linux", "architecture": "arm64", "variant": "v8"}},
        {"digest": "sha256:" + "3" * 64, "size": 1, "mediaType": DOCKER_MANIFEST,
         "platform": {"os": "linux", "architecture": "amd64"}},
    ]}
    assert select_platform(lst, Platform("linux", "amd64"), "x").digest.endswith("3" * 64)
    assert select_platform(lst, Platform("linux", "arm64"), "x").digest.endswith("2" * 64)
    assert select_platform(lst, Platform("linux", "arm", "v7"), "x").digest.endswith("1" * 64)
    with pytest.raises(NotFound, match="no matching manifest for linux/s390x in the manifest list entries"):
        select_platform(lst, Platform("linux", "s390x"), "x")


def test_manifest_kinds_and_schema2_bytes() -> None:
    assert detect_kind(b'{"schemaVersion":1,"name":"x"}', "")[0].endswith("v1+json")
    assert detect_kind(b'{"schemaVersion":2,"manifests":[]}', "application/json")[0].endswith("index.v1+json")
    assert detect_kind(json.dumps({"mediaType": DOCKER_LIST}).encode(), "")[0] == DOCKER_LIST
    body = schema2_manifest("sha256:" + "a" * 64, 10, [("sha256:" + "b" * 64, 20)])
    assert body.startswith(b'{\n   "schemaVersion": 2,\n   "mediaType": "application/vnd.docker.distribution')
    assert body == schema2_manifest("sha256:" + "a" * 64, 10, [("sha256:" + "b" * 64, 20)])


def test_pull_error_translation() -> None:
    e = RegistryError(404, [ErrCode("MANIFEST_UNKNOWN", "manifest unknown")])
    assert str(translate_pull_error(e, "x", "x:1")) == "manifest for x:1 not found: manifest unknown: manifest unknown"
    e = RegistryError(401, [ErrCode("DENIED", "requested access to the resource is denied")])
    assert str(translate_pull_error(e, "x", "x:1")) == (
        "pull access denied for x, repository does not exist or may require 'docker login': "
        "denied: requested access to the resource is denied")
    assert isinstance(translate_pull_error(e, "x", "x:1"), NotFound)


def test_insecure_registries() -> None:
    opts = RegistryOptions(insecure=["myreg:5000", "10.1.0.0/16"])
    assert opts.is_insecure("127.0.0.1:5000") and opts.is_insecure("localhost:5000")
    assert opts.is_insecure("myreg:5000") and opts.is_insecure("10.1.2.3:443")
    assert not opts.is_insecure("docker.io") and not opts.is_insecure("10.2.0.1:5000")
    assert opts.host_for("docker.io") == "registry-1.docker.io"


def test_progress_bar() -> None:
    assert human_size(1_234_567) == "1.235MB"
    assert bar(50, 100).startswith("[" + "=" * 25 + ">" + " " * 25 + "] ")


# ---- a fake registry ---------------------------------------------------------------------


class FakeRegistry:
    def __init__(self, auth: str = "") -> None:
        self.auth = auth                      # "" | "basic" | "bearer"
        self.blobs: dict[str, bytes] = {}
        self.manifests: dict[tuple[str, str], tuple[bytes, str]] = {}
        self.uploads: dict[str, bytes] = {}
        self.token_requests: list[dict[str, list[str]]] = []
        self.tamper: set[str] = set()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.addr = f"127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def add_blob(self, data: bytes) -> str:
        d = "sha256:" + hashlib.sha256(data).hexdigest()
        self.blobs[d] = data
        return d

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        reg = self

        class H(BaseHTTPRequestHandler):
            def log_message(self, *a: Any) -> None:
                pass

            def reply(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
                self.send_response(status)
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            def err(self, status: int, code: str, message: str) -> None:
                self.reply(status, json.dumps({"errors": [{"code": code, "message": message}]}).encode(),
                           {"Content-Type": "application/json"})

            def authorized(self) -> bool:
                got = self.headers.get("Authorization", "")
                if reg.auth == "basic":
                    if got == "Basic " + base64.b64encode(b"me:pw").decode():
                        return True
                    self.reply(401, b"", {"WWW-Authenticate": 'Basic realm="r"'})
                    return False
                if reg.auth == "bearer":
                    if got == "Bearer tok-me":
                        return True
                    self.reply(401, b"", {"WWW-Authenticate":
                                          f'Bearer realm="http://{reg.addr}/token",service="fake"'})
                    return False
                return True

            def do_GET(self) -> None:
                self.route()

            def do_HEAD(self) -> None:
                self.route()

            def do_PUT(self) -> None:
                self.route()

            def do_POST(self) -> None:
                self.route()

            def do_PATCH(self) -> None:
                self.route()

            def route(self) -> None:
                u = urlsplit(self.path)
                q = parse_qs(u.query)
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n) if n else b""
                if u.path == "/token":
                    reg.token_requests.append(q)
                    if self.headers.get("Authorization") != "Basic " + base64.b64encode(b"me:pw").decode():
                        return self.err(401, "UNAUTHORIZED", "bad credentials")
                    return self.reply(200, json.dumps({"token": "tok-me", "expires_in": 300}).encode())
                if not self.authorized():
                    return None
                if u.path == "/v2/":
                    return self.reply(200, b"{}")
                parts = u.path[len("/v2/"):].split("/")
                if len(parts) >= 3 and parts[-2] == "manifests":
                    repo, ref = "/".join(parts[:-2]), parts[-1]
                    if self.command == "PUT":
                        d = "sha256:" + hashlib.sha256(body).hexdigest()
                        ctype = self.headers.get("Content-Type", "")
                        reg.manifests[(repo, ref)] = (body, ctype)
                        reg.manifests[(repo, d)] = (body, ctype)
                        return self.reply(201, b"", {"Docker-Content-Digest": d})
                    if (repo, ref) not in reg.manifests:
                        return self.err(404, "MANIFEST_UNKNOWN", "manifest unknown")
                    data, ctype = reg.manifests[(repo, ref)]
                    return self.reply(200, data, {"Content-Type": ctype})
                if len(parts) >= 3 and parts[-2] == "blobs":
                    d = parts[-1]
                    if d not in reg.blobs:
                        return self.err(404, "BLOB_UNKNOWN", "blob unknown to registry")
                    data = reg.blobs[d]
                    if d in reg.tamper:
                        data = b"X" + data[1:]
                    return self.reply(200, data)
                if "uploads" in parts:
                    if self.command == "POST":
                        uid = str(len(reg.uploads))
                        reg.uploads[uid] = b""
                        return self.reply(202, b"", {"Location": f"/upload/{uid}?_state=s"})
                if u.path.startswith("/upload/"):
                    uid = u.path.rsplit("/", 1)[1]
                    reg.uploads[uid] += body
                    if self.command == "PATCH":
                        return self.reply(202, b"", {"Location": f"/upload/{uid}?_state=t"})
                    data = reg.uploads.pop(uid)
                    d = q["digest"][0]
                    if "sha256:" + hashlib.sha256(data).hexdigest() != d:
                        return self.err(400, "DIGEST_INVALID", "provided digest did not match uploaded content")
                    reg.blobs[d] = data
                    return self.reply(201, b"", {"Docker-Content-Digest": d})
                return self.err(404, "UNSUPPORTED", "not here")

        return H


@pytest.fixture
def fake() -> Iterator[FakeRegistry]:
    reg = FakeRegistry()
    yield reg
    reg.close()


def _layer(content: bytes) -> tuple[bytes, str]:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        ti = tarfile.TarInfo("file.txt")
        ti.size = len(content)
        tf.addfile(ti, io.BytesIO(content))
    raw = buf.getvalue()
    return gzip.compress(raw, mtime=0), "sha256:" + hashlib.sha256(raw).hexdigest()


def _publish(reg: FakeRegistry, repo: str, tag: str, contents: list[bytes]) -> tuple[str, str]:
    """(manifest digest, image id)."""
    layers, diff_ids = [], []
    for c in contents:
        blob, diff = _layer(c)
        layers.append((reg.add_blob(blob), len(blob)))
        diff_ids.append(diff)
    cfg = json.dumps({"architecture": "amd64", "os": "linux", "config": {"Cmd": ["sh"]},
                      "rootfs": {"type": "layers", "diff_ids": diff_ids}}).encode()
    cfg_digest = reg.add_blob(cfg)
    man = schema2_manifest(cfg_digest, len(cfg), layers)
    reg.manifests[(repo, tag)] = (man, DOCKER_MANIFEST)
    return "sha256:" + hashlib.sha256(man).hexdigest(), cfg_digest


def _service(tmp_path: Path) -> ImageService:
    return ImageService(ImageStore(tmp_path / "image"), LayerStore(tmp_path, driver="vfs"))


def test_pull_stores_image_tag_and_repo_digest(fake: FakeRegistry, tmp_path: Path) -> None:
    man_digest, image_id = _publish(fake, "ns/app", "1", [b"one", b"two"])
    svc = _service(tmp_path)
    msgs = list(svc.pull(f"{fake.addr}/ns/app", "1"))
    statuses = [m.get("status") for m in msgs]
    assert statuses[0] == "Pulling from ns/app" and msgs[0]["id"] == "1"
    assert statuses.count("Pull complete") == 2
    assert f"Digest: {man_digest}" in statuses
    assert statuses[-1] == f"Status: Downloaded newer image for {fake.addr}/ns/app:1"
    info = svc.inspect(f"{fake.addr}/ns/app:1")
    assert info["Id"] == image_id
    assert info["RepoDigests"] == [f"{fake.addr}/ns/app@{man_digest}"]
    again = list(svc.pull(f"{fake.addr}/ns/app", "1"))
    assert again[-1]["status"] == f"Status: Image is up to date for {fake.addr}/ns/app:1"
    assert svc.inspect(f"{fake.addr}/ns/app@{man_digest}")["Id"] == image_id


def test_pull_shares_existing_layers(fake: FakeRegistry, tmp_path: Path) -> None:
    _publish(fake, "a", "1", [b"base"])
    _publish(fake, "b", "1", [b"base", b"top"])
    svc = _service(tmp_path)
    list(svc.pull(f"{fake.addr}/a", "1"))
    msgs = list(svc.pull(f"{fake.addr}/b", "1"))
    assert [m["status"] for m in msgs if m.get("id") and m["status"] in ("Already exists", "Pull complete")] == \
        ["Already exists", "Pull complete"]


def test_tampered_layer_fails_and_leaves_nothing(fake: FakeRegistry, tmp_path: Path) -> None:
    _publish(fake, "a", "1", [b"base"])
    svc = _service(tmp_path)
    list(svc.pull(f"{fake.addr}/a", "1"))
    _publish(fake, "b", "1", [b"base", b"evil", b"more"])
    man = json.loads(fake.manifests[("b", "1")][0])
    bad = man["layers"][1]["digest"]
    fake.tamper.add(bad)
    layers_before = {la.chain_id for la in svc.layers.layers()}
    with pytest.raises(TugboatError, match=f"filesystem layer verification failed for digest {bad}"):
        list(svc.pull(f"{fake.addr}/b", "1"))
    assert {la.chain_id for la in svc.layers.layers()} == layers_before
    assert len(svc.list()) == 1
    assert not list((tmp_path / "image" / "tmp").iterdir())


def test_tampered_config_and_manifest_by_digest(fake: FakeRegistry, tmp_path: Path) -> None:
    man_digest, cfg = _publish(fake, "a", "1", [b"base"])
    svc = _service(tmp_path)
    fake.tamper.add(cfg)
    with pytest.raises(TugboatError, match="image config verification failed"):
        list(svc.pull(f"{fake.addr}/a", "1"))
    fake.manifests[("a", man_digest)] = (b" " + fake.manifests[("a", "1")][0], DOCKER_MANIFEST)
    with pytest.raises(TugboatError, match="manifest verification failed"):
        list(svc.pull(f"{fake.addr}/a", man_digest))
    assert svc.list() == []


def test_pull_errors_before_streaming(fake: FakeRegistry, tmp_path: Path) -> None:
    svc = _service(tmp_path)
    with pytest.raises(NotFound, match=f"manifest for {fake.addr}/nope:1 not found: manifest unknown"):
        svc.pull(f"{fake.addr}/nope", "1")
    fake.manifests[("old", "1")] = (b'{"schemaVersion": 1, "name": "old"}',
                                    "application/vnd.docker.distribution.manifest.v1+prettyjws")
    with pytest.raises(InvalidArgument, match="schema 1"):
        svc.pull(f"{fake.addr}/old", "1")


def test_pull_manifest_list_picks_platform(fake: FakeRegistry, tmp_path: Path) -> None:
    amd, _ = _publish(fake, "m", "amd", [b"amd64 layer"])
    arm, arm_id = _publish(fake, "m", "arm", [b"arm64 layer"])
    lst = json.dumps({"schemaVersion": 2, "mediaType": DOCKER_LIST, "manifests": [
        {"mediaType": DOCKER_MANIFEST, "digest": amd, "size": 1, "platform": {"os": "linux", "architecture": "amd64"}},
        {"mediaType": DOCKER_MANIFEST, "digest": arm, "size": 1, "platform": {"os": "linux", "architecture": "arm64"}},
    ]}).encode()
    fake.manifests[("m", "multi")] = (lst, DOCKER_LIST)
    fake.manifests[("m", amd)] = fake.manifests[("m", "amd")]
    fake.manifests[("m", arm)] = fake.manifests[("m", "arm")]
    svc = _service(tmp_path)
    list(svc.pull(f"{fake.addr}/m", "multi", platform="linux/arm64"))
    assert svc.inspect(f"{fake.addr}/m:multi")["Id"] == arm_id
    with pytest.raises(NotFound, match="no matching manifest for linux/ppc64le"):
        svc.pull(f"{fake.addr}/m", "multi", platform="linux/ppc64le")


def test_push_then_repush_is_stable(fake: FakeRegistry, tmp_path: Path) -> None:
    _publish(fake, "src", "1", [b"base", b"top"])
    svc = _service(tmp_path)
    list(svc.pull(f"{fake.addr}/src", "1"))
    svc.tag(f"{fake.addr}/src:1", f"{fake.addr}/dst", "2")
    msgs = list(svc.push(f"{fake.addr}/dst", "2"))
    assert msgs[0]["status"] == f"The push refers to repository [{fake.addr}/dst]"
    aux = [m["aux"] for m in msgs if "aux" in m][0]
    assert aux["Tag"] == "2"
    body, ctype = fake.manifests[("dst", "2")]
    assert ctype == DOCKER_MANIFEST and "sha256:" + hashlib.sha256(body).hexdigest() == aux["Digest"]
    man = json.loads(body)
    assert [la["mediaType"] for la in man["layers"]] == [DOCKER_LAYER, DOCKER_LAYER]
    again = list(svc.push(f"{fake.addr}/dst", "2"))
    assert [m["aux"] for m in again if "aux" in m][0]["Digest"] == aux["Digest"]
    assert sum(1 for m in again if m.get("status") == "Layer already exists") == 2


def test_push_of_missing_tag_is_a_stream_error(tmp_path: Path) -> None:
    svc = _service(tmp_path)
    it = svc.push("127.0.0.1:9/none", "1")
    assert next(it)["status"] == "The push refers to repository [127.0.0.1:9/none]"
    with pytest.raises(NotFound, match="An image does not exist locally with the tag: 127.0.0.1:9/none"):
        next(it)


@pytest.mark.parametrize("scheme", ["basic", "bearer"])
def test_auth_dance(scheme: str) -> None:
    reg = FakeRegistry(auth=scheme)
    try:
        reg.manifests[("p/q", "1")] = (b'{"schemaVersion":2}', DOCKER_MANIFEST)
        anon = Repository(RegistryClient(reg.addr), "p/q")
        with pytest.raises(RegistryError) as ei:
            anon.get_manifest("1", [DOCKER_MANIFEST])
        assert ei.value.status == 401
        repo = Repository(RegistryClient(reg.addr, auth=AuthConfig("me", "pw")), "p/q")
        assert repo.get_manifest("1", [DOCKER_MANIFEST])[0] == b'{"schemaVersion":2}'
        assert repo.get_manifest("1", [DOCKER_MANIFEST])[0] == b'{"schemaVersion":2}'
        if scheme == "bearer":
            ok = [q for q in reg.token_requests if q.get("account") == ["me"]]
            assert len(ok) == 1          # cached for the scope
            assert ok[0]["scope"] == ["repository:p/q:pull"] and ok[0]["service"] == ["fake"]
    finally:
        reg.close()


def test_login(tmp_path: Path) -> None:
    reg = FakeRegistry(auth="basic")
    try:
        svc = _service(tmp_path)
        assert svc.login(AuthConfig("me", "pw", reg.addr))["Status"] == "Login Succeeded"
        with pytest.raises(TugboatError, match="login attempt to http://.*/v2/ failed with status: 401"):
            svc.login(AuthConfig("me", "wrong", reg.addr))
    finally:
        reg.close()


def test_push_large_layer_in_chunks(fake: FakeRegistry, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    from tugboat.engine import image_push
    monkeypatch.setattr(image_push, "UPLOAD_CHUNK", 1000)
    _publish(fake, "src", "1", [os.urandom(5000)])
    svc = _service(tmp_path)
    list(svc.pull(f"{fake.addr}/src", "1"))
    svc.tag(f"{fake.addr}/src:1", "127.0.0.1:1/elsewhere", "1")   # no metadata for this registry
    svc.tag(f"{fake.addr}/src:1", f"{fake.addr}/big", "1")
    svc.distribution._data.clear()                                 # forget the pulled digests
    msgs = list(svc.push(f"{fake.addr}/big", "1"))
    pushing = [m for m in msgs if m.get("status") == "Pushing"]
    assert len(pushing) >= 5 and msgs[-2]["status"].startswith("1: digest: sha256:")
    man = json.loads(fake.manifests[("big", "1")][0])
    assert man["layers"][0]["digest"] in fake.blobs


def test_pull_cancelled_by_the_client_does_not_break(fake: FakeRegistry, tmp_path: Path) -> None:
    _publish(fake, "a", "1", [b"x" * 10, b"y" * 10])
    svc = _service(tmp_path)
    it = svc.pull(f"{fake.addr}/a", "1")
    next(it)
    it.close()                       # the client went away after the first line
    import time
    for _ in range(100):
        if not list((tmp_path / "image" / "tmp").iterdir()):
            break
        time.sleep(0.05)
    svc._prune_layers()
    assert svc.list() == [] or svc.inspect(f"{fake.addr}/a:1")


def test_pull_with_the_same_blob_twice(fake: FakeRegistry, tmp_path: Path) -> None:
    """Old images repeat one (empty) layer blob; it is downloaded once and registered twice."""
    _publish(fake, "dup", "1", [b"same", b"other", b"same"])
    svc = _service(tmp_path)
    msgs = list(svc.pull(f"{fake.addr}/dup", "1"))
    assert sum(1 for m in msgs if m.get("status") == "Pulling fs layer") == 2
    assert sum(1 for m in msgs if m.get("status") == "Pull complete") == 3
    assert len(svc.layers.layers()) == 3


def test_docker_io_pulls_go_to_registry_mirrors_first(fake: FakeRegistry, tmp_path: Path) -> None:
    man_digest, image_id = _publish(fake, "library/mirrored", "1", [b"from the mirror"])
    svc = _service(tmp_path)
    svc.configure_registries({"registry-mirrors": [f"http://{fake.addr}"]})
    msgs = list(svc.pull("mirrored", "1"))
    assert msgs[0] == {"status": "Pulling from library/mirrored", "id": "1"}
    assert msgs[-1]["status"] == "Status: Downloaded newer image for mirrored:1"
    assert svc.inspect("mirrored:1")["RepoDigests"] == [f"mirrored@{man_digest}"]
    with pytest.raises(TugboatError, match="registry-1.docker.io"):   # not on the mirror: the real one
        svc.pull("notmirrored", "1")


def test_platform_mismatch_of_a_single_platform_image(fake: FakeRegistry, tmp_path: Path) -> None:
    _publish(fake, "one", "1", [b"amd64 only"])
    svc = _service(tmp_path)
    with pytest.raises(InvalidArgument, match="does not match the specified platform: wanted linux/arm64, "
                                              "actual: linux/amd64"):
        list(svc.pull(f"{fake.addr}/one", "1", platform="linux/arm64"))
    assert svc.list() == []
    list(svc.pull(f"{fake.addr}/one", "1", platform="linux/amd64"))
