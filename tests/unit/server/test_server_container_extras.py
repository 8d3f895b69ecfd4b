"""Routes of server/routes/container_extras.py and POST /images/prune: parsing, the one engine
call, and the encoding dockerd 20.10 uses (status codes, empty bodies, content types)."""

import json

import pytest


def get(conn, path, method="GET", body=None):
    conn.request(method, path, body=body)
    r = conn.getresponse()
    return r, r.read()


@pytest.fixture
def cid(conn, engine):
    r, body = get(conn, "/containers/create?name=c1", "POST", json.dumps({"Image": "busybox"}))
    assert r.status == 201
    return json.loads(body)["Id"]


def start(conn, cid):
    r, _ = get(conn, f"/containers/{cid}/start", "POST")
    assert r.status == 204


def test_pause_unpause(conn, engine, cid):
    r, body = get(conn, "/v1.41/containers/c1/pause", "POST")
    assert r.status == 409 and json.loads(body) == {"message": f"Container {cid} is not running"}
    start(conn, cid)
    for verb in ("pause", "unpause"):
        r, body = get(conn, f"/v1.41/containers/c1/{verb}", "POST")
        assert (r.status, body, r.getheader("Content-Type")) == (204, b"", None)
    assert ("pause", "c1") in engine.containers.calls and ("unpause", "c1") in engine.containers.calls
    r, body = get(conn, "/containers/nosuch/pause", "POST")
    assert r.status == 404 and json.loads(body) == {"message": "No such container: nosuch"}


def test_resize(conn, engine, cid):
    r, body = get(conn, "/containers/c1/resize?h=24&w=80", "POST")
    assert (r.status, body) == (200, b"")
    assert r.getheader("Content-Type") is None
    assert engine.containers.calls[-1] == ("resize", "c1", 24, 80)


@pytest.mark.parametrize("query,message", [
    ("", 'strconv.Atoi: parsing "": invalid syntax'),
    ("?h=10", 'strconv.Atoi: parsing "": invalid syntax'),
    ("?h=x&w=1", 'strconv.Atoi: parsing "x": invalid syntax'),
    ("?h=1&w=1.5", 'strconv.Atoi: parsing "1.5": invalid syntax'),
])
def test_resize_bad_sizes(conn, engine, cid, query, message):
    r, body = get(conn, f"/containers/c1/resize{query}", "POST")
    assert r.status == 400 and json.loads(body) == {"message": message}
    assert not any(c[0] == "resize" for c in engine.containers.calls)


def test_rename(conn, engine, cid):
    r, body = get(conn, "/containers/c1/rename?name=c2", "POST")
    assert (r.status, body) == (204, b"")
    assert engine.containers.calls[-1] == ("rename", "c1", "c2")
    r, body = get(conn, "/containers/c2/rename", "POST")
    assert r.status == 400 and json.loads(body) == {"message": "Neither old nor new names may be empty"}


def test_top(conn, engine, cid):
    r, body = get(conn, "/containers/c1/top?ps_args=-o%20pid,comm")
    assert r.status == 200 and r.getheader("Content-Type") == "application/json"
    assert json.loads(body) == {"Titles": ["UID", "PID", "CMD"], "Processes": [["root", "42", "sleep 300"]]}
    assert engine.containers.calls[-1] == ("top", "c1", "-o pid,comm")
    get(conn, "/containers/c1/top")
    assert engine.containers.calls[-1] == ("top", "c1", "")


def test_changes(conn, engine, cid):
    r, body = get(conn, "/containers/c1/changes")
    assert r.status == 200 and body == b"null\n"          # dockerd: no changes -> null
    start(conn, cid)
    r, body = get(conn, "/containers/c1/changes")
    assert json.loads(body) == [{"Path": "/etc", "Kind": 0}, {"Path": "/newfile", "Kind": 1},
                                {"Path": "/etc/group", "Kind": 2}]


def test_stats_one_sample(conn, engine, cid):
    r, body = get(conn, "/containers/c1/stats?stream=0")
    assert r.status == 200 and r.getheader("Content-Type") == "application/json"
    assert r.getheader("Content-Length") == str(len(body))
    assert json.loads(body) == {"name": "/c1", "id": cid, "num_procs": 0}
    assert engine.containers.calls[-1] == ("stats", "c1", False, False)
    get(conn, "/v1.41/containers/c1/stats?stream=false&one-shot=1")
    assert engine.containers.calls[-1] == ("stats", "c1", False, True)
    get(conn, "/v1.40/containers/c1/stats?stream=false&one-shot=1")    # one-shot is new in 1.41
    assert engine.containers.calls[-1] == ("stats", "c1", False, False)


def test_stats_stream(conn, engine, cid):
    r, body = get(conn, "/containers/c1/stats")      # stream defaults to true
    assert r.status == 200
    assert r.getheader("Content-Type") is None        # dockerd sets none on the stream
    assert r.getheader("Transfer-Encoding") == "chunked"
    lines = body.decode().splitlines()
    assert [json.loads(x)["num_procs"] for x in lines] == [0, 1, 2]
    assert engine.containers.calls[-1] == ("stats", "c1", True, False)
    r, body = get(conn, "/containers/nosuch/stats")
    assert r.status == 404 and json.loads(body) == {"message": "No such container: nosuch"}


def test_container_prune(conn, engine, cid):
    r, body = get(conn, '/containers/prune?filters={"label":["a=b"]}', "POST")
    assert r.status == 200
    assert json.loads(body) == {"ContainersDeleted": [cid], "SpaceReclaimed": 0}
    assert engine.containers.calls[-1] == ("prune", {"label": ["a=b"]})
    r, body = get(conn, "/containers/prune", "POST")
    assert json.loads(body) == {"ContainersDeleted": None, "SpaceReclaimed": 0}
    r, body = get(conn, '/containers/prune?filters={"bogus":["1"]}', "POST")
    assert r.status == 400 and json.loads(body) == {"message": "Invalid filter 'bogus'"}
    r, body = get(conn, "/containers/prune?filters=notjson", "POST")
    assert r.status == 400


def test_container_prune_is_not_a_container_route(conn, engine):
    # /containers/prune must not be taken for GET /containers/{id}/... or DELETE /containers/{id}
    r, body = get(conn, "/containers/prune", "GET")
    assert r.status == 404


def test_image_prune(conn, engine):
    r, body = get(conn, '/v1.41/images/prune?filters={"dangling":["false"]}', "POST")
    assert r.status == 200
    assert json.loads(body) == {"ImagesDeleted": [{"Deleted": "sha256:" + "b" * 64}], "SpaceReclaimed": 1234}
    assert engine.images.calls[-1] == ("prune", {"dangling": ["false"]})
    get(conn, "/images/prune", "POST")
    assert engine.images.calls[-1] == ("prune", {})
