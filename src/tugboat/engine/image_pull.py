"""docker pull: manifest -> config -> layers, as dockerd's distribution/pull_v2.go does it.

Everything before the first progress message (parsing the reference, reaching the registry,
the manifest) raises, so the API answers a plain HTTP error ("manifest for x:1 not found:
...").  After it, the work runs in a thread (``stream_job``) and failures become an
``errorDetail`` line.

Nothing unverified is stored: the manifest is checked against a requested digest, the
config against its descriptor (its digest *is* the image ID), every layer blob against
its digest while it downloads into the image service's scratch directory, and each layer
is registered with the diff ID the config promises.  Layers whose chain ID already exists
are not downloaded.  Registration, the config and the references happen under the image
lock in one go; if any of it fails the layers registered so far are pruned again, so a
failed pull leaves nothing behind.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from tugboat.engine.image_config import chain_ids
from tugboat.engine.reference import Reference, is_digest, parse_normalized_named
from tugboat.engine.registry.auth import AuthConfig
from tugboat.engine.registry.client import RegistryClient, Repository
from tugboat.engine.registry.endpoint import DOCKER_IO, RegistryOptions
from tugboat.engine.registry.errors import RegistryError, translate_pull_error
from tugboat.engine.registry.manifest import (
    ACCEPT,
    DOCKER_LIST,
    OCI_INDEX,
    SCHEMA1,
    Descriptor,
    ImageManifest,
    detect_kind,
    image_manifest,
    parse_platform,
    schema1_error,
    select_platform,
)
from tugboat.engine.registry.progress import msg, short, stream_job
from tugboat.errors import InvalidArgument, TugboatError

if TYPE_CHECKING:
    from tugboat.engine.images import ImageService

Emit = Callable[[dict[str, Any]], None]
CHUNK = 1 << 20
REPORT_EVERY = 0.1   # seconds between "Downloading"/"Extracting" updates of one layer


def pull_reference(from_image: str, tag: str | None) -> Reference:
    """postImagesCreate + PullImage: ``tag`` may be a tag or a digest; a bare name means
    "all tags" (the CLI adds :latest unless -a)."""
    ref = parse_normalized_named(from_image)
    if tag:
        if is_digest(tag):
            ref = Reference(ref.domain, ref.path, "", tag)
        else:
            ref = ref.with_tag(tag)
    return ref


class Resolved:
    """A manifest resolved down to one image for this platform."""

    def __init__(self, ref: Reference, digest: str, manifest: ImageManifest, from_list: bool = False) -> None:
        self.ref = ref
        self.digest = digest
        self.manifest = manifest
        self.from_list = from_list   # picked from a manifest list by platform already


def _sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def resolve(repo: Repository, ref: Reference, platform: str, arch: str) -> Resolved:
    """GET the manifest (by tag or digest); descend a list/index to the platform's entry."""
    want = parse_platform(platform, arch)
    target = ref.digest or ref.tag
    body, ctype, _hdr = repo.get_manifest(target, ACCEPT)
    if ref.digest and _sha256(body) != ref.digest:
        raise TugboatError(f"manifest verification failed for digest {ref.digest}")
    digest = _sha256(body)
    kind, obj = detect_kind(body, ctype)
    if kind in SCHEMA1:
        raise schema1_error(str(ref))
    if kind in (DOCKER_LIST, OCI_INDEX):
        entry = select_platform(obj, want, str(ref))
        body, ctype, _hdr = repo.get_manifest(entry.digest, ACCEPT)
        if _sha256(body) != entry.digest:
            raise TugboatError(f"manifest verification failed for digest {entry.digest}")
        kind, obj = detect_kind(body, ctype)
        if kind in SCHEMA1:
            raise schema1_error(str(ref))
        if kind in (DOCKER_LIST, OCI_INDEX):
            raise InvalidArgument("invalid manifest: a manifest list inside a manifest list")
        return Resolved(ref, digest, image_manifest(obj), from_list=True)
    return Resolved(ref, digest, image_manifest(obj))


class _Counting:
    """A read-only file that reports how far it has been read (for "Extracting")."""

    def __init__(self, f: BinaryIO, report: Callable[[int], None]) -> None:
        self._f = f
        self._report = report
        self.n = 0

    def read(self, n: int = -1) -> bytes:
        data = self._f.read(n)
        self.n += len(data)
        self._report(self.n)
        return data

    def readable(self) -> bool:
        return True


class _Throttle:
    def __init__(self, emit: Emit) -> None:
        self._emit = emit
        self._last = 0.0

    def __call__(self, status: str, id: str, current: int, total: int, force: bool = False) -> None:
        now = time.monotonic()
        if force or now - self._last >= REPORT_EVERY:
            self._last = now
            self._emit(msg(status, id, current, total))


class Puller:
    """One POST /images/create?fromImage=... ."""

    def __init__(self, svc: ImageService, options: RegistryOptions, auth: AuthConfig, platform: str = "",
                 max_downloads: int = 3) -> None:
        self.svc = svc
        self.options = options
        self.auth = auth
        self.platform = platform or ""
        self.max_downloads = max(1, max_downloads)

    def pull(self, from_image: str, tag: str | None) -> Iterator[dict[str, Any]]:
        from tugboat.engine.images import host_arch
        ref = pull_reference(from_image, tag)
        repo, refs, first = self._first_endpoint(ref, host_arch())

        def work(emit: Emit) -> None:
            updated = False
            for i, r in enumerate(refs):
                try:
                    resolved = first if i == 0 else resolve(repo, r, self.platform, host_arch())
                except RegistryError as e:
                    raise translate_pull_error(e, r.familiar_name(), r.familiar()) from None
                if i:
                    emit({"status": f"Pulling from {r.path}", "id": r.tag})
                updated = self._pull_one(repo, resolved, emit) or updated
                if len(refs) == 1:
                    emit(msg(f"Digest: {resolved.digest}"))
            word = "Downloaded newer image for" if updated else "Image is up to date for"
            publish = getattr(self.svc, "_publish", None)
            if publish is not None:   # dockerd's "pull" event names the reference, not the image
                publish(ref.familiar(), ref.familiar(), "pull")
            emit(msg(f"Status: {word} {ref.familiar()}"))

        return self._prefixed({"status": f"Pulling from {ref.path}", "id": refs[0].digest or refs[0].tag},
                              stream_job(work))

    def _first_endpoint(self, ref: Reference, arch: str) -> tuple[Repository, list[Reference], Resolved]:
        """Resolve the (first) manifest, trying docker.io's registry-mirrors before the registry
        itself: any failure on a mirror falls through to the next endpoint (continueOnError)."""
        mirrors = self.options.mirrors if ref.domain == DOCKER_IO else []
        endpoints: list[str | None] = [*mirrors, None]
        for i, mirror in enumerate(endpoints):
            repo = Repository(RegistryClient(ref.domain, self.options, self.auth, mirror=mirror), ref.path)
            try:
                refs = [ref.with_tag(t) for t in sorted(repo.tags())] if ref.is_name_only else [ref]
                if not refs:
                    raise TugboatError(f"no tags found for {ref.familiar_name()}")
                return repo, refs, resolve(repo, refs[0], self.platform, arch)
            except RegistryError as e:
                if i + 1 < len(endpoints):
                    continue
                raise translate_pull_error(e, ref.familiar_name(), ref.tag_name_only().familiar()) from None
            except (TugboatError, OSError):
                if i + 1 < len(endpoints):
                    continue
                raise
        raise AssertionError("unreachable")  # pragma: no cover

    @staticmethod
    def _prefixed(first: dict[str, Any], rest: Iterator[dict[str, Any]]) -> Iterator[dict[str, Any]]:
        yield first
        yield from rest

    def _pull_one(self, repo: Repository, res: Resolved, emit: Emit) -> bool:
        """One image: config, missing layers, then everything stored at once.  True if the
        tag (or digest) now names a different image than before."""
        man = res.manifest
        config_bytes = self._fetch_small(repo, man.config, "image config")
        image_id = man.config.digest
        try:
            cfg = json.loads(config_bytes)
            diff_ids = [str(d) for d in (cfg.get("rootfs") or {}).get("diff_ids") or []]
        except (ValueError, AttributeError) as e:
            raise InvalidArgument(f"invalid image config: {e}") from None
        if len(diff_ids) != len(man.layers):
            raise InvalidArgument("layers from manifest don't match image configuration")
        if not res.from_list:
            self._check_platform(res.ref, cfg)
        chains = chain_ids(diff_ids)
        complete = self.svc.store.exists(image_id) and all(self.svc.layers.exists(c) for c in chains)
        scratch = Path(tempfile.mkdtemp(prefix="pull-", dir=self.svc.work_dir))
        try:
            files = {} if complete else self._fetch_layers(repo, man.layers, chains, scratch, emit)
            with self.svc.lock:
                try:
                    self._register(man.layers, diff_ids, chains, files, emit)
                    old = self._commit(res, config_bytes, image_id, chains)
                except BaseException:
                    self.svc._prune_layers()
                    raise
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        for desc, diff_id in zip(man.layers, diff_ids, strict=True):
            self.svc.distribution.add(diff_id, desc.digest, res.ref.name, desc.media_type)
        return old != image_id

    def _check_platform(self, ref: Reference, cfg: dict[str, Any]) -> None:
        """An explicitly requested platform must match a single-platform image (dockerd 20.10)."""
        if not self.platform:
            return
        from tugboat.engine.images import host_arch
        want = parse_platform(self.platform, host_arch())
        got = parse_platform("/".join(p for p in (str(cfg.get("os") or "linux"), str(cfg.get("architecture") or ""),
                                                 str(cfg.get("variant") or "")) if p), host_arch())
        if (got.os, got.architecture) != (want.os, want.architecture) or \
                (want.variant and got.variant != want.variant):
            raise InvalidArgument(f"image with reference {ref.familiar()} was found but does not match the "
                                  f"specified platform: wanted {want}, actual: {got}")

    def _fetch_small(self, repo: Repository, desc: Descriptor, what: str) -> bytes:
        if not desc.digest.startswith("sha256:"):
            raise InvalidArgument(f"unsupported digest algorithm in {desc.digest}")
        with repo.open_blob(desc.digest) as r:
            data = r.read()
        if _sha256(data) != desc.digest:
            raise TugboatError(f"{what} verification failed for digest {desc.digest}")
        return data

    # ---- layers --------------------------------------------------------------------

    def _fetch_layers(self, repo: Repository, layers: list[Descriptor], chains: list[str],
                      scratch: Path, emit: Emit) -> dict[str, Path]:
        """Download (in parallel, verified) the layers whose chain ID is not here yet."""
        todo: list[Descriptor] = []
        for desc, chain in zip(layers, chains, strict=True):
            if self.svc.layers.exists(chain):
                emit(msg("Already exists", short(desc.digest)))
            elif all(d.digest != desc.digest for d in todo):   # the same blob twice: one download
                emit(msg("Pulling fs layer", short(desc.digest)))
                todo.append(desc)
        for desc in todo[self.max_downloads:]:
            emit(msg("Waiting", short(desc.digest)))
        files: dict[str, Path] = {}
        if not todo:
            return files
        with ThreadPoolExecutor(max_workers=self.max_downloads, thread_name_prefix="pull") as pool:
            futures = {d.digest: pool.submit(self._download, repo, d, scratch, emit) for d in todo}
            try:
                for digest, fut in futures.items():
                    files[digest] = fut.result()
            except BaseException:
                for fut in futures.values():
                    fut.cancel()
                raise
        return files

    def _download(self, repo: Repository, desc: Descriptor, scratch: Path, emit: Emit) -> Path:
        id = short(desc.digest)
        if not desc.digest.startswith("sha256:"):
            raise InvalidArgument(f"unsupported digest algorithm in {desc.digest}")
        path = scratch / desc.digest.split(":", 1)[1]
        sha = hashlib.sha256()
        n = 0
        report = _Throttle(emit)
        with repo.open_blob(desc.digest) as r, open(path, "wb") as f:
            total = desc.size or int(r.header("Content-Length") or 0)
            while chunk := r.read(CHUNK):
                sha.update(chunk)
                f.write(chunk)
                n += len(chunk)
                report("Downloading", id, n, total)
        report("Downloading", id, n, total, force=True)
        emit(msg("Verifying Checksum", id))
        if "sha256:" + sha.hexdigest() != desc.digest or (desc.size and n != desc.size):
            raise TugboatError(f"filesystem layer verification failed for digest {desc.digest}")
        emit(msg("Download complete", id))
        return path

    def _register(self, layers: list[Descriptor], diff_ids: list[str], chains: list[str],
                  files: dict[str, Path], emit: Emit) -> None:
        """Unpack the downloaded layers bottom-up (the caller holds the image lock)."""
        for i, desc in enumerate(layers):
            if desc.digest not in files:
                continue
            id = short(desc.digest)
            report = _Throttle(emit)
            parent = chains[i - 1] if i else None
            size = desc.size

            def extracting(n: int, _id: str = id, _size: int = size, _report: _Throttle = report) -> None:
                _report("Extracting", _id, n, _size)

            with open(files[desc.digest], "rb") as f:
                self.svc.layers.register(_Counting(f, extracting), parent, diff_ids[i])
            report("Extracting", id, desc.size, desc.size, force=True)
            emit(msg("Pull complete", id))

    def _commit(self, res: Resolved, config_bytes: bytes, image_id: str, chains: list[str]) -> str | None:
        """Config and references (under the caller's lock); returns the image the
        reference named before."""
        for c in chains:
            self.svc.layers.get(c)
        if self.svc.store.put(config_bytes) != image_id:
            raise TugboatError(f"image config verification failed for digest {image_id}")
        ref = res.ref
        old = self.svc.store.references().get(str(ref.tag_name_only() if not ref.digest else ref))
        self.svc.store.set_reference(str(Reference(ref.domain, ref.path, "", res.digest)), image_id)
        if ref.tag:
            self.svc._add_tag(ref, image_id)
        return old
