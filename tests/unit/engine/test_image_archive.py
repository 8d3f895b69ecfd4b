"""docker save / docker load: format, round trips and hostile archives."""

from __future__ import annotations

import gzip
import io
import json
import tarfile

import pytest
from test_image_service import child_of, do_import, make_tar, new_service

from tugboat.engine.image_config import chain_ids
from tugboat.errors import InvalidArgument, NotFound


@pytest.fixture
def svc(tmp_path):
    return new_service(tmp_path / "a")


def save_bytes(svc, refs):
    return b"".join(svc.save(refs))


def members(archive: bytes) -> dict[str, tarfile.TarInfo]:
    with tarfile.open(fileobj=io.BytesIO(archive)) as tf:
        return {m.name: m for m in tf.getmembers()}


def read(archive: bytes, name: str) -> bytes:
    with tarfile.open(fileobj=io.BytesIO(archive)) as tf:
        f = tf.extractfile(name)
        assert f is not None
        return f.read()


def test_save_layout(svc):
    image_id = do_import(svc, {"etc/hello": b"hello\n"}, "imghelper-test", "v1", ['CMD ["/bin/x"]'])
    archive = save_bytes(svc, ["imghelper-test:v1"])
    names = list(members(archive))
    manifest = json.loads(read(archive, "manifest.json"))
    layer_dir = manifest[0]["Layers"][0].split("/")[0]
    # lexical walk order, as dockerd's archive.Tar of its temporary directory
    expected = sorted([[image_id[7:] + ".json"], [layer_dir], [layer_dir, "VERSION"], [layer_dir, "json"],
                       [layer_dir, "layer.tar"], ["manifest.json"], ["repositories"]])
    assert names == ["/".join(p) for p in expected]
    assert manifest == [{"Config": image_id[7:] + ".json", "RepoTags": ["imghelper-test:v1"],
                         "Layers": [layer_dir + "/layer.tar"]}]
    assert read(archive, "manifest.json").endswith(b"]\n")
    assert json.loads(read(archive, "repositories")) == {"imghelper-test": {"v1": layer_dir}}
    assert read(archive, layer_dir + "/VERSION") == b"1.0"
    assert read(archive, image_id[7:] + ".json") == svc.store.get(image_id)
    legacy = json.loads(read(archive, layer_dir + "/json"))
    assert list(legacy)[:3] == ["id", "comment", "created"] and legacy["id"] == layer_dir
    assert legacy["config"]["Cmd"] == ["/bin/x"] and "history" not in legacy
    top = svc.resolve(image_id).top_chain_id
    assert read(archive, layer_dir + "/layer.tar") == b"".join(svc.layers.tar(top))


def test_save_matches_dockerd_v1_ids():
    """The legacy directory name dockerd 20.10 gave a `docker import`ed image (captured from the
    reference daemon): it depends on Go's re-marshalling of the config, which we mirror."""
    from tugboat.engine.image_config import v1_image, v1_layer_id
    cfg = json.loads(
        '{"architecture":"amd64","comment":"msg","config":{"Hostname":"","Domainname":"","User":"",'
        '"AttachStdin":false,"AttachStdout":false,"AttachStderr":false,"Tty":false,"OpenStdin":false,'
        '"StdinOnce":false,"Env":["A=b"],"Cmd":["/bin/x"],"Image":"","Volumes":null,"WorkingDir":"",'
        '"Entrypoint":null,"OnBuild":null,"Labels":null},"container_config":{"Hostname":"","Domainname":"",'
        '"User":"","AttachStdin":false,"AttachStdout":false,"AttachStderr":false,"Tty":false,"OpenStdin":false,'
        '"StdinOnce":false,"Env":null,"Cmd":null,"Image":"","Volumes":null,"WorkingDir":"","Entrypoint":null,'
        '"OnBuild":null,"Labels":null},"created":"2026-11-22T17:19:11.833173257Z",'
        '"docker_version":"20.10.24+dfsg1","history":[{"created":"2026-11-22T17:19:11.833173257Z",'
        '"comment":"msg"}],"os":"linux","rootfs":{"type":"layers","diff_ids":'
        '["sha256:6b63b5fff1d98a1b04d0051ff61c94aa90e68e50b5a771e7f8b47de05970b03e"]}}')
    chain = chain_ids(cfg["rootfs"]["diff_ids"])[-1]
    assert v1_layer_id(v1_image(cfg), chain, "") == \
        "7d74e3239baedb932f9601a57b7800b5cb2cf6380d7f03856ae76afe575a303e"


def test_round_trip_into_fresh_store(svc, tmp_path):
    base = do_import(svc, {"a": b"1", "dir/b": b"2" * 5000}, "base", "1")
    top = child_of(svc, base, {"c": b"3"}, ref="top:2")
    archive = save_bytes(svc, ["base:1", "top:2"])
    manifest = json.loads(read(archive, "manifest.json"))
    assert [m["RepoTags"] for m in manifest] == [["base:1"], ["top:2"]]
    assert manifest[1]["Parent"] == base
    # both images share the base layer: stored once, the other layer.tar is a symlink
    assert sum(1 for m in members(archive).values() if m.issym()) == 1

    fresh = new_service(tmp_path / "b")
    out = list(fresh.load(io.BytesIO(archive), quiet=True))
    assert out == [{"stream": "Loaded image: base:1\n"}, {"stream": "Loaded image: top:2\n"}]
    assert set(fresh.store.ids()) == {base, top}
    assert fresh.store.get_parent(top) == base
    for image_id in (base, top):
        c = svc.resolve(image_id).top_chain_id
        assert b"".join(fresh.layers.tar(c)) == b"".join(svc.layers.tar(c))
    assert save_bytes(fresh, ["base:1", "top:2"]) == archive
    assert fresh.work_dir is not None and list(fresh.work_dir.iterdir()) == []


def test_load_progress_and_ids(svc, tmp_path):
    image_id = do_import(svc, {"a": b"1"})
    archive = save_bytes(svc, [image_id[7:19]])
    assert json.loads(read(archive, "manifest.json"))[0]["RepoTags"] is None
    assert "repositories" not in members(archive)
    fresh = new_service(tmp_path / "b")
    out = list(fresh.load(io.BytesIO(gzip.compress(archive))))
    assert out[0]["status"] == "Loading layer" and out[0]["progressDetail"]["current"] > 0
    assert out[-1] == {"stream": f"Loaded image ID: {image_id}\n"}
    # loading again: layers exist, nothing to show but the ID
    assert list(fresh.load(io.BytesIO(archive))) == [{"stream": f"Loaded image ID: {image_id}\n"}]


def test_load_moves_tag(svc, tmp_path):
    a = do_import(svc, {"a": b"1"}, "app", "1")
    archive = save_bytes(svc, ["app:1"])
    fresh = new_service(tmp_path / "b")
    b = do_import(fresh, {"b": b"2"}, "app", "1")
    out = list(fresh.load(io.BytesIO(archive), quiet=True))
    assert out == [{"stream": f"The image app:1 already exists, renaming the old one with ID {b} to empty string\n"},
                   {"stream": "Loaded image: app:1\n"}]
    assert fresh.resolve("app:1").id == a


def test_save_names(svc):
    a = do_import(svc, {"a": b"1"}, "app", "1")
    b = do_import(svc, {"b": b"2"}, "app", "2")
    manifest = json.loads(read(save_bytes(svc, ["app"]), "manifest.json"))
    assert sorted(t for m in manifest for t in m["RepoTags"]) == ["app:1", "app:2"]
    manifest = json.loads(read(save_bytes(svc, [a, "app:1", b[7:15]]), "manifest.json"))
    assert [m["RepoTags"] for m in manifest] == [["app:1"], None]
    with pytest.raises(NotFound, match="^reference does not exist$"):
        svc.save(["app:3"])
    with pytest.raises(NotFound, match="^No such image: nonexist$"):
        svc.save(["nonexist"])


def tamper(archive: bytes, edit) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=io.BytesIO(archive)) as src, tarfile.open(fileobj=out, mode="w") as dst:
        for m in src.getmembers():
            data = src.extractfile(m).read() if m.isreg() else None  # type: ignore[union-attr]
            m, data = edit(m, data)
            if m is not None:
                dst.addfile(m, io.BytesIO(data) if data is not None else None)
    return out.getvalue()


def test_tampered_layer_is_refused(svc, tmp_path):
    do_import(svc, {"a": b"1"}, "app", "1")
    archive = save_bytes(svc, ["app:1"])

    def swap(m, data):
        if m.name.endswith("layer.tar"):
            data = make_tar({"evil": b"x"})
            m.size = len(data)
        return m, data

    fresh = new_service(tmp_path / "b")
    with pytest.raises(InvalidArgument, match=r'^invalid diffID for layer 0: expected "sha256:[0-9a-f]{64}", got'):
        list(fresh.load(io.BytesIO(tamper(archive, swap))))
    assert fresh.store.ids() == [] and fresh.store.references() == {}
    assert fresh.layers.layers() == []
    assert fresh.work_dir is not None and list(fresh.work_dir.iterdir()) == []  # scratch removed


def test_partial_load_leaves_nothing(svc, tmp_path):
    base = do_import(svc, {"a": b"1"}, "base", "1")
    child_of(svc, base, {"c": b"3"}, ref="top:2")
    archive = save_bytes(svc, ["top:2"])
    manifest = json.loads(read(archive, "manifest.json"))
    second = manifest[0]["Layers"][1]

    def swap(m, data):
        if m.name == second:
            data = make_tar({"evil": b"x"})
            m.size = len(data)
        return m, data

    fresh = new_service(tmp_path / "b")
    with pytest.raises(InvalidArgument, match="invalid diffID for layer 1"):
        list(fresh.load(io.BytesIO(tamper(archive, swap)), quiet=True))
    assert fresh.layers.layers() == [] and fresh.store.ids() == []


@pytest.mark.parametrize("payload", [
    b"", b"garbage" * 100, gzip.compress(b"garbage" * 100),
    make_tar({"manifest.json": b"{not json"}),
    make_tar({"manifest.json": b'{"a": 1}'}),
    make_tar({"manifest.json": b'[{"Config": "nope.json", "Layers": []}]'}),
    make_tar({"manifest.json": b'[{"Config": "../../etc/passwd", "Layers": []}]'}),
    make_tar({"manifest.json": b'[{"Config": "c.json", "Layers": ["x/layer.tar"]}]',
              "c.json": b'{"rootfs": {"type": "layers", "diff_ids": []}}'}),
    make_tar({"manifest.json": b'[{"Config": "c.json", "Layers": ["x/layer.tar"]}]',
              "c.json": b'{"rootfs": {"type": "layers", "diff_ids": ["sha256:' + b"a" * 64 + b'"]}}'}),
    make_tar({"repositories": b"{}"}),
    make_tar({"something": b"else"}),
])
def test_malformed_archives(svc, payload):
    with pytest.raises(InvalidArgument):
        list(svc.load(io.BytesIO(payload)))
    assert svc.store.ids() == [] and svc.layers.layers() == []


def test_archive_links_stay_inside(svc, tmp_path):
    do_import(svc, {"a": b"1"}, "app", "1")
    archive = save_bytes(svc, ["app:1"])

    def link_out(m, data):
        if m.name.endswith("layer.tar"):
            m.type, m.linkname, m.size = tarfile.SYMTYPE, "../../../../etc/passwd", 0
            data = None
        return m, data

    fresh = new_service(tmp_path / "b")
    with pytest.raises(InvalidArgument, match="not found in archive"):
        list(fresh.load(io.BytesIO(tamper(archive, link_out))))
    assert fresh.store.ids() == []


def test_load_oci_layout(svc, tmp_path):
    image_id = do_import(svc, {"a": b"1"})
    raw = svc.store.get(image_id)
    layer = b"".join(svc.layers.tar(svc.resolve(image_id).top_chain_id))
    gz = gzip.compress(layer)
    import hashlib

    def d(b):
        return "sha256:" + hashlib.sha256(b).hexdigest()

    manifest = json.dumps({"schemaVersion": 2, "config": {"digest": d(raw), "size": len(raw)},
                           "layers": [{"digest": d(gz), "size": len(gz),
                                       "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip"}]}).encode()
    index = json.dumps({"schemaVersion": 2, "manifests": [
        {"digest": d(manifest), "size": len(manifest),
         "annotations": {"io.containerd.image.name": "docker.io/library/oci:1"}}]}).encode()
    files = {"oci-layout": b'{"imageLayoutVersion":"1.0.0"}', "index.json": index}
    for b in (raw, gz, manifest):
        files["blobs/sha256/" + d(b)[7:]] = b
    fresh = new_service(tmp_path / "b")
    out = list(fresh.load(io.BytesIO(make_tar(files)), quiet=True))
    assert out == [{"stream": "Loaded image: oci:1\n"}]
    assert fresh.resolve("oci:1").id == image_id


def test_concurrent_load_import_remove(svc, tmp_path):
    """Loads, imports and removes from several threads: every load ends whole, and a
    remove's layer prune never takes a layer that another thread just registered."""
    import threading

    sources = []
    for n in range(4):
        src = new_service(tmp_path / f"src{n}")
        do_import(src, {f"f{n}": bytes([n]) * (1000 + n)}, f"img{n}", "1")
        sources.append(save_bytes(src, [f"img{n}:1"]))
    errors: list[BaseException] = []

    def worker(n: int) -> None:
        try:
            for _ in range(3):
                list(svc.load(io.BytesIO(sources[n]), quiet=True))
                do_import(svc, {"x": bytes([n])}, f"tmp{n}", "1")
                svc.remove(f"tmp{n}:1")
        except BaseException as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    for n in range(4):
        rec = svc.resolve(f"img{n}:1")
        assert b"".join(svc.layers.tar(rec.top_chain_id))
    assert len(svc.store.ids()) == 4 and len(svc.layers.layers()) == 4


@pytest.mark.parametrize("config", [
    {"rootfs": {"type": "layers", "diff_ids": "x"}},
    {"rootfs": {"type": "layers", "diff_ids": ["nope"]}},
    {"rootfs": {"type": "layers", "diff_ids": []}, "created": 5},
    {"rootfs": {"type": "layers", "diff_ids": []}, "created": "yesterday"},
    {"rootfs": {"type": "layers", "diff_ids": []}, "config": []},
    {"rootfs": {"type": "layers", "diff_ids": []}, "history": ["x"]},
    {"rootfs": {"type": "layers", "diff_ids": []}, "config": {"Labels": {"a": 1}}},
])
def test_load_refuses_ill_typed_configs(svc, config):
    archive = make_tar({"manifest.json": json.dumps([{"Config": "c.json", "Layers": []}]).encode(),
                        "c.json": json.dumps(config).encode()})
    with pytest.raises(InvalidArgument, match="invalid image config"):
        list(svc.load(io.BytesIO(archive)))
    assert svc.store.ids() == []
    assert svc.list() == []


def test_unreadable_archive_leaves_no_scratch(svc):
    for payload in (b"garbage" * 100, gzip.compress(b"x" * 1000)[:-10]):
        with pytest.raises(InvalidArgument):
            list(svc.load(io.BytesIO(payload)))
    assert svc.work_dir is not None and list(svc.work_dir.iterdir()) == []
