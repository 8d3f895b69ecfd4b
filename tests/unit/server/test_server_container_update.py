"""POST /containers/{id}/update (server/routes/container_update.py): body in, one engine call, Warnings out."""

import json


def post(conn, path, body=None):
    conn.request("POST", path, body=body)
    r = conn.getresponse()
    return r, r.read()


def test_update(conn, engine):
    r, body = post(conn, "/containers/create?name=c1", json.dumps({"Image": "busybox"}))
    assert r.status == 201
    r, body = post(conn, "/v1.41/containers/c1/update", json.dumps({"Memory": 33554432}))
    assert (r.status, json.loads(body)) == (200, {"Warnings": []})
    assert ("update", "c1", {"Memory": 33554432}) in engine.containers.calls
    r, body = post(conn, "/containers/nosuch/update", "{}")
    assert r.status == 404 and json.loads(body) == {"message": "No such container: nosuch"}
    r, body = post(conn, "/containers/c1/update", "[1]")
    assert r.status == 400
