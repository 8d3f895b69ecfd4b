"""ImageService against the real stores (vfs layers under tmp_path)."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile

import pytest

from tugboat.engine.images import ImageService
from tugboat.errors import Conflict, InvalidArgument, NotFound
from tugboat.store.images import ImageStore
from tugboat.store.layers import LayerStore


def make_tar(files: dict[str, bytes], mtime: int = 1_600_000_000) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tf:
        for name, data in files.items():
            ti = tarfile.TarInfo(name)
            ti.size, ti.mtime, ti.mode = len(data), mtime, 0o644
            tf.addfile(ti, io.BytesIO(data))
    return buf.getvalue()


class Users:
    """A stand-in for the container service's view of which containers use an image."""

    def __init__(self) -> None:
        self.using: dict[str, list[str]] = {}
        self.running: dict[str, list[str]] = {}


def new_service(root, users: Users | None = None) -> ImageService:
    users = users or Users()
    return ImageService(ImageStore(root / "image"), LayerStore(root, driver="vfs"),
                        in_use=lambda i: users.using.get(i, []), running=lambda i: users.running.get(i, []))


@pytest.fixture
def users() -> Users:
    return Users()


@pytest.fixture
def svc(tmp_path, users) -> ImageService:
    return new_service(tmp_path / "a", users)


def do_import(svc: ImageService, files: dict[str, bytes], repo: str | None = None, tag: str | None = None,
              changes: list[str] | None = None, compress: bool = False) -> str:
    data = make_tar(files)
    if compress:
        data = gzip.compress(data)
    out = list(svc.import_image(io.BytesIO(data), repo, tag, changes or []))
    assert len(out) == 1 and out[0]["status"].startswith("sha256:")
    return out[0]["status"]


def child_of(svc: ImageService, parent: str, files: dict[str, bytes], ref: str | None = None,
             created: str = "2030-01-01T00:00:00Z") -> str:
    """An image with one more layer, linked to its parent (as commit/build make them)."""
    pcfg = json.loads(svc.store.get(parent))
    cfg = {**pcfg, "created": created, "parent": parent,
           "history": pcfg["history"] + [{"created": created, "created_by": "/bin/sh -c touch x"}]}
    return svc.create_image(cfg, io.BytesIO(make_tar(files)), parent=parent, ref=ref)


# ---- import / inspect / resolve --------------------------------------------------------------

def test_import_with_changes_and_inspect(svc):
    image_id = do_import(svc, {"etc/hello": b"hello\n"}, "myapp", "1",
                         ['CMD ["/bin/x"]', "ENV A=b", "EXPOSE 80", "LABEL k=v"], compress=True)
    raw = svc.store.get(image_id)
    assert "sha256:" + hashlib.sha256(raw).hexdigest() == image_id
    cfg = json.loads(raw)
    assert list(cfg) == sorted(cfg)  # image.Image.MarshalJSON sorts the top level
    assert cfg["history"] == [{"created": cfg["created"], "comment": "Imported from -"}]
    assert cfg["architecture"] and cfg["os"] == "linux"
    info = svc.inspect("myapp:1")
    assert info["Id"] == image_id and info["RepoTags"] == ["myapp:1"] and info["RepoDigests"] == []
    assert info["Config"]["Cmd"] == ["/bin/x"] and info["Config"]["Env"] == ["A=b"]
    assert info["Config"]["ExposedPorts"] == {"80/tcp": {}} and info["Config"]["Labels"] == {"k": "v"}
    assert info["ContainerConfig"]["Cmd"] is None and info["ContainerConfig"]["Hostname"] == ""
    assert info["Comment"] == "Imported from -"
    assert info["RootFS"]["Type"] == "layers" and len(info["RootFS"]["Layers"]) == 1
    assert info["Size"] == info["VirtualSize"] == 6
    assert info["GraphDriver"]["Name"] == "vfs"
    assert info["Metadata"]["LastTagTime"] != "0001-01-01T00:00:00Z"
    assert info["Parent"] == "" and info["Os"] == "linux"
    assert svc.resolve("myapp:1").top_chain_id == info["RootFS"]["Layers"][0]


def test_import_message_and_errors(svc):
    data = make_tar({"a": b"1"})
    out = list(svc.import_image(io.BytesIO(data), None, None, [], message="msg"))
    assert svc.inspect(out[0]["status"])["Comment"] == "msg"
    with pytest.raises(InvalidArgument, match="^run is not a valid change command$"):
        list(svc.import_image(io.BytesIO(data), "x", None, ["RUN ls"]))
    with pytest.raises(InvalidArgument, match="^cannot import digest reference$"):
        list(svc.import_image(io.BytesIO(data), "x@sha256:" + "a" * 64, None, []))
    with pytest.raises(InvalidArgument, match="must be lowercase"):
        list(svc.import_image(io.BytesIO(data), "Xy", None, []))


def test_import_untagged_name_gets_latest(svc):
    image_id = do_import(svc, {"a": b"1"}, "user/app")
    assert svc.resolve("user/app").id == image_id
    assert svc.resolve("docker.io/user/app:latest").repo_tags == ("user/app:latest",)


def test_resolve_by_id_forms(svc):
    image_id = do_import(svc, {"a": b"1"}, "busybox")
    hexid = image_id[7:]
    for ref in ("busybox", "busybox:latest", "docker.io/library/busybox:latest", image_id, hexid, hexid[:12],
                "sha256:" + hexid[:5], hexid[:1]):
        assert svc.resolve(ref).id == image_id, ref


def test_not_found_messages(svc):
    with pytest.raises(NotFound, match="^No such image: zzz:latest$"):
        svc.resolve("zzz")
    with pytest.raises(NotFound, match="^No such image: zzz:1$"):
        svc.resolve("zzz:1")
    with pytest.raises(NotFound, match="^No such image: sha256:" + "0" * 64 + "$"):
        svc.resolve("sha256:" + "0" * 64)
    with pytest.raises(NotFound, match="^no such image: zzz: No such image: zzz:latest$"):
        svc.inspect("zzz")
    with pytest.raises(InvalidArgument, match="^no such image: Foo: invalid reference format: repository name must"):
        svc.inspect("Foo")


def test_ambiguous_prefix_is_not_found(svc):
    ids = [svc.store.put(json.dumps({"n": i, "rootfs": {"type": "layers", "diff_ids": []}}).encode())
           for i in range(40)]
    by_first: dict[str, list[str]] = {}
    for i in ids:
        by_first.setdefault(i[7], []).append(i)
    first, group = next((k, v) for k, v in by_first.items() if len(v) > 1)
    with pytest.raises(NotFound):
        svc.resolve(first)
    assert svc.resolve(group[0][7:20]).id == group[0]


# ---- tag ---------------------------------------------------------------------------------------

def test_tag_rules(svc):
    image_id = do_import(svc, {"a": b"1"}, "busybox")
    svc.tag("busybox", "localhost:5000/x", "v1")
    svc.tag(image_id[7:13], "user/app", None)
    svc.tag("busybox", "foo:y", "x")
    # sorted by the normalized string, as dockerd's reference store does
    assert svc.resolve(image_id).repo_tags == ("busybox:latest", "foo:x", "user/app:latest",
                                               "localhost:5000/x:v1")
    with pytest.raises(InvalidArgument, match="^invalid tag format$"):
        svc.tag("busybox", "foo", "-x")
    with pytest.raises(InvalidArgument, match="^refusing to create a tag with a digest reference$"):
        svc.tag("busybox", "foo@sha256:" + "a" * 64, None)
    with pytest.raises(InvalidArgument, match="cannot specify 64-byte hexadecimal strings"):
        svc.tag("busybox", "a" * 64, None)
    with pytest.raises(InvalidArgument, match="^invalid reference format$"):
        svc.tag("busybox", "", "x")
    with pytest.raises(NotFound, match="^No such image: nope:latest$"):
        svc.tag("nope", "foo", "x")


def test_tag_moves_between_images(svc):
    a = do_import(svc, {"a": b"1"}, "app", "1")
    b = do_import(svc, {"b": b"2"})
    svc.tag(b, "app", "1")
    assert svc.resolve("app:1").id == b
    assert svc.list(filters={"dangling": ["true"]})[0]["Id"] == a


# ---- remove ------------------------------------------------------------------------------------

def test_remove_by_tag_only_untags_when_other_tags(svc):
    image_id = do_import(svc, {"a": b"1"}, "busybox")
    svc.tag("busybox", "other", "1")
    assert svc.remove("busybox") == [{"Untagged": "busybox:latest"}]
    assert svc.resolve("other:1").id == image_id
    out = svc.remove("other:1")
    assert out[0] == {"Untagged": "other:1"} and out[1] == {"Deleted": image_id}
    assert len(out) == 3 and out[2]["Deleted"].startswith("sha256:")  # the layer
    assert svc.store.ids() == [] and svc.layers.layers() == []


def test_remove_by_id_with_several_tags_needs_force(svc):
    image_id = do_import(svc, {"a": b"1"}, "busybox")
    svc.tag("busybox", "other", "1")
    with pytest.raises(Conflict) as ei:
        svc.remove(image_id[7:19])
    assert str(ei.value) == (f"conflict: unable to delete {image_id[7:19]} (must be forced) - "
                             "image is referenced in multiple repositories")
    out = svc.remove(image_id[7:19], force=True)
    assert out[:3] == [{"Untagged": "busybox:latest"}, {"Untagged": "other:1"}, {"Deleted": image_id}]


def test_remove_by_id_single_tag(svc):
    image_id = do_import(svc, {"a": b"1"}, "busybox")
    out = svc.remove(image_id)
    assert out[:2] == [{"Untagged": "busybox:latest"}, {"Deleted": image_id}]


def test_remove_image_in_use(svc, users):
    image_id = do_import(svc, {"a": b"1"}, "busybox")
    cid = "c" * 64
    users.using[image_id] = [cid]
    with pytest.raises(Conflict) as ei:
        svc.remove("busybox")
    assert str(ei.value) == (f'conflict: unable to remove repository reference "busybox" (must force) - '
                             f"container {cid[:12]} is using its referenced image {image_id[7:19]}")
    with pytest.raises(Conflict) as ei:
        svc.remove(image_id)
    assert str(ei.value) == (f"conflict: unable to delete {image_id[7:19]} (must be forced) - "
                             f"image is being used by stopped container {cid[:12]}")
    users.running[image_id] = [cid]
    with pytest.raises(Conflict, match=r"\(cannot be forced\) - image is being used by running container"):
        svc.remove(image_id, force=True)
    users.running.clear()
    out = svc.remove("busybox", force=True)
    assert out[:2] == [{"Untagged": "busybox:latest"}, {"Deleted": image_id}]


def test_remove_prunes_dangling_parents(svc):
    base = do_import(svc, {"a": b"1"}, "base")
    mid = child_of(svc, base, {"b": b"2"})
    top = child_of(svc, mid, {"c": b"3"}, ref="top:1")
    svc.remove("base")  # untag: base is now an intermediate image
    with pytest.raises(Conflict, match="image has dependent child images"):
        svc.remove(mid)
    assert [s["Id"] for s in svc.list()] == [top]
    assert {s["Id"] for s in svc.list(all=True)} == {base, mid, top}
    out = svc.remove("top:1")
    deleted = [r["Deleted"] for r in out if "Deleted" in r]
    assert out[0] == {"Untagged": "top:1"}
    assert [d for d in deleted if d in (top, mid, base)] == [top, mid, base]
    assert svc.store.ids() == [] and svc.layers.layers() == []


def test_remove_noprune_keeps_parents(svc):
    base = do_import(svc, {"a": b"1"})
    top = child_of(svc, base, {"b": b"2"}, ref="top:1")
    out = svc.remove("top:1", noprune=True)
    assert {"Deleted": top} in out and base in svc.store.ids()
    assert svc.layers.exists(svc.resolve(base).top_chain_id)


def test_remove_missing(svc):
    with pytest.raises(NotFound, match="^No such image: zzz:latest$"):
        svc.remove("zzz")


# ---- list --------------------------------------------------------------------------------------

def test_list_shapes_and_filters(svc):
    a = do_import(svc, {"a": b"1"}, "busybox", "1", ["LABEL color=red size=xl"])
    b = do_import(svc, {"b": b"22"}, "user/app", "2")
    c = do_import(svc, {"c": b"333"})
    items = {s["Id"]: s for s in svc.list()}
    assert set(items) == {a, b, c}
    assert items[a]["RepoTags"] == ["busybox:1"] and items[a]["RepoDigests"] is None
    assert items[a]["Labels"] == {"color": "red", "size": "xl"} and items[b]["Labels"] is None
    assert items[c]["RepoTags"] == ["<none>:<none>"] and items[c]["RepoDigests"] == ["<none>@<none>"]
    assert items[b]["Size"] == items[b]["VirtualSize"] == 2
    assert set(items[a]) == {"Containers", "Created", "Id", "Labels", "ParentId", "RepoDigests", "RepoTags",
                             "SharedSize", "Size", "VirtualSize"}
    assert items[a]["SharedSize"] == -1 and items[a]["Containers"] == -1 and items[a]["ParentId"] == ""

    def ids(**f):
        return {s["Id"] for s in svc.list(filters={k: v for k, v in f.items()})}

    assert ids(dangling=["true"]) == {c}
    assert ids(dangling=["false"]) == {a, b}
    assert ids(reference=["busy*"]) == {a}
    assert ids(reference=["busybox:*"]) == {a}
    assert ids(reference=["user/*"]) == {b}
    assert ids(reference=["*"]) == {a}  # '*' does not cross '/'
    assert ids(label=["color"]) == {a}
    assert ids(label=["color=red", "size=xl"]) == {a}
    assert ids(label=["color=blue"]) == set()
    with pytest.raises(InvalidArgument, match="^Invalid filter 'xyz'$"):
        svc.list(filters={"xyz": ["1"]})
    with pytest.raises(InvalidArgument, match=r"^Invalid filter 'dangling=\[maybe\]'$"):
        svc.list(filters={"dangling": ["maybe"]})
    with pytest.raises(NotFound, match="^No such image: nope:latest$"):
        svc.list(filters={"before": ["nope"]})


def test_list_before_since(svc):
    base = do_import(svc, {"a": b"1"}, "base")
    mid = child_of(svc, base, {"b": b"2"}, ref="mid:1", created="2030-01-01T00:00:00Z")
    top = child_of(svc, mid, {"c": b"3"}, ref="top:1", created="2031-01-01T00:00:00Z")
    assert [s["Id"] for s in svc.list()] == [top, mid, base]
    assert {s["Id"] for s in svc.list(filters={"before": ["mid:1"]})} == {base}
    assert {s["Id"] for s in svc.list(filters={"since": ["mid:1"]})} == {top}
    assert svc.list()[0]["ParentId"] == mid


# ---- history -----------------------------------------------------------------------------------

def test_history(svc):
    base = do_import(svc, {"a": b"1"}, "base", changes=["CMD x"])
    top = child_of(svc, base, {"bb": b"22"}, ref="top:1")
    hist = svc.history("top:1")
    assert [h["Id"] for h in hist] == [top, base]
    assert hist[0]["Tags"] == ["top:1"] and hist[1]["Tags"] == ["base:latest"]
    assert hist[0]["CreatedBy"] == "/bin/sh -c touch x" and hist[0]["Size"] == 2
    assert hist[1]["Comment"] == "Imported from -" and hist[1]["Size"] == 1
    assert set(hist[0]) == {"Comment", "Created", "CreatedBy", "Id", "Size", "Tags"}
    svc.remove("base")
    assert svc.history(top)[1]["Id"] == base and svc.history(top)[1]["Tags"] is None
    # an image whose parent is not local shows <missing>
    cfg = json.loads(svc.store.get(top))
    cfg["parent"] = ""
    orphan = svc.create_image(cfg)
    assert [h["Id"] for h in svc.history(orphan)] == [orphan, "<missing>"]


def test_import_errors_raise_before_streaming(svc):
    with pytest.raises(InvalidArgument, match="^foo is not a valid change command$"):
        svc.import_image(io.BytesIO(make_tar({"a": b"1"})), None, None, ["FOO x"])  # no iteration needed
    assert svc.store.ids() == [] and svc.layers.layers() == []


# ---- prune ----------------------------------------------------------------------------------------

def test_prune_dangling_by_default(svc, users):
    tagged = do_import(svc, {"a": b"1"}, "keep", "1")
    dangling = do_import(svc, {"b": b"22"})
    used = do_import(svc, {"c": b"333"})
    users.using[used] = ["c" * 64]
    base = do_import(svc, {"d": b"4444"})
    child_of(svc, base, {"e": b"5"}, ref="child:1")  # base is an intermediate image: kept
    report = svc.prune()
    assert [d for d in report["ImagesDeleted"] if d.get("Deleted") == dangling]
    assert report["SpaceReclaimed"] == 2
    assert set(svc.store.ids()) == {tagged, used, base, svc.resolve("child:1").id}
    assert svc.prune() == {"ImagesDeleted": None, "SpaceReclaimed": 0}


def test_prune_all_and_filters(svc):
    old = do_import(svc, {"a": b"1"}, "old", "1", ["LABEL keep=no"])
    new = do_import(svc, {"b": b"22"}, "new", "1", ["LABEL keep=yes"])
    report = svc.prune({"dangling": ["false"], "label!": ["keep=yes"]})
    assert {"Untagged": "old:1"} in report["ImagesDeleted"] and {"Deleted": old} in report["ImagesDeleted"]
    assert svc.store.ids() == [new]
    assert svc.prune({"dangling": ["false"], "until": ["2000-01-01T00:00:00Z"]})["ImagesDeleted"] is None
    assert svc.prune({"dangling": ["false"], "label": ["keep=yes"]})["SpaceReclaimed"] == 2
    with pytest.raises(InvalidArgument, match="^Invalid filter 'reference'$"):
        svc.prune({"reference": ["x"]})
    with pytest.raises(InvalidArgument, match=r"^Invalid filter 'dangling=\[maybe\]'$"):
        svc.prune({"dangling": ["maybe"]})
