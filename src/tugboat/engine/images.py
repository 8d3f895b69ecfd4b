"""The image service: resolve, list, inspect, tag, remove, history, import, save, load.

It sits on two stores (``ImageStore``: config blobs, parents, metadata and the
reference table; ``LayerStore``: layer snapshots) and mirrors dockerd 20.10's
daemon/images package: the same lookup order (reference, then ID / ID prefix),
the same delete rules and conflict texts (image_delete.go), the same list
filters and shapes (images.go).  Archive formats live in ``image_archive``,
Dockerfile ``changes`` in ``image_changes``, Go-compatible JSON in ``image_config``.

One re-entrant lock serializes every mutation.  That matters beyond tidiness:
``LayerStore.prune`` deletes every layer no image references, so a layer that a
concurrent load or import has registered but not yet tied to a config must not
be visible to a prune running in another thread.
"""

from __future__ import annotations

import json
import platform
import shutil
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from tugboat.api.timefmt import now_ns, parse_rfc3339, parse_since, rfc3339nano
from tugboat.api.version import ENGINE_VERSION
from tugboat.engine import image_archive, image_delete
from tugboat.engine.events import NullEvents
from tugboat.engine.image_changes import apply_changes
from tugboat.engine.image_config import chain_ids, container_config, image_config_bytes
from tugboat.engine.reference import (
    BadPattern,
    DigestRef,
    Reference,
    ReferenceError,
    familiar,
    familiar_match,
    parse,
    parse_any_reference,
    parse_normalized_named,
)
from tugboat.engine.registry.auth import AuthConfig
from tugboat.engine.registry.endpoint import RegistryOptions
from tugboat.engine.registry.metadata import DistributionMetadata
from tugboat.errors import Conflict, InvalidArgument, NotFound, TugboatError

Items = list[dict[str, Any]]
Strs = list[str]
Refs = list[Reference]
_FILTERS = ("dangling", "label", "before", "since", "reference")


@dataclass(frozen=True)
class ImageRecord:
    """What the container service needs of an image."""

    id: str                    # "sha256:<hex>" — the digest of the config JSON
    config: dict               # the whole image config JSON (with "config", "rootfs", "history", ...)
    top_chain_id: str | None   # chain ID of the top layer, None for an image without layers
    repo_tags: tuple[str, ...] = ()


def host_arch() -> str:
    """GOARCH of this machine (what dockerd writes into imported images)."""
    m = platform.machine().lower()
    return {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm", "i686": "386"}.get(m, m)


class ImageService:
    def __init__(self, image_store: Any, layers: Any, in_use: Callable[[str], list[str]] | None = None,
                 running: Callable[[str], list[str]] | None = None, events: Any = None) -> None:
        """in_use(image_id) -> IDs of containers created from the image (injected by wiring,
        so that images never import containers).  running(image_id), if given, narrows that
        to running containers, which makes a delete conflict hard as in dockerd; without it
        every user counts as a stopped container (a conflict that force overrides)."""
        self.store = image_store
        self.layers = layers
        self._in_use = in_use or (lambda _id: [])
        self._running = running or (lambda _id: [])
        self.events = events or NullEvents()
        self.lock = threading.RLock()
        self._prune_gate = threading.Lock()
        # load/save scratch space next to the image store (same filesystem as the data,
        # and emptied here, so a crash in the middle of a load leaves nothing behind)
        root = getattr(image_store, "root", None)
        self.registry_options = RegistryOptions()
        self.distribution = DistributionMetadata(Path(root) if root else None)
        self.work_dir: Path | None = Path(root) / "tmp" if root else None
        if self.work_dir is not None:
            shutil.rmtree(self.work_dir, ignore_errors=True)
            self.work_dir.mkdir(mode=0o700, parents=True, exist_ok=True)

    # ---- lookups -------------------------------------------------------------------

    def _config(self, image_id: str) -> dict[str, Any]:
        return json.loads(self.store.get(image_id))

    def _refs(self, image_id: str) -> list[Reference]:
        """All references to an image, sorted as dockerd's reference store sorts them."""
        out = []
        for s in sorted(self.store.refs_for(image_id)):
            ref = parse(s)
            if isinstance(ref, Reference):
                out.append(ref)
        return out

    def _children(self, image_id: str) -> list[str]:
        return list(self.store.children(image_id))

    def _search(self, term: str) -> str | None:
        """imageStore.Search: a full or unique-prefix ID, with or without "sha256:"."""
        hexpart = term[len("sha256:"):] if term.startswith("sha256:") else term
        if not hexpart:
            return None
        matches = [i for i in self.store.ids() if i.split(":", 1)[-1].startswith(hexpart)]
        exact = [i for i in matches if i.split(":", 1)[-1] == hexpart]
        if exact:
            return exact[0]
        return matches[0] if len(matches) == 1 else None

    def _get_image(self, ref_or_id: str) -> str:
        """GetImage: by reference first, then by ID or ID prefix.  Errors as dockerd."""
        ref = parse_any_reference(ref_or_id)
        if isinstance(ref, DigestRef):
            if self.store.exists(ref.digest):
                return ref.digest
            raise NotFound(f"No such image: {ref.digest}")
        key = ref
        if ref.is_canonical and ref.is_tagged:
            key = Reference(ref.domain, ref.path, "", ref.digest)
        key = key.tag_name_only()
        image_id = self.store.references().get(str(key))
        if image_id and self.store.exists(image_id):
            return image_id
        found = self._search(ref_or_id)
        if found:
            return found
        raise NotFound(f"No such image: {ref.tag_name_only().familiar()}")

    def resolve(self, ref: str) -> ImageRecord:
        """By reference (name[:tag], name@digest), full ID, "sha256:" ID or unique ID prefix."""
        image_id = self._get_image(ref)
        cfg = self._config(image_id)
        tops = chain_ids(((cfg.get("rootfs") or {}).get("diff_ids")) or [])
        tags = tuple(r.familiar() for r in self._refs(image_id) if r.is_tagged)
        return ImageRecord(image_id, cfg, tops[-1] if tops else None, tags)

    def _top(self, cfg: dict[str, Any]) -> str | None:
        tops = chain_ids(((cfg.get("rootfs") or {}).get("diff_ids")) or [])
        return tops[-1] if tops else None

    def _size(self, top: str | None) -> int:
        """The size of a whole layer chain (layer.Size() in dockerd)."""
        if not top:
            return 0
        return sum(int(layer.size) for layer in self.layers.chain(top))

    # ---- list / inspect / history --------------------------------------------------

    def list(self, all: bool = False, filters: dict[str, list[str]] | None = None,
             digests: bool = False) -> Items:
        """GET /images/json (ImageSummary items, newest first)."""
        filters = {k: list(v) for k, v in (filters or {}).items()}
        for key in filters:
            if key not in _FILTERS:
                raise InvalidArgument(f"Invalid filter '{key}'")
        dangling_only = False
        if "dangling" in filters and filters["dangling"]:
            vals = filters["dangling"]
            if "true" in vals:
                dangling_only = True
            elif "false" not in vals:
                raise InvalidArgument(f"Invalid filter 'dangling=[{' '.join(vals)}]'")
        before = since = None
        for v in filters.get("before", []):
            before = self._created_ns(self._get_image(v))
        for v in filters.get("since", []):
            since = self._created_ns(self._get_image(v))
        patterns = filters.get("reference", [])
        labels = filters.get("label", [])

        ids = list(self.store.ids())
        parents = {i: self.store.get_parent(i) for i in ids}
        has_children = {p for p in parents.values() if p}
        out: Items = []
        created_ns: dict[str, int] = {}
        for image_id in ids:
            if dangling_only and image_id in has_children:
                continue
            try:
                cfg = self._config(image_id)
                created = self._created_ns_cfg(cfg)
            except (NotFound, FileNotFoundError):
                continue  # deleted meanwhile
            except (ValueError, TypeError, AttributeError):
                continue  # an unreadable config must not break the whole listing
            if before is not None and created >= before:
                continue
            if since is not None and created <= since:
                continue
            inner = cfg.get("config")
            if labels:
                if inner is None or not _match_kv(labels, inner.get("Labels") or {}):
                    continue
            try:
                size = self._size(self._top(cfg))
            except NotFound:
                continue
            tags: list[str] = []
            repo_digests: list[str] = []
            for ref in self._refs(image_id):
                if patterns:
                    try:
                        if not any(familiar_match(p, ref) for p in patterns):
                            continue
                    except BadPattern as e:
                        raise TugboatError(str(e)) from None
                if ref.is_canonical:
                    repo_digests.append(ref.familiar())
                if ref.is_tagged:
                    tags.append(ref.familiar())
            summary: dict[str, Any] = {
                "Containers": -1, "Created": created // 1_000_000_000, "Id": image_id,
                "Labels": (inner or {}).get("Labels") or None, "ParentId": parents.get(image_id) or "",
                "RepoDigests": repo_digests or None, "RepoTags": tags or None,
                "SharedSize": -1, "Size": size, "VirtualSize": size,
            }
            if not tags and not repo_digests:
                if all or image_id not in has_children:
                    if ("dangling" in filters and not dangling_only) or patterns:
                        continue
                    summary["RepoDigests"] = ["<none>@<none>"]
                    summary["RepoTags"] = ["<none>:<none>"]
                else:
                    continue
            elif dangling_only and tags:
                continue
            created_ns[image_id] = created
            out.append(summary)
        # dockerd sorts by Created seconds only (ties in arbitrary order); the full
        # timestamp keeps "newest first" true within a second too.
        out.sort(key=lambda s: (created_ns[s["Id"]], s["Id"]), reverse=True)
        return out

    def _created_ns_cfg(self, cfg: dict[str, Any]) -> int:
        created = cfg.get("created")
        return parse_rfc3339(created) if created else 0

    def _created_ns(self, image_id: str) -> int:
        return self._created_ns_cfg(self._config(image_id))

    def inspect(self, ref: str) -> dict:
        """GET /images/{name}/json (the Image shape); errors wrapped as LookupImage does."""
        try:
            image_id = self._get_image(ref)
        except (NotFound, InvalidArgument) as e:
            raise type(e)(f"no such image: {ref}: {e}") from None
        cfg = self._config(image_id)
        refs = self._refs(image_id)
        top = self._top(cfg)
        comment = cfg.get("comment", "")
        history = cfg.get("history") or []
        if not comment and history:
            comment = history[-1].get("comment", "")
        last = self.store.get_meta(image_id, "lastUpdated")
        if isinstance(last, bytes):
            last = last.decode()
        data = self._graph_data(top)
        out: dict[str, Any] = {
            "Id": image_id,
            "RepoTags": [r.familiar() for r in refs if r.is_tagged],
            "RepoDigests": [r.familiar() for r in refs if r.is_canonical and not r.is_tagged],
            "Parent": self.store.get_parent(image_id) or "",  # the local link, as image/store.go Get
            "Comment": comment,
            "Created": rfc3339nano(self._created_ns_cfg(cfg)) if cfg.get("created") else "0001-01-01T00:00:00Z",
            "Container": cfg.get("container", ""),
            "ContainerConfig": container_config(cfg.get("container_config")),
            "DockerVersion": cfg.get("docker_version", ""),
            "Author": cfg.get("author", ""),
            "Config": container_config(cfg["config"]) if cfg.get("config") is not None else None,
            "Architecture": cfg.get("architecture", ""),
            "Os": cfg.get("os") or "linux",
            "Size": self._size(top),
            "VirtualSize": self._size(top),
            "GraphDriver": {"Data": data, "Name": self.layers.driver_name},
            "RootFS": {"Type": (cfg.get("rootfs") or {}).get("type", "layers")},
            "Metadata": {"LastTagTime": last or "0001-01-01T00:00:00Z"},
        }
        if cfg.get("created") and isinstance(cfg["created"], str) and not cfg["created"].endswith("Z"):
            out["Created"] = cfg["created"]
        if cfg.get("variant"):
            out["Variant"] = cfg["variant"]
        if cfg.get("os.version"):
            out["OsVersion"] = cfg["os.version"]
        diff_ids = (cfg.get("rootfs") or {}).get("diff_ids") or []
        if diff_ids:
            out["RootFS"]["Layers"] = list(diff_ids)
        return out

    def _graph_data(self, top: str | None) -> dict[str, str] | None:
        """GraphDriver.Data: overlay2 shows the layer directories (dockerd also names
        merged/work directories, which image layers of this store do not have); vfs: null."""
        if not top or self.layers.driver_name != "overlay2" or not hasattr(self.layers, "layer_path"):
            return None
        try:
            dirs = [str(self.layers.layer_path(layer.chain_id)) for layer in reversed(self.layers.chain(top))]
        except NotFound:
            return None
        data = {"UpperDir": dirs[0]}
        if len(dirs) > 1:
            data["LowerDir"] = ":".join(dirs[1:])
        return data

    def history(self, ref: str) -> Items:
        """GET /images/{name}/history: newest first; IDs only where a local image is."""
        image_id = self._get_image(ref)
        cfg = self._config(image_id)
        diff_ids = (cfg.get("rootfs") or {}).get("diff_ids") or []
        chains = chain_ids(diff_ids)
        items: Items = []
        n = 0
        for h in cfg.get("history") or []:
            size = 0
            if not h.get("empty_layer"):
                if n >= len(diff_ids):
                    raise TugboatError("too many non-empty layers in History section")
                size = int(self.layers.get(chains[n]).size)
                n += 1
            created = h.get("created")
            items.insert(0, {"Comment": h.get("comment", ""),
                             "Created": parse_rfc3339(created) // 1_000_000_000 if created else -62135596800,
                             "CreatedBy": h.get("created_by", ""), "Id": "<missing>", "Size": size,
                             "Tags": None})
        cur: str | None = image_id
        for item in items:
            if cur is None or not self.store.exists(cur):
                break
            item["Id"] = cur
            item["Tags"] = [r.familiar() for r in self._refs(cur) if r.is_tagged] or None
            try:
                cur = self.store.get_parent(cur)
            except NotFound:
                break
        return items

    # ---- tag / remove --------------------------------------------------------------

    def _add_tag(self, ref: Reference, image_id: str) -> None:
        """referenceStore.AddTag(force=True) + SetLastUpdated."""
        if ref.is_canonical:
            raise InvalidArgument("refusing to create a tag with a digest reference")
        ref = ref.tag_name_only()
        if ref.familiar_name() == "sha256":
            raise InvalidArgument("refusing to create an ambiguous tag using digest algorithm as name")
        self.store.set_reference(str(ref), image_id)
        self.store.set_meta(image_id, "lastUpdated", rfc3339nano(now_ns()))

    def tag(self, ref: str, repo: str, tag: str | None) -> None:
        """POST /images/{name}/tag."""
        with self.lock:
            image_id = self._get_image(ref)
            new = parse_normalized_named(repo)
            if tag:
                new = new.trimmed().with_tag(tag)
            self._add_tag(new, image_id)
            self._publish(image_id, new.familiar(), "tag")

    def _publish(self, image_id: str, name: str, action: str) -> None:
        """LogImageEvent: the image's labels (when it still exists) plus its name."""
        attrs: dict[str, str] = {}
        try:
            attrs.update((self._config(image_id).get("config") or {}).get("Labels") or {})
        except Exception:  # noqa: BLE001 - deleted images have no labels to report
            pass
        attrs["name"] = name
        self.events.publish("image", action, image_id, attrs)

    def remove(self, ref: str, force: bool = False, noprune: bool = False) -> Items:
        """DELETE /images/{name}: dockerd's ImageDelete rules and messages."""
        with self.lock:
            try:
                target: str | None = self._get_image(ref)
            except NotFound:
                target = None
            known = set(self.store.ids())
            records = image_delete.remove(self, ref, force, not noprune)
        for rec in records:
            if "Untagged" in rec and target:
                self._publish(target, target, "untag")
            elif rec.get("Deleted") in known:
                self._publish(rec["Deleted"], rec["Deleted"], "delete")
        return records

    def _prune_layers(self) -> Strs:
        """Drop layers no image (and no container) references any more."""
        tops = []
        for i in self.store.ids():
            try:
                top = self._top(self._config(i))
            except (NotFound, FileNotFoundError, ValueError):
                continue
            if top:
                tops.append(top)
        return list(self.layers.prune(tops))

    # ---- creating images -----------------------------------------------------------

    def create_image(self, config: dict[str, Any], layer_tar: BinaryIO | None = None,
                     parent: str | None = None, ref: str | None = None) -> str:
        """Store a new image (for commit and build): optionally register layer_tar on top
        of the parent's layers (its diff ID is appended to config's rootfs), write the
        config, link the parent and tag.  All under the lock, so a concurrent prune
        cannot take the fresh layer."""
        with self.lock:
            cfg = dict(config)
            named = parse_normalized_named(ref) if ref else None
            rootfs = dict(cfg.get("rootfs") or {"type": "layers", "diff_ids": []})
            diff_ids = list(rootfs.get("diff_ids") or [])
            if layer_tar is not None:
                chains = chain_ids(diff_ids)
                layer = self.layers.register(layer_tar, chains[-1] if chains else None)
                diff_ids.append(layer.diff_id)
            rootfs["diff_ids"] = diff_ids
            cfg["rootfs"] = rootfs
            image_id = self.store.put(image_config_bytes(cfg))
            if parent:
                self.store.set_parent(image_id, parent)
            if named is not None:
                self._add_tag(named, image_id)
            return image_id

    def import_image(self, stream: BinaryIO, repo: str | None, tag: str | None,
                     changes: Strs, message: str = "") -> Iterator[dict]:
        """POST /images/create?fromSrc=-: a root filesystem tar (plain, gzip, bzip2 or xz)
        becomes a one-layer image, configured by Dockerfile ``changes``.

        The work is done before this returns (so every error is still an HTTP error,
        as in dockerd, which writes nothing before the end); the iterator then gives
        dockerd's single progress item ``{"status": "sha256:<id>"}``."""
        new_ref: Reference | None = None
        if repo:
            new_ref = parse_normalized_named(repo)
            if new_ref.is_canonical:
                raise InvalidArgument("cannot import digest reference")
            if tag:
                new_ref = new_ref.with_tag(tag)
        run_config = apply_changes({}, changes or [])
        msg = message or "Imported from -"
        with self.lock:
            layer = self.layers.register(stream, None)
            created = rfc3339nano(now_ns())
            cfg = {
                "architecture": host_arch(), "comment": msg, "config": run_config,
                "container_config": {}, "created": created, "docker_version": ENGINE_VERSION,
                "history": [{"created": created, "comment": msg}], "os": "linux",
                "rootfs": {"type": "layers", "diff_ids": [layer.diff_id]},
            }
            image_id = self.store.put(image_config_bytes(cfg))
            if new_ref is not None:
                self._add_tag(new_ref, image_id)
        self._publish(image_id, image_id, "import")
        return iter([{"status": image_id}])

    def prune(self, filters: dict[str, Strs] | None = None) -> dict[str, Any]:
        """POST /images/prune (ImagesPrune): dangling images by default, all unused ones
        with dangling=false; label, label! and until filters."""
        filters = {k: list(v) for k, v in (filters or {}).items()}
        for key in filters:
            if key not in ("dangling", "label", "label!", "until"):
                raise InvalidArgument(f"Invalid filter '{key}'")
        dangling_only = True
        vals = filters.get("dangling") or []
        if vals:
            if "false" in vals or "0" in vals:
                dangling_only = False
            elif "true" not in vals and "1" not in vals:
                raise InvalidArgument(f"Invalid filter 'dangling=[{' '.join(vals)}]'")
        until = None
        if filters.get("until"):
            if len(filters["until"]) > 1:
                raise InvalidArgument("more than one until filter specified")
            try:
                until = parse_since(filters["until"][0])
            except ValueError as e:
                raise InvalidArgument(str(e)) from None
        if not self._prune_gate.acquire(blocking=False):
            raise Conflict("a prune operation is already running")
        try:
            with self.lock:
                sizes = {layer.chain_id: int(layer.size) for layer in self.layers.layers()}
                deleted: Items = []
                for image_id in self.store.ids():
                    if not self.store.exists(image_id):
                        continue  # removed as a parent of an earlier one
                    children = self.store.children(image_id)
                    if dangling_only and children:
                        continue
                    refs = self._refs(image_id)
                    if not refs and children:
                        continue
                    cfg = self._config(image_id)
                    if until is not None and self._created_ns_cfg(cfg) > until:
                        continue
                    labels = (cfg.get("config") or {}).get("Labels") or {}
                    if cfg.get("config") is not None:
                        if filters.get("label") and not _match_kv(filters["label"], labels):
                            continue
                        if filters.get("label!") and _match_kv(filters["label!"], labels):
                            continue
                    targets = ([str(r) for r in refs] if (not dangling_only or not any(r.is_tagged for r in refs))
                               else []) if refs else [image_id.split(":", 1)[1]]
                    for target in targets:
                        try:
                            deleted += image_delete.remove(self, target, False, True)
                        except TugboatError:  # conflicts (and anything else) skip the image
                            continue
            reclaimed = sum(sizes.get(d["Deleted"], 0) for d in deleted if "Deleted" in d)
            return {"ImagesDeleted": deleted or None, "SpaceReclaimed": reclaimed}
        finally:
            self._prune_gate.release()

    # ---- save / load ---------------------------------------------------------------

    def save(self, refs: Strs) -> Iterator[bytes]:
        """GET /images/get: a docker-archive tar as `docker save` writes it.  Names are
        resolved and layers spooled before this returns (errors are still HTTP errors);
        the returned iterator streams the archive."""
        with self.lock:
            images = self._parse_save_names(refs)
            session = image_archive.SaveSession(self.layers, self._config, self.store.get, self.work_dir)
            try:
                for image_id, tagged in images.items():
                    session.add(image_id, [str(t) for t in tagged])
                session.spool()
            except BaseException:
                session.close()
                raise
        for image_id in images:
            self._publish(image_id, image_id, "save")
        return session.stream()

    def _parse_save_names(self, names: Strs) -> dict[str, Refs]:
        """tarexport parseNames: a bare repository name saves all its tags."""
        out: dict[str, Refs] = {}

        def assoc(image_id: str, ref: Reference | None) -> None:
            lst = out.setdefault(image_id, [])
            if ref is None or ref.is_canonical:
                return
            ref = ref.tag_name_only()
            if all(str(ref) != str(t) for t in lst):
                lst.append(ref)

        for name in names:
            ref = parse_any_reference(name)
            if isinstance(ref, DigestRef):
                if not self.store.exists(ref.digest):
                    raise NotFound(f"No such image: {ref.digest}")
                assoc(ref.digest, None)
                continue
            if ref.familiar_name() == "sha256":
                found = self._search(name)
                if not found:
                    raise NotFound(f"No such image: {name}")
                assoc(found, None)
                continue
            if ref.is_name_only:
                matches = sorted((k, v) for k, v in self.store.references().items()
                                 if isinstance(p := parse(k), Reference) and p.name == ref.name)
                for k, v in matches:
                    assoc(v, parse_normalized_named(k))
                if not matches:
                    found = self._search(name)
                    if not found:
                        raise NotFound(f"No such image: {name}")
                    assoc(found, None)
                continue
            key = ref
            if ref.is_canonical and ref.is_tagged:
                key = Reference(ref.domain, ref.path, "", ref.digest)
            image_id = self.store.references().get(str(key))
            if not image_id:
                raise NotFound("reference does not exist")
            assoc(image_id, ref)
        return out

    def load(self, stream: BinaryIO, quiet: bool = False) -> Iterator[dict]:
        """POST /images/load: docker-archive (and OCI layout) tars.

        The whole load runs under the lock and its messages are buffered, so a slow or
        vanished client never holds the lock; an error is raised after the messages
        produced before it (dockerd writes it into the already-started stream).  On
        error, layers registered by this load are pruned again."""
        messages: Items = []
        error: Exception | None = None
        with self.lock:
            loader = image_archive.Loader(self, quiet)
            try:
                for msg in loader.load(stream):
                    messages.append(msg)
            except TugboatError as e:
                error = e
            except (KeyError, TypeError, ValueError, AttributeError, IndexError, OSError, EOFError) as e:
                error = InvalidArgument(f"invalid image archive: {e}")
            finally:
                if error is not None:
                    loader.rollback()
                loader.close()
        yield from messages
        if error is not None:
            raise error

    # ---- registries (the work is in image_pull / image_push / image_registry) ------

    def configure_registries(self, extra: dict[str, Any]) -> None:
        """daemon.json's insecure-registries, registry-mirrors, max-concurrent-*."""
        self.registry_options = RegistryOptions.from_extra(extra)
        self.registry_options.max_downloads = int(extra.get("max-concurrent-downloads") or 3)
        self.registry_options.max_uploads = int(extra.get("max-concurrent-uploads") or 5)

    def pull(self, image: str, tag: str | None, platform: str = "",
             auth: AuthConfig | None = None) -> Iterator[dict]:
        """POST /images/create?fromImage=: errors before the first message are raised."""
        from tugboat.engine.image_pull import Puller
        return Puller(self, self.registry_options, auth or AuthConfig(), platform,
                      self.registry_options.max_downloads).pull(image, tag)

    def push(self, name: str, tag: str | None, auth: AuthConfig | None = None) -> Iterator[dict]:
        """POST /images/{name}/push."""
        from tugboat.engine.image_push import Pusher
        return Pusher(self, self.registry_options, auth or AuthConfig()).push(name, tag)

    def login(self, auth: AuthConfig) -> dict[str, str]:
        """POST /auth."""
        from tugboat.engine.image_registry import login
        return login(self.registry_options, auth)

    def search(self, term: str, limit: int | None, filters: dict[str, Strs],
               auth: AuthConfig | None = None) -> Items:
        """GET /images/search."""
        from tugboat.engine.image_registry import search
        return search(self.registry_options, term, limit, filters, auth or AuthConfig())

    # hooks used by image_archive.Loader (kept here so the reference rules stay in one place)

    def _loaded_tag(self, repo_tag: str, image_id: str) -> Iterator[dict]:
        try:
            ref = parse_normalized_named(repo_tag)
        except ReferenceError as e:
            raise InvalidArgument(str(e)) from None
        if not ref.is_tagged or ref.is_canonical:
            raise InvalidArgument(f'invalid tag "{repo_tag}"')
        prev = self.store.references().get(str(ref))
        if prev and prev != image_id:
            yield {"stream": f"The image {ref.familiar()} already exists, renaming the old one with ID "
                             f"{prev} to empty string\n"}
        self._add_tag(ref, image_id)
        self._publish(image_id, image_id, "load")
        yield {"stream": f"Loaded image: {ref.familiar()}\n"}


def _match_kv(wanted: list[str], labels: dict[str, str]) -> bool:
    """filters.Args.MatchKVList."""
    if not labels:
        return False
    for w in wanted:
        k, sep, v = w.partition("=")
        if k not in labels:
            return False
        if sep and labels[k] != v:
            return False
    return True


__all__ = ["ImageRecord", "ImageService", "familiar"]
