"""Pull and push against a real registry: Debian's docker-registry (distribution 2.8) on 127.0.0.1.

The ``registry`` fixture runs ``/usr/bin/docker-registry serve`` with its storage in a temporary
directory on a free port (loopback, so plain HTTP is allowed as dockerd allows it), and stops it
and removes everything afterwards.  Images pushed there carry this session's token in their names.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import shutil
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from .conftest import TARGET, TUG, run_cmd

# tests that look inside tugd (its data root, its daemon.json) cannot run against Docker
tugd_only = pytest.mark.skipif(TARGET == "docker", reason="looks at tugd's data root or daemon.json")

REGISTRY_BIN = "/usr/bin/docker-registry"


@dataclass
class Registry:
    addr: str           # "127.0.0.1:PORT"
    root: Path          # its storage root directory
    proc: subprocess.Popen

    def blob_data(self, digest: str) -> Path:
        hexd = digest.split(":", 1)[1]
        return self.root / "docker/registry/v2/blobs/sha256" / hexd[:2] / hexd / "data"

    def get_json(self, path: str, accept: str = "") -> dict:
        req = urllib.request.Request(f"http://{self.addr}{path}", headers={"Accept": accept} if accept else {})
        with urllib.request.urlopen(req, timeout=10) as r:
            return json.loads(r.read())


def _free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def serve_registry(base: Path, host: str = "127.0.0.1", tls: bool = False,
                   htpasswd: Path | None = None, extra: str = "") -> Iterator[Registry]:
    """Run docker-registry with storage under ``base`` on host:<free port>; TLS with base's
    server.crt/server.key if asked, basic auth from an htpasswd file if given; ``extra``: more
    top-level configuration (YAML), e.g. a token ``auth:`` section."""
    if not os.path.exists(REGISTRY_BIN):
        pytest.fail(f"{REGISTRY_BIN} is missing: apt-get install docker-registry")
    root = base / "storage"
    root.mkdir()
    port = _free_port(host)
    text = f"""version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: {root}
  delete:
    enabled: true
http:
  addr: {host}:{port}
"""
    if tls:
        text += f"  tls:\n    certificate: {base / 'server.crt'}\n    key: {base / 'server.key'}\n"
    if htpasswd:
        text += f"auth:\n  htpasswd:\n    realm: basic-realm\n    path: {htpasswd}\n"
    text += extra
    cfg = base / "config.yml"
    cfg.write_text(text)
    log = open(base / "registry.log", "wb")
    proc = subprocess.Popen([REGISTRY_BIN, "serve", str(cfg)], stdout=log, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL, start_new_session=True)
    reg = Registry(f"{host}:{port}", root, proc)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                with socket.create_connection((host, port), timeout=1):
                    break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"registry did not start: {(base / 'registry.log').read_text()}") from None
                time.sleep(0.1)
        yield reg
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    with serve_registry(tmp_path_factory.mktemp("registry")) as reg:
        yield reg


def _rmi(cli, *refs: str) -> None:
    for r in refs:
        cli("rmi", "-f", r)


def test_push_remove_pull_run(registry: Registry, tug, token: str) -> None:
    name = f"{registry.addr}/tt{token}/bb:v1"
    tug("tag", "busybox:latest", name, check=True)
    try:
        p = tug("push", name, check=True, timeout=120)
        assert f"The push refers to repository [{registry.addr}/tt{token}/bb]" in p.stdout
        assert "v1: digest: sha256:" in p.stdout
        digest = p.stdout.split("v1: digest: ")[1].split()[0]
        again = tug("push", name, check=True)
        assert "Layer already exists" in again.stdout
        assert f"v1: digest: {digest}" in again.stdout       # stable re-push
        tags = registry.get_json(f"/v2/tt{token}/bb/tags/list")
        assert tags["tags"] == ["v1"]
        tug("rmi", name, check=True)
        p = tug("pull", name, check=True, timeout=120)
        assert "Pulling from" in p.stdout and f"Digest: {digest}" in p.stdout
        assert f"Status: Image is up to date for {name}" in p.stdout or \
            f"Status: Downloaded newer image for {name}" in p.stdout
        info = json.loads(tug("image", "inspect", name, check=True).stdout)[0]
        assert f"{registry.addr}/tt{token}/bb@{digest}" in info["RepoDigests"]
        out = tug("run", "--rm", name, "echo", "hello from the registry", check=True)
        assert out.stdout == "hello from the registry\n"
        listing = tug("images", "--digests", f"{registry.addr}/tt{token}/bb", check=True).stdout
        assert digest in listing
    finally:
        _rmi(tug, name, f"{registry.addr}/tt{token}/bb@sha256:0")


def test_run_pulls_a_missing_image(registry: Registry, cli, token: str) -> None:
    name = f"{registry.addr}/tt{token}/run-{cli.name}:1"
    cli("tag", "busybox:latest", name, check=True)
    try:
        cli("push", name, check=True)
        cli("rmi", name, check=True)
        p = cli("run", "--rm", name, "echo", "pulled")
        assert p.returncode == 0, p.stderr
        assert f"Unable to find image '{name}' locally" in p.stderr
        assert p.stdout == "pulled\n"
        p = cli("run", "--rm", "--pull", "never", f"{registry.addr}/tt{token}/absent:1", "true")
        assert p.returncode == 125 and "No such image" in p.stderr, p.stderr
        p = cli("run", "--rm", "--pull", "always", name, "true")
        assert p.returncode == 0 and "Image is up to date" in p.stderr, p.stderr
    finally:
        _rmi(cli, name)


def test_fresh_pull_downloads_layers(registry: Registry, tug, token: str) -> None:
    """A pull into an engine without busybox's layers: from another tag's content (an image of
    its own, made by import, so no layer is shared)."""
    name = f"{registry.addr}/tt{token}/fresh:1"
    tar = _tiny_rootfs_tar()
    tug("import", "-", name, input=tar, check=True)
    try:
        tug("push", name, check=True)
        tug("rmi", name, check=True)
        p = tug("pull", name, check=True)
        assert "Pull complete" in p.stdout, p.stdout
        assert f"Status: Downloaded newer image for {name}" in p.stdout
        p = tug("pull", name, check=True)
        assert f"Status: Image is up to date for {name}" in p.stdout
    finally:
        _rmi(tug, name)


def _tiny_rootfs_tar() -> bytes:
    import io
    import tarfile
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        data = os.urandom(4096)
        ti = tarfile.TarInfo("hello.bin")
        ti.size = len(data)
        tf.addfile(ti, io.BytesIO(data))
    return buf.getvalue()


def test_pull_missing_tag_and_repo(registry: Registry, cli, token: str) -> None:
    """distribution 2.8 answers MANIFEST_UNKNOWN for a repository it does not know, too."""
    p = cli("pull", f"{registry.addr}/tt{token}/nothere:1")
    assert p.returncode == 1
    assert (f"Error response from daemon: manifest for {registry.addr}/tt{token}/nothere:1 not found: "
            "manifest unknown: manifest unknown") in p.stderr, p.stderr
    name = f"{registry.addr}/tt{token}/exists:1"
    cli("tag", "busybox:latest", name, check=True)
    try:
        cli("push", name, check=True)
        p = cli("pull", f"{registry.addr}/tt{token}/exists:nope")
        assert p.returncode == 1
        assert (f"Error response from daemon: manifest for {registry.addr}/tt{token}/exists:nope not found: "
                "manifest unknown: manifest unknown") in p.stderr, p.stderr
    finally:
        _rmi(cli, name)


@tugd_only
def test_tampered_blob_fails_and_leaves_nothing(registry: Registry, tug, tugd, token: str) -> None:
    name = f"{registry.addr}/tt{token}/tamper:1"
    tug("import", "-", name, input=_tiny_rootfs_tar(), check=True)
    tug("push", name, check=True)
    manifest = registry.get_json(f"/v2/tt{token}/tamper/manifests/1",
                                 "application/vnd.docker.distribution.manifest.v2+json")
    layer = manifest["layers"][0]["digest"]
    tug("rmi", name, check=True)
    before = tug("images", "-a", "-q", "--no-trunc", check=True).stdout
    data = registry.blob_data(layer)
    good = data.read_bytes()
    data.write_bytes(bytes([good[0] ^ 0xFF]) + good[1:])
    try:
        p = tug("pull", name)
        assert p.returncode != 0
        assert f"filesystem layer verification failed for digest {layer}" in p.stderr, p.stderr
        assert tug("images", "-a", "-q", "--no-trunc", check=True).stdout == before
        assert tug("image", "inspect", name).returncode != 0
        layerdb = list((tugd.data_root).glob("*/layerdb/sha256/*"))
        diff_ids = []
        for d in layerdb:
            diff_ids.append(json.loads((d / "layer.json").read_text())["diff_id"])
        cfg = registry.get_json(f"/v2/tt{token}/tamper/blobs/{manifest['config']['digest']}")
        assert cfg["rootfs"]["diff_ids"][0] not in diff_ids
        assert not list(tugd.data_root.glob("image/tmp/pull-*"))
    finally:
        data.write_bytes(good)
        _rmi(tug, name)


def test_docker_py_pull_push(registry: Registry, dclient, token: str) -> None:
    name = f"{registry.addr}/tt{token}/dpy"
    img = dclient.images.get("busybox:latest")
    img.tag(name, "t1")
    try:
        out = dclient.images.push(name, tag="t1", stream=True, decode=True)
        items = list(out)
        aux = [i["aux"] for i in items if "aux" in i]
        assert aux and aux[0]["Tag"] == "t1" and aux[0]["Digest"].startswith("sha256:")
        dclient.images.remove(f"{name}:t1")
        pulled = dclient.images.pull(name, tag="t1")
        assert pulled.id == img.id
        assert any(d.startswith(f"{name}@sha256:") for d in pulled.attrs["RepoDigests"])
    finally:
        for ref in (f"{name}:t1",):
            try:
                dclient.images.remove(ref, force=True)
            except Exception:  # noqa: BLE001
                pass


def test_pull_all_tags(registry: Registry, tug, token: str) -> None:
    repo = f"{registry.addr}/tt{token}/multi"
    for t in ("a", "b"):
        tug("tag", "busybox:latest", f"{repo}:{t}", check=True)
    try:
        tug("push", "--all-tags", repo, check=True)
        _rmi(tug, f"{repo}:a", f"{repo}:b")
        p = tug("pull", "-a", repo, check=True)
        assert f"Status: Image is up to date for {repo}" in p.stdout or "Downloaded newer image" in p.stdout
        names = tug("images", "--format", "{{.Repository}}:{{.Tag}}", repo, check=True).stdout.split()
        assert sorted(names) == [f"{repo}:a", f"{repo}:b"]
    finally:
        _rmi(tug, f"{repo}:a", f"{repo}:b")


@pytest.mark.slow
def test_interop_with_docker_engine(registry: Registry, tug, docker_engine, token: str) -> None:
    """Docker pushes, tugd pulls; tugd pushes, Docker pulls (Docker allows 127.0.0.1 over HTTP)."""
    from_docker = f"{registry.addr}/tt{token}/fromdocker:1"
    from_tug = f"{registry.addr}/tt{token}/fromtug:1"
    docker_engine.cli("tag", "busybox:latest", from_docker, check=True)
    tug("tag", "busybox:latest", from_tug, check=True)
    try:
        docker_engine.cli("push", from_docker, check=True)
        p = tug("pull", from_docker, check=True)
        assert "Digest: sha256:" in p.stdout
        assert tug("run", "--rm", from_docker, "true").returncode == 0
        tug("push", from_tug, check=True)
        p = docker_engine.cli("pull", from_tug, check=True)
        assert "Digest: sha256:" in p.stdout
        out = docker_engine.cli("run", "--rm", "--network", "none", from_tug, "echo", "ok", check=True)
        assert out.stdout == "ok\n"
    finally:
        for r in (from_docker, from_tug):
            docker_engine.cli("rmi", "-f", r)
        _rmi(tug, from_docker, from_tug)


def test_login_and_auth_endpoint(registry: Registry, tugd, tmp_path: Path) -> None:
    """An open registry accepts any login (dockerd answers Login Succeeded too)."""
    env = {**tugd.env, "DOCKER_CONFIG": str(tmp_path)}
    p = run_cmd([str(TUG), "login", "-u", "me", "--password-stdin", registry.addr], env, input="secret\n")
    assert p.returncode == 0, p.stderr
    assert "Login Succeeded" in p.stdout
    auths = json.loads((tmp_path / "config.json").read_text())["auths"]
    assert base64.b64decode(auths[registry.addr]["auth"]).decode() == "me:secret"
    p = run_cmd([str(TUG), "logout", registry.addr], env)
    assert p.returncode == 0
    assert registry.addr not in json.loads((tmp_path / "config.json").read_text()).get("auths", {})


def test_search_without_v1_endpoint(registry: Registry, tug) -> None:
    p = tug("search", f"{registry.addr}/busybox")
    assert p.returncode == 1
    assert "Error response from daemon: Unexpected status code 404" in p.stderr


# ---- a registry with basic auth over TLS ------------------------------------------------------

USER, PASSWORD = "tug", "s3cret"


def _bcrypt(password: str) -> str:
    """A bcrypt hash for htpasswd (the registry accepts bcrypt only): the stdlib crypt module
    (Python <= 3.12, libxcrypt), else apache2-utils' htpasswd."""
    import warnings
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            import crypt
        return crypt.crypt(password, crypt.mksalt(crypt.METHOD_BLOWFISH))
    except (ImportError, AttributeError):
        if not shutil.which("htpasswd"):
            pytest.fail("no bcrypt: install apache2-utils (htpasswd) on Python >= 3.13")
        out = subprocess.run(["htpasswd", "-nbB", "x", password], capture_output=True, text=True, check=True)
        return out.stdout.strip().split(":", 1)[1]


def _make_certs(d: Path, ip: str) -> None:
    def ssl(*args: str) -> None:
        subprocess.run(["openssl", *args], check=True, capture_output=True)
    ssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=tugboat-test-ca",
        "-keyout", str(d / "ca.key"), "-out", str(d / "ca.crt"))
    ssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN={ip}", "-keyout", str(d / "server.key"),
        "-out", str(d / "server.csr"))
    (d / "ext").write_text(f"subjectAltName=IP:{ip},DNS:localhost\n")
    ssl("x509", "-req", "-in", str(d / "server.csr"), "-CA", str(d / "ca.crt"), "-CAkey", str(d / "ca.key"),
        "-CAcreateserial", "-days", "2", "-extfile", str(d / "ext"), "-out", str(d / "server.crt"))


@pytest.fixture(scope="module")
def auth_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    base = tmp_path_factory.mktemp("authreg")
    _make_certs(base, "127.0.0.1")
    (base / "htpasswd").write_text(f"{USER}:{_bcrypt(PASSWORD)}\n")
    with serve_registry(base, tls=True, htpasswd=base / "htpasswd") as reg:
        yield reg


@pytest.mark.parametrize("client", ["tug", "docker"])
def test_basic_auth_over_tls(auth_registry: Registry, tugd, tmp_path: Path, token: str, client: str) -> None:
    """login (checked by tugd's POST /auth), then push and pull with the stored credentials;
    without them the registry's 401 comes back as dockerd words it."""
    from .conftest import DOCKER
    binary = TUG if client == "tug" else DOCKER
    env = {**tugd.env, "DOCKER_CONFIG": str(tmp_path / "cfg")}
    addr = auth_registry.addr
    name = f"{addr}/tt{token}/{client}:1"

    def run(*args: str, input: str | None = None) -> subprocess.CompletedProcess:
        return run_cmd([str(binary), *args], env, input=input, timeout=120)

    assert run("tag", "busybox:latest", name).returncode == 0
    try:
        p = run("push", name)
        assert p.returncode == 1 and "no basic auth credentials" in p.stderr, (p.stdout, p.stderr)
        p = run("login", "-u", USER, "--password-stdin", addr, input="wrong\n")
        assert p.returncode == 1
        assert (f"Error response from daemon: login attempt to https://{addr}/v2/ failed with status: "
                "401 Unauthorized") in p.stderr, p.stderr
        p = run("login", "-u", USER, "--password-stdin", addr, input=PASSWORD + "\n")
        assert p.returncode == 0 and "Login Succeeded" in p.stdout, p.stderr
        p = run("push", name)
        assert p.returncode == 0 and "1: digest: sha256:" in p.stdout, (p.stdout, p.stderr)
        assert run("rmi", name).returncode == 0
        p = run("pull", name)
        assert p.returncode == 0 and f"Status: Downloaded newer image for {name}" in p.stdout, p.stderr
        assert run("logout", addr).returncode == 0
        assert run("rmi", name).returncode == 0
        p = run("pull", name)
        # tugd: "no basic auth credentials"; dockerd 20.10 falls back to plain HTTP on the TLS
        # port after the 401 and reports "read: connection reset by peer" instead
        assert p.returncode == 1, p.stderr
        assert TARGET == "docker" or "no basic auth credentials" in p.stderr, p.stderr
    finally:
        run("rmi", "-f", name)


# ---- a registry on a non-loopback address: TLS verification and insecure-registries -----------


def _host_ip() -> str:
    """This machine's first global IPv4 address (not loopback, so not insecure by default)."""
    out = subprocess.run(["ip", "-4", "-o", "addr", "show", "scope", "global"], capture_output=True,
                         text=True).stdout
    for line in out.splitlines():
        parts = line.split()
        if "inet" in parts:
            return parts[parts.index("inet") + 1].split("/")[0]
    pytest.fail("no global IPv4 address to serve a non-loopback registry on")


def _restart_with(eng, config: dict) -> None:
    """Restart with more daemon.json keys; the harness's own (private bridge, subnets, chains) stay."""
    eng.stop()
    path = eng.tmp / "daemon.json"
    path.write_text(json.dumps({**json.loads(path.read_text()), **config}))
    eng.start()


@tugd_only
def test_tls_verification_and_certs_dir(isolated_tugd, tmp_path_factory: pytest.TempPathFactory,
                                        token: str) -> None:
    """A registry that is not insecure must present a certificate tugd trusts: the CA goes into
    certs.d/<host:port>/ca.crt, as with dockerd's /etc/docker/certs.d."""
    eng = isolated_tugd
    ip = _host_ip()
    base = tmp_path_factory.mktemp("tlsreg")
    _make_certs(base, ip)
    certs = base / "certs.d"
    certs.mkdir()
    _restart_with(eng, {"registry-certs-dir": str(certs)})
    with serve_registry(base, host=ip, tls=True) as reg:
        name = f"{reg.addr}/tt{token}/tls:1"
        run = lambda *a: run_cmd([str(TUG), *a], eng.env, timeout=120)  # noqa: E731
        run("tag", "busybox:latest", name)
        p = run("push", name)
        assert p.returncode == 1 and "certificate signed by unknown authority" in p.stderr, (p.stdout, p.stderr)
        (certs / reg.addr).mkdir()
        shutil.copy(base / "ca.crt", certs / reg.addr / "ca.crt")
        p = run("push", name)
        assert p.returncode == 0, p.stderr
        run("rmi", name)
        assert run("pull", name).returncode == 0
        run("rmi", name)


@tugd_only
def test_insecure_registries_allow_plain_http(isolated_tugd, tmp_path_factory: pytest.TempPathFactory,
                                              token: str) -> None:
    eng = isolated_tugd
    ip = _host_ip()
    with serve_registry(tmp_path_factory.mktemp("plainreg"), host=ip) as reg:
        name = f"{reg.addr}/tt{token}/plain:1"
        run = lambda *a: run_cmd([str(TUG), *a], eng.env, timeout=120)  # noqa: E731
        run("tag", "busybox:latest", name)
        p = run("push", name)
        assert p.returncode == 1, p.stdout
        assert "http: server gave HTTP response to HTTPS client" in p.stderr, p.stderr
        _restart_with(eng, {"insecure-registries": [f"{ip}/32"]})
        run("tag", "busybox:latest", name)
        p = run("push", name)
        assert p.returncode == 0, p.stderr
        run("rmi", name)
        assert run("pull", name).returncode == 0
        run("rmi", name)


@tugd_only
def test_registry_mirror_serves_docker_io_pulls(isolated_tugd, registry: Registry, token: str) -> None:
    """daemon.json registry-mirrors: docker.io names are pulled from the mirror first."""
    eng = isolated_tugd
    run = lambda *a: run_cmd([str(TUG), *a], eng.env, timeout=120)  # noqa: E731
    mirrored = f"{registry.addr}/library/tt{token}mirror:1"
    assert run("tag", "busybox:latest", mirrored).returncode == 0
    assert run("push", mirrored).returncode == 0
    _restart_with(eng, {"registry-mirrors": [f"http://{registry.addr}"]})
    p = run("pull", f"tt{token}mirror:1")
    assert p.returncode == 0, p.stderr
    assert f"Status: Downloaded newer image for tt{token}mirror:1" in p.stdout
    assert f"docker.io/library/tt{token}mirror:1" in p.stdout
    run("rmi", f"tt{token}mirror:1", mirrored)


def test_docker_py_login_and_pull_with_auth_config(auth_registry: Registry, dclient, token: str) -> None:
    name = f"{auth_registry.addr}/tt{token}/dpyauth"
    creds = {"username": USER, "password": PASSWORD}
    res = dclient.login(username=USER, password=PASSWORD, registry=auth_registry.addr, reauth=True)
    assert res["Status"] == "Login Succeeded"
    import docker
    with pytest.raises(docker.errors.APIError, match="login attempt to .* failed with status: 401"):
        dclient.login(username=USER, password="nope", registry=auth_registry.addr, reauth=True)
    dclient.images.get("busybox:latest").tag(name, "1")
    try:
        out = list(dclient.images.push(name, tag="1", auth_config=creds, stream=True, decode=True))
        assert any("aux" in m for m in out), out
        dclient.images.remove(f"{name}:1")
        img = dclient.images.pull(name, tag="1", auth_config=creds)
        assert f"{name}:1" in img.tags
    finally:
        try:
            dclient.images.remove(f"{name}:1", force=True)
        except docker.errors.APIError:
            pass


def _put_blob(addr: str, repo: str, data: bytes) -> str:
    """Monolithic blob upload straight to the registry (POST then PUT ?digest=)."""
    import hashlib

    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    req = urllib.request.Request(f"http://{addr}/v2/{repo}/blobs/uploads/", method="POST", data=b"")
    with urllib.request.urlopen(req, timeout=10) as r:
        loc = r.headers["Location"]
    if loc.startswith("/"):
        loc = f"http://{addr}{loc}"
    sep = "&" if "?" in loc else "?"
    req = urllib.request.Request(f"{loc}{sep}digest={digest}", method="PUT", data=data,
                                 headers={"Content-Type": "application/octet-stream"})
    with urllib.request.urlopen(req, timeout=10):
        pass
    return digest


@pytest.mark.skipif(TARGET == "docker", reason="dockerd 20.10 cannot pull zstd layers (added in 23.0)")
def test_pull_oci_image_with_a_zstd_layer(registry: Registry, tug, token: str) -> None:
    """An OCI manifest whose layer is tar+zstd (as newer builders push them) pulls, verifies and
    runs: the diff ID in the config is the digest of the uncompressed tar."""
    import hashlib
    import io
    import tarfile

    import zstandard

    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        busybox = Path("/bin/busybox").read_bytes()
        ti = tarfile.TarInfo("bin/busybox")
        ti.size, ti.mode = len(busybox), 0o755
        tf.addfile(ti, io.BytesIO(busybox))
        msg = b"zstd layer works\n"
        ti = tarfile.TarInfo("msg.txt")
        ti.size = len(msg)
        tf.addfile(ti, io.BytesIO(msg))
    plain = buf.getvalue()
    layer = zstandard.ZstdCompressor().compress(plain)
    config = json.dumps({
        "architecture": "amd64", "os": "linux",
        "config": {"Cmd": ["/bin/busybox", "cat", "/msg.txt"]},
        "rootfs": {"type": "layers", "diff_ids": ["sha256:" + hashlib.sha256(plain).hexdigest()]},
    }).encode()
    repo = f"tt{token}/zstd"
    layer_digest = _put_blob(registry.addr, repo, layer)
    config_digest = _put_blob(registry.addr, repo, config)
    manifest = json.dumps({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                   "digest": config_digest, "size": len(config)},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+zstd",
                    "digest": layer_digest, "size": len(layer)}],
    }).encode()
    req = urllib.request.Request(f"http://{registry.addr}/v2/{repo}/manifests/1", method="PUT", data=manifest,
                                 headers={"Content-Type": "application/vnd.oci.image.manifest.v1+json"})
    with urllib.request.urlopen(req, timeout=10):
        pass
    name = f"{registry.addr}/{repo}:1"
    try:
        p = tug("pull", name, check=True)
        assert "Pull complete" in p.stdout, p.stdout
        run = tug("run", "--rm", name, check=True)
        assert run.stdout == "zstd layer works\n"
    finally:
        _rmi(tug, name)


@pytest.mark.skipif(TARGET == "docker", reason="needs a second, empty tugd")
def test_pushed_image_pulls_into_a_fresh_tugd_and_runs(registry: Registry, tug, isolated_tugd, token: str) -> None:
    """Push from the session's tugd, pull into another tugd with an empty data root (no layer
    shared, so every blob comes over the wire and is verified), and run it there."""
    from .conftest import CLI

    fresh = CLI("tug", TUG, isolated_tugd.env)
    name = f"{registry.addr}/tt{token}/fresh-daemon:1"
    tug("tag", "busybox:latest", name, check=True)
    try:
        tug("push", name, check=True, timeout=120)
        fresh("rmi", "-f", "busybox:latest")          # the fixture imported one; start empty
        assert fresh("images", "-q").stdout.strip() == ""
        p = fresh("pull", name, check=True, timeout=120)
        assert "Pull complete" in p.stdout and f"Status: Downloaded newer image for {name}" in p.stdout
        out = fresh("run", "--rm", name, "echo", "pulled into a fresh daemon", check=True)
        assert out.stdout == "pulled into a fresh daemon\n"
    finally:
        _rmi(tug, name)
        _rmi(fresh, name)
