"""HTTP basics: prefixes, version negotiation, headers, routing, error mapping,
query/body parsing and robustness against bad requests and failing handlers."""

import io
import json
import os
import socket
import stat

import pytest
from server_http_helpers import UnixHTTPConnection, raw_exchange

from tugboat.errors import InvalidArgument, TugboatError
from tugboat.server import APIServer
from tugboat.server.errors import status_for
from tugboat.server.request import BodyReader, parse_bool, parse_filters
from tugboat.server.router import check_version, split_version


def get(conn, path, method="GET", body=None, headers=None):
    conn.request(method, path, body=body, headers=headers or {})
    r = conn.getresponse()
    return r, r.read()


# -- prefixes, versions, headers ---------------------------------------------------

@pytest.mark.parametrize("prefix", ["", "/v1.41", "/v1.40", "/v1.12", "/v1.24"])
def test_version_prefixes(conn, prefix):
    r, body = get(conn, prefix + "/version")
    assert r.status == 200
    assert json.loads(body)["ApiVersion"] == "1.41"
    assert r.getheader("Content-Type") == "application/json"


def test_common_headers(conn):
    for path in ["/_ping", "/v1.41/containers/json", "/nope", "/containers/nosuch/json"]:
        r, _ = get(conn, path)
        assert r.getheader("Api-Version") == "1.41", path
        assert r.getheader("Docker-Experimental") == "false"
        assert r.getheader("Ostype") == "linux"
        server_hdr = str(r.getheader("Server"))
        assert server_hdr.startswith("Docker/") and server_hdr.endswith("(linux)")


def test_version_too_new(conn):
    r, body = get(conn, "/v1.50/version")
    assert r.status == 400
    assert json.loads(body) == {
        "message": "client version 1.50 is too new. Maximum supported API version is 1.41"}
    r, body = get(conn, "/v2/containers/json")
    assert r.status == 400 and b"client version 2 is too new" in body


def test_version_too_old(conn):
    r, body = get(conn, "/v1.11/version")
    assert r.status == 400
    assert json.loads(body)["message"] == (
        "client version 1.11 is too old. Minimum supported API version is 1.12, "
        "please upgrade your client to a newer version")


def test_version_helpers():
    assert split_version("/v1.41/images/a/b:c/json") == ("1.41", "/images/a/b:c/json")
    assert split_version("/_ping") == (None, "/_ping")
    assert split_version("/v1.x/version") == (None, "/v1.x/version")
    assert check_version(None) == "1.41" and check_version("1.30") == "1.30"
    with pytest.raises(InvalidArgument):
        check_version("1.41.1")


def test_ping_get_and_head(conn):
    r, body = get(conn, "/_ping")
    assert (r.status, body) == (200, b"OK")
    assert r.getheader("Content-Type") == "text/plain; charset=utf-8"
    assert r.getheader("Builder-Version") == "1"
    assert r.getheader("Cache-Control") == "no-cache, no-store, must-revalidate"
    assert r.getheader("Pragma") == "no-cache"
    r, body = get(conn, "/v1.41/_ping", method="HEAD")
    assert (r.status, body) == (200, b"")
    assert r.getheader("Content-Length") == "0"
    assert r.getheader("Builder-Version") == "1"


def test_unknown_route_and_wrong_method(conn):
    for method, path in [("GET", "/nope"), ("GET", "/v1.41/nope"), ("GET", "/v1.x/version"),
                         ("DELETE", "/_ping"), ("GET", "/containers/create"), ("PUT", "/containers/json")]:
        r, body = get(conn, path, method=method)
        assert r.status == 404, (method, path)
        assert r.getheader("Content-Type") == "application/json"
        assert json.loads(body) == {"message": "page not found"}


def test_info(conn):
    r, body = get(conn, "/info")
    assert r.status == 200 and json.loads(body)["Driver"] == "vfs"


# -- error mapping ---------------------------------------------------------------------

def test_error_mapping_table():
    from tugboat import errors as e
    assert [status_for(x("m")) for x in (e.InvalidArgument, e.Unauthorized, e.Forbidden, e.NotFound,
                                         e.Conflict, e.NotModified, e.Unavailable, e.NotImplementedYet,
                                         e.TugboatError)] == [400, 401, 403, 404, 409, 304, 503, 501, 500]
    assert status_for(ValueError("x")) == 500


def test_not_found_and_conflict(conn, engine):
    r, body = get(conn, "/containers/nosuch/json")
    assert r.status == 404 and json.loads(body) == {"message": "No such container: nosuch"}
    hdr = {"Content-Type": "application/json"}
    r, body = get(conn, "/containers/create?name=web", "POST", json.dumps({"Image": "busybox"}), hdr)
    assert r.status == 201
    r, body = get(conn, "/containers/create?name=web", "POST", json.dumps({"Image": "busybox"}), hdr)
    assert r.status == 409 and "already in use" in json.loads(body)["message"]


def test_not_modified_has_empty_body(conn, engine):
    r, body = get(conn, "/containers/create", "POST", json.dumps({"Image": "busybox"}))
    cid = json.loads(body)["Id"]
    r, body = get(conn, f"/containers/{cid}/start", "POST")
    assert (r.status, body) == (204, b"")
    r, body = get(conn, f"/containers/{cid[:12]}/start", "POST")
    assert (r.status, body) == (304, b"")
    assert r.getheader("Content-Type") is None
    r, body = get(conn, "/_ping")        # the connection is still usable
    assert body == b"OK"


def test_handler_exception_is_500_and_server_keeps_serving(conn, sock_path, caplog):
    r, body = get(conn, "/containers/boom/json")
    assert r.status == 500
    assert json.loads(body) == {"message": "kaboom"}
    assert any("unexpected error" in rec.getMessage() for rec in caplog.records)
    r, body = get(conn, "/_ping")
    assert body == b"OK"
    c2 = UnixHTTPConnection(sock_path)
    try:
        assert get(c2, "/_ping")[1] == b"OK"
    finally:
        c2.close()


def test_handler_returning_garbage_is_500(server, conn, monkeypatch):
    monkeypatch.setattr(server._app.engine.system, "info", lambda: {1, 2})   # not JSON-serialisable
    r, body = get(conn, "/info")
    assert r.status == 500 and "message" in json.loads(body)
    assert get(conn, "/_ping")[1] == b"OK"


# -- query parsing -------------------------------------------------------------------------

def test_parse_bool():
    for v in ["1", "true", "True", "yes", "garbage"]:
        assert parse_bool(v) is True, v
    for f in ["0", "false", "False", "", "no", "none"]:
        assert parse_bool(f) is False, f
    assert parse_bool(None) is False


def test_parse_filters():
    assert parse_filters(None) == {} and parse_filters("") == {}
    assert parse_filters('{"status":["running","exited"]}') == {"status": ["running", "exited"]}
    assert parse_filters('{"label":{"a=1":true,"b":false}}') == {"label": ["a=1"]}
    for bad in ["garbage", "[1]", '{"a":1}', '{"a":[1]}']:
        with pytest.raises(InvalidArgument):
            parse_filters(bad)


def test_list_query_parsing(conn, engine):
    flt = '{"label":{"a=1":true}}'
    r, _ = get(conn, f"/containers/json?all=1&limit=3&size=true&filters={flt}")
    assert r.status == 200
    assert engine.containers.calls[-1] == ("list", True, 3, True, {"label": ["a=1"]})
    get(conn, "/containers/json?all=0")
    assert engine.containers.calls[-1] == ("list", False, -1, False, {})
    r, body = get(conn, "/containers/json?limit=garbage")
    assert r.status == 400 and "garbage" in json.loads(body)["message"]
    r, body = get(conn, "/containers/json?filters=garbage")
    assert r.status == 400


def test_typed_arguments_reach_engine(conn, engine):
    _, body = get(conn, "/containers/create?name=x&platform=linux/amd64", "POST", json.dumps({"Image": "b"}))
    cid = json.loads(body)["Id"]
    assert engine.containers.calls[-1] == ("create", "x", {"Image": "b"}, "linux/amd64")
    assert get(conn, f"/containers/{cid}/stop?t=5&signal=SIGINT", "POST")[0].status == 204
    assert engine.containers.calls[-1] == ("stop", cid, 5, "SIGINT")
    assert get(conn, f"/containers/{cid}/stop", "POST")[0].status == 204
    assert engine.containers.calls[-1] == ("stop", cid, None, None)
    assert get(conn, f"/containers/{cid}/stop?t=x", "POST")[0].status == 400
    assert get(conn, "/containers/x/kill?signal=HUP", "POST")[0].status == 204
    assert engine.containers.calls[-1] == ("kill", "x", "HUP")
    assert get(conn, "/containers/x/restart?t=0", "POST")[0].status == 204
    assert engine.containers.calls[-1] == ("restart", "x", 0)
    assert get(conn, "/containers/x/json?size=1")[0].status == 200
    assert engine.containers.calls[-1] == ("inspect", "x", True)
    assert get(conn, "/containers/x?force=1&v=true&link=0", "DELETE")[0].status == 204
    assert engine.containers.calls[-1] == ("remove", "x", True, True, False)


def test_create_body_errors(conn):
    r, body = get(conn, "/containers/create", "POST", "{not json")
    assert r.status == 400 and "invalid JSON" in json.loads(body)["message"]
    r, body = get(conn, "/containers/create", "POST")
    assert r.status == 400
    assert json.loads(body)["message"] == "config cannot be empty in order to create a container"
    r, body = get(conn, "/containers/create", "POST", "[1]")
    assert r.status == 400


def test_image_routes_greedy_names(conn, engine):
    r, body = get(conn, "/v1.41/images/localhost:5000/ns/app:tag/json")
    assert r.status == 200 and json.loads(body)["RepoTags"] == ["localhost:5000/ns/app:tag"]
    assert get(conn, "/images/localhost:5000/ns/app:tag/history")[0].status == 200
    assert engine.images.calls[-1] == ("history", "localhost:5000/ns/app:tag")
    r, _ = get(conn, "/images/a/b:1/tag?repo=localhost:5000/x&tag=2", "POST")
    assert r.status == 201
    assert engine.images.calls[-1] == ("tag", "a/b:1", "localhost:5000/x", "2")
    r, body = get(conn, "/images/a/b:1?force=1", "DELETE")
    assert r.status == 200 and json.loads(body) == [{"Untagged": "a/b:1"}]
    assert engine.images.calls[-1] == ("remove", "a/b:1", True, False)
    r, body = get(conn, '/images/json?all=1&digests=1&filters={"dangling":["true"]}')
    assert r.status == 200
    assert engine.images.calls[-1] == ("list", True, {"dangling": ["true"]}, True)
    r, body = get(conn, "/images/nosuch:1/json")
    assert r.status == 404 and json.loads(body) == {"message": "No such image: nosuch:1"}
    r, body = get(conn, "/images/a%2Fb/json")        # escaped slash routes like an unescaped one
    assert json.loads(body)["RepoTags"] == ["a/b"]


def test_pull_push_and_auth_routes(conn, engine):
    from tugboat.engine.registry.auth import AuthConfig
    r, body = get(conn, "/images/create?fromImage=busybox&tag=latest&platform=linux/arm64", "POST")
    assert r.status == 200 and b"Pulling from library/busybox" in body
    assert engine.images.calls[-1] == ("pull", "busybox", "latest", "linux/arm64", AuthConfig())
    r, body = get(conn, "/images/create?fromImage=nosuch&tag=1", "POST")
    assert r.status == 404 and "manifest unknown" in json.loads(body)["message"]
    r, body = get(conn, "/images/localhost:5000/a/b/push?tag=2", "POST")
    assert r.status == 200 and engine.images.calls[-1] == ("push", "localhost:5000/a/b", "2", AuthConfig())
    r, body = get(conn, "/auth", "POST", body=json.dumps({"username": "u", "password": "p",
                                                         "serveraddress": "r"}).encode())
    assert json.loads(body) == {"Status": "Login Succeeded", "IdentityToken": ""}
    assert engine.images.calls[-1] == ("login", AuthConfig("u", "p", "r"))


# -- request bodies --------------------------------------------------------------------------

def test_body_reader_chunked_and_length():
    raw = b"5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nTrailer: x\r\n\r\nNEXT"
    f = io.BufferedReader(io.BytesIO(raw))
    b = BodyReader(f, chunked=True)
    assert b.read() == b"hello world" and b.exhausted
    assert f.read() == b"NEXT"
    f = io.BufferedReader(io.BytesIO(b"abcdefNEXT"))
    b = BodyReader(f, 6)
    assert b.read(4) == b"abcd" and b.read() == b"ef" and b.read() == b"" and f.read() == b"NEXT"
    with pytest.raises(InvalidArgument):
        BodyReader(io.BufferedReader(io.BytesIO(b"zz\r\n")), chunked=True).read()
    with pytest.raises(InvalidArgument):
        BodyReader(io.BufferedReader(io.BytesIO(b"abc")), 10).read()


def test_chunked_import_body(conn, engine):
    payload = os.urandom(100_000)

    def gen():
        for i in range(0, len(payload), 9999):
            yield payload[i:i + 9999]

    conn.request("POST", "/v1.41/images/create?fromSrc=-&repo=me/img&tag=v1&changes=CMD%20x"
                 "&changes=ENV%20A%3D1&message=hi", body=gen(), encode_chunked=True,
                 headers={"Content-Type": "application/x-tar"})
    r = conn.getresponse()
    assert r.status == 200 and r.getheader("Content-Type") == "application/json"
    import hashlib
    lines = [json.loads(x) for x in r.read().splitlines() if x.strip()]
    assert lines == [{"status": "sha256:" + hashlib.sha256(payload).hexdigest()}]
    assert engine.images.received == payload
    assert engine.images.calls[-1] == ("import", "me/img", "v1", ["CMD x", "ENV A=1"], "hi")
    assert get(conn, "/_ping")[1] == b"OK"      # keep-alive survives a chunked body


def test_unread_body_is_drained_for_keepalive(conn):
    r, _ = get(conn, "/containers/nosuch/start", "POST", body=b"x" * 5000)
    assert r.status == 404
    assert get(conn, "/_ping")[1] == b"OK"


# -- robustness ---------------------------------------------------------------------------------

@pytest.mark.parametrize("junk", [
    b"garbage\r\n\r\n",
    b"GET /_ping HTTP/9.9\r\n\r\n",
    b"GET /_ping HTTP/1.1\r\nno colon header\r\n\r\n",
    b"GET /" + b"a" * 70000 + b" HTTP/1.1\r\n\r\n",
    b"POST /containers/create HTTP/1.1\r\nContent-Length: nope\r\n\r\n",
    b"POST /images/load HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    b"BREW /_ping HTTP/1.1\r\n\r\n",
    b"\x00\xff\xfe\r\n\r\n",
])
def test_malformed_requests_do_not_kill_server(server, sock_path, junk):
    out = raw_exchange(sock_path, junk, timeout=1)
    if out:
        assert out.startswith(b"HTTP/1.")       # answered, in HTTP (headers parsing is lenient)
    c = UnixHTTPConnection(sock_path)
    try:
        assert get(c, "/_ping")[1] == b"OK"
    finally:
        c.close()


def test_client_vanishing_mid_request(server, sock_path):
    s = socket.socket(socket.AF_UNIX)
    s.connect(sock_path)
    s.sendall(b"POST /images/load HTTP/1.1\r\nContent-Length: 100\r\n\r\nabc")
    s.close()
    c = UnixHTTPConnection(sock_path)
    try:
        assert get(c, "/_ping")[1] == b"OK"
    finally:
        c.close()


def test_http10_client(server, sock_path):
    out = raw_exchange(sock_path, b"GET /v1.41/_ping HTTP/1.0\r\n\r\n")
    assert out.startswith(b"HTTP/1.1 200") or out.startswith(b"HTTP/1.0 200")
    assert out.endswith(b"OK")


# -- sockets --------------------------------------------------------------------------------------

def test_socket_permissions_and_stale_socket(engine, sock_path):
    os.makedirs(os.path.dirname(sock_path), exist_ok=True)
    stale = socket.socket(socket.AF_UNIX)
    stale.bind(sock_path)
    stale.close()                      # a socket file nobody serves
    srv = APIServer(engine, [sock_path])
    srv.start()
    try:
        assert stat.S_IMODE(os.stat(sock_path).st_mode) == 0o660
        other = APIServer(engine, [sock_path])
        with pytest.raises(TugboatError, match="another daemon"):
            other.start()
    finally:
        srv.shutdown()
    assert not os.path.exists(sock_path)


def test_refuses_to_replace_a_regular_file(engine, sock_path):
    os.makedirs(os.path.dirname(sock_path), exist_ok=True)
    with open(sock_path, "w") as f:
        f.write("x")
    with pytest.raises(TugboatError, match="not a socket"):
        APIServer(engine, [sock_path]).start()


def test_engine_oserror_is_500_not_a_dropped_connection(server, conn, monkeypatch):
    def broken() -> dict:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(server._app.engine.system, "info", broken)
    r, body = get(conn, "/info")
    assert r.status == 500 and "Permission denied" in json.loads(body)["message"]
    assert get(conn, "/_ping")[1] == b"OK"


def test_shutdown_with_open_connections(engine, sock_path):
    import time

    from server_http_helpers import RawConn
    srv = APIServer(engine, [sock_path])
    srv.start()
    idle = UnixHTTPConnection(sock_path)
    get(idle, "/_ping")                      # a kept-alive, idle connection
    rc = RawConn(sock_path)
    rc.send_request("POST", "/containers/create", body=b'{"Image":"b"}')
    rc.read_head()
    t = time.monotonic()
    srv.shutdown()
    assert time.monotonic() - t < 3
    assert rc.read_to_eof() is not None      # the server side went away
    rc.close()
    idle.close()
