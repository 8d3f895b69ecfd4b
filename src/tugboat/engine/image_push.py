"""docker push: layers, config, then a schema 2 manifest (dockerd's distribution/push_v2.go).

For each layer the cheapest way that works wins: a blob the registry already has in this
repository ("Layer already exists", known from pulls and earlier pushes through the
distribution metadata), a cross-repository mount from another repository of the same
registry ("Mounted from ..."), else the layer tar gzip-compressed (deterministically:
no timestamp, no name) and uploaded.  Compressed digests are recorded per layer and
registry repository, so pushing the same image again finds its blobs and produces the
same manifest digest.

As in dockerd, "The push refers to repository [...]" is written before anything is
checked: every later failure (no such local tag, registry down) is an errorDetail line.
"""

from __future__ import annotations

import gzip
import hashlib
import shutil
import tempfile
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tugboat.engine.image_config import chain_ids
from tugboat.engine.reference import Reference, parse, parse_normalized_named
from tugboat.engine.registry.auth import AuthConfig
from tugboat.engine.registry.client import RegistryClient, Repository
from tugboat.engine.registry.endpoint import RegistryOptions
from tugboat.engine.registry.errors import RegistryError
from tugboat.engine.registry.manifest import DOCKER_LAYER, DOCKER_MANIFEST, schema2_manifest
from tugboat.engine.registry.progress import msg, short, stream_job
from tugboat.errors import NotFound

if TYPE_CHECKING:
    from tugboat.engine.images import ImageService

Emit = Callable[[dict[str, Any]], None]
UPLOAD_CHUNK = 8 << 20     # larger blobs go up in PATCH chunks of this size
_GZIP_TYPES = {"", DOCKER_LAYER, "application/vnd.oci.image.layer.v1.tar+gzip"}


def _split(repo_name: str) -> tuple[str, str]:
    ref = parse(repo_name)
    if isinstance(ref, Reference):
        return ref.domain, ref.path
    return "", ""


class Pusher:
    def __init__(self, svc: ImageService, options: RegistryOptions, auth: AuthConfig) -> None:
        self.svc = svc
        self.options = options
        self.auth = auth

    def push(self, name: str, tag: str | None) -> Iterator[dict[str, Any]]:
        ref = parse_normalized_named(name)
        if tag:
            ref = ref.with_tag(tag)
        first = msg(f"The push refers to repository [{ref.name}]")

        def work(emit: Emit) -> None:
            targets = self._targets(ref)
            repo = Repository(RegistryClient(ref.domain, self.options, self.auth), ref.path, push=True)
            for tag_ref, image_id in targets:
                self._push_tag(repo, tag_ref, image_id, emit)

        def gen() -> Iterator[dict[str, Any]]:
            yield first
            yield from stream_job(work)
        return gen()

    def _targets(self, ref: Reference) -> list[tuple[Reference, str]]:
        """The tags to push: the one named, or every tag of the repository."""
        refs = self.svc.store.references()
        out: list[tuple[Reference, str]] = []
        for key, image_id in sorted(refs.items()):
            r = parse(key)
            if not isinstance(r, Reference) or r.name != ref.name or not r.tag:
                continue
            if ref.tag and r.tag != ref.tag:
                continue
            out.append((r, image_id))
        if not out:
            raise NotFound(f"An image does not exist locally with the tag: {ref.familiar_name()}")
        return out

    # ---- one tag -------------------------------------------------------------------

    def _push_tag(self, repo: Repository, ref: Reference, image_id: str, emit: Emit) -> None:
        with self.svc.lock:
            config_bytes = self.svc.store.get(image_id)
            cfg = self.svc._config(image_id)
        diff_ids = [str(d) for d in (cfg.get("rootfs") or {}).get("diff_ids") or []]
        chains = chain_ids(diff_ids)
        for diff_id in reversed(diff_ids):
            emit(msg("Preparing", short(diff_id)))
        limit = max(1, self.options.max_uploads)
        for diff_id in list(reversed(diff_ids))[limit:]:
            emit(msg("Waiting", short(diff_id)))
        scratch = Path(tempfile.mkdtemp(prefix="push-", dir=self.svc.work_dir))
        try:
            with ThreadPoolExecutor(max_workers=limit, thread_name_prefix="push") as pool:
                futures = [pool.submit(self._push_layer, repo, ref, d, c, scratch, emit)
                           for d, c in zip(diff_ids, chains, strict=True)]
                layers = [f.result() for f in futures]
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        config_digest = "sha256:" + hashlib.sha256(config_bytes).hexdigest()
        if repo.blob_size(config_digest) is None:
            loc = repo.start_upload()
            import io
            repo.upload(loc, config_digest, io.BytesIO(config_bytes), len(config_bytes), UPLOAD_CHUNK)
        manifest = schema2_manifest(config_digest, len(config_bytes), layers)
        digest = "sha256:" + hashlib.sha256(manifest).hexdigest()
        repo.put_manifest(ref.tag, manifest, DOCKER_MANIFEST)
        with self.svc.lock:
            if self.svc.store.exists(image_id):
                self.svc.store.set_reference(str(Reference(ref.domain, ref.path, "", digest)), image_id)
        publish = getattr(self.svc, "_publish", None)
        if publish is not None:
            publish(ref.familiar(), ref.familiar(), "push")
        emit(msg(f"{ref.tag}: digest: {digest} size: {len(manifest)}"))
        emit({"progressDetail": {}, "aux": {"Tag": ref.tag, "Digest": digest, "Size": len(manifest)}})

    # ---- one layer -----------------------------------------------------------------

    def _push_layer(self, repo: Repository, ref: Reference, diff_id: str, chain_id: str,
                    scratch: Path, emit: Emit) -> tuple[str, int]:
        """(compressed digest, size) of the layer in the target repository."""
        id = short(diff_id)
        meta = self.svc.distribution
        known = [e for e in meta.for_diff(diff_id)
                 if e.get("MediaType", "") in _GZIP_TYPES and _split(e.get("SourceRepository", ""))[0] == ref.domain]
        for e in known:
            if e["SourceRepository"] == ref.name:
                size = repo.blob_size(e["Digest"])
                if size is not None:
                    emit(msg("Layer already exists", id))
                    return e["Digest"], size
        for e in [e for e in known if e["SourceRepository"] != ref.name][:3]:
            source_path = _split(e["SourceRepository"])[1]
            try:
                if repo.mount_blob(e["Digest"], source_path) is None:
                    size = repo.blob_size(e["Digest"])
                    if size is not None:
                        meta.add(diff_id, e["Digest"], ref.name, DOCKER_LAYER)
                        emit(msg(f"Mounted from {source_path}", id))
                        return e["Digest"], size
            except RegistryError:
                continue
        path, digest, size = self._compress(chain_id, scratch)
        if repo.blob_size(digest) is not None:
            emit(msg("Layer already exists", id))
        else:
            loc = repo.start_upload()
            with open(path, "rb") as f:
                repo.upload(loc, digest, f, size, UPLOAD_CHUNK,
                            lambda n: emit(msg("Pushing", id, n, size)))
            emit(msg("Pushed", id))
        meta.add(diff_id, digest, ref.name, DOCKER_LAYER)
        return digest, size

    def _compress(self, chain_id: str, scratch: Path) -> tuple[Path, str, int]:
        """gzip the layer's diff tar into scratch; (path, digest, size).  Layers compress in
        parallel, so no service-wide lock is held here: if the image is removed and its layer
        pruned meanwhile, reading fails and the push reports that error, as it would with dockerd."""
        path = scratch / chain_id.split(":", 1)[1]
        sha = hashlib.sha256()

        class _Hashing:
            def __init__(self, f: Any) -> None:
                self.f = f
                self.n = 0

            def write(self, b: bytes) -> int:
                sha.update(b)
                self.n += len(b)
                return int(self.f.write(b))

            def flush(self) -> None:
                self.f.flush()

        with open(path, "wb") as raw:
            out = _Hashing(raw)
            chunks = self.svc.layers.tar(chain_id)
            with gzip.GzipFile(filename="", mode="wb", fileobj=out, mtime=0, compresslevel=6) as gz:
                for chunk in chunks:
                    gz.write(chunk)
        return path, "sha256:" + sha.hexdigest(), out.n
