"""ImageStore: content-addressed configs, parent links, metadata and references, persisted."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from tugboat.errors import InvalidArgument, NotFound, TugboatError
from tugboat.store.images import ImageStore, repository_of

CONFIG = b'{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}'


def test_put_get_is_content_addressed(tmp_path: Path) -> None:
    s = ImageStore(tmp_path)
    image_id = s.put(CONFIG)
    assert image_id == "sha256:" + hashlib.sha256(CONFIG).hexdigest()
    assert s.put(CONFIG) == image_id
    assert s.get(image_id) == CONFIG and s.get(image_id[7:]) == CONFIG
    assert s.exists(image_id) and s.ids() == [image_id]
    assert not s.exists("sha256:../../etc") and not s.exists("nope")
    with pytest.raises(NotFound, match="No such image"):
        s.get("sha256:" + "0" * 64)
    with pytest.raises(InvalidArgument):
        s.put(b"not json")


def test_parent_meta_references_persist(tmp_path: Path) -> None:
    s = ImageStore(tmp_path)
    a = s.put(CONFIG)
    b = s.put(CONFIG.replace(b"amd64", b"arm64"))
    s.set_parent(b, a)
    s.set_meta(a, "lastUpdated", "2024-01-01T00:00:00Z")
    s.set_reference("docker.io/library/busybox:latest", a)
    s.set_reference("docker.io/library/busybox@sha256:" + "1" * 64, a)
    s.set_reference("example.com:5000/x/y:1", b)
    again = ImageStore(tmp_path)
    assert again.get_parent(b) == a and again.get_parent(a) is None
    assert again.children(a) == [b]
    assert again.get_meta(a, "lastUpdated") == "2024-01-01T00:00:00Z"
    assert again.get_meta(a, "missing", 7) == 7
    assert again.references() == s.references()
    assert again.refs_for(a) == ["docker.io/library/busybox:latest", "docker.io/library/busybox@sha256:" + "1" * 64]
    repos = json.loads((tmp_path / "repositories.json").read_bytes())["Repositories"]
    assert set(repos) == {"docker.io/library/busybox", "example.com:5000/x/y"}


def test_reference_moves_and_deletes(tmp_path: Path) -> None:
    s = ImageStore(tmp_path)
    a, b = s.put(CONFIG), s.put(CONFIG + b" ")
    s.set_reference("docker.io/library/x:1", a)
    s.set_reference("docker.io/library/x:1", b)
    assert s.refs_for(a) == [] and s.refs_for(b) == ["docker.io/library/x:1"]
    assert s.delete_reference("docker.io/library/x:1") == b
    with pytest.raises(NotFound):
        s.delete_reference("docker.io/library/x:1")
    with pytest.raises(NotFound):
        s.set_reference("docker.io/library/x:2", "sha256:" + "9" * 64)


def test_delete_unlinks_children_and_references(tmp_path: Path) -> None:
    s = ImageStore(tmp_path)
    a, b = s.put(CONFIG), s.put(CONFIG + b"\n")
    s.set_parent(b, a)
    s.set_reference("docker.io/library/a:latest", a)
    s.delete(a)
    assert not s.exists(a) and s.get_parent(b) is None and s.references() == {}
    with pytest.raises(NotFound):
        s.delete(a)
    assert ImageStore(tmp_path).ids() == [b]


def test_corrupted_config_is_an_error(tmp_path: Path) -> None:
    s = ImageStore(tmp_path)
    a = s.put(CONFIG)
    (tmp_path / "imagedb/content/sha256" / a[7:]).write_bytes(CONFIG + b"x")
    with pytest.raises(TugboatError, match="corrupted"):
        s.get(a)


def test_repository_of() -> None:
    assert repository_of("docker.io/library/busybox:latest") == "docker.io/library/busybox"
    assert repository_of("localhost:5000/a/b") == "localhost:5000/a/b"
    assert repository_of("localhost:5000/a/b:v1") == "localhost:5000/a/b"
    assert repository_of("docker.io/library/busybox@sha256:" + "0" * 64) == "docker.io/library/busybox"
