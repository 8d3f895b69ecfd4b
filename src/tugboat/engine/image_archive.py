"""``docker save`` / ``docker load`` archives.

Save writes the docker-archive layout exactly as dockerd 20.10's
image/tarexport/save.go does: per layer a legacy v1 directory
(``<v1 id>/VERSION``, ``<v1 id>/json``, ``<v1 id>/layer.tar``) whose name is the
v1 ID dockerd derives from the re-marshalled config, the raw config as
``<config hex>.json``, ``manifest.json`` and ``repositories``.  The layer.tar
bytes are the layer store's byte-identical copy of what was loaded, so a
save -> load -> save round trip preserves both image IDs and layer digests.

Load reads docker-archive (manifest.json) and OCI image layouts (index.json +
blobs/).  The archive is unpacked into a private temporary directory first: only
regular files and directories become files; symlinks and hard links (dockerd
links a layer.tar that two images share) are kept as a name map and resolved
inside the archive, so a hostile archive cannot reach outside it.
"""

from __future__ import annotations

import json
import posixpath
import shutil
import tarfile
import tempfile
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, BinaryIO

from tugboat.engine.image_config import chain_ids, go_json, sha256_id, v1_image, v1_layer_id, validate_config
from tugboat.engine.reference import Reference, parse, short_id
from tugboat.errors import InvalidArgument, TugboatError

if TYPE_CHECKING:
    from tugboat.engine.images import ImageService

EPOCH = "1970-01-01T00:00:00Z"
_CHUNK = 1 << 20


# ---- save -------------------------------------------------------------------------

def _header(name: str, size: int = 0, mtime: int = 0, kind: bytes = tarfile.REGTYPE,
            mode: int = 0o644, link: str = "") -> bytes:
    ti = tarfile.TarInfo(name)
    ti.size, ti.mtime, ti.type, ti.mode, ti.linkname = size, mtime, kind, mode, link
    ti.uname = ti.gname = "root"
    try:
        return ti.tobuf(tarfile.USTAR_FORMAT)
    except ValueError:
        return ti.tobuf(tarfile.PAX_FORMAT)


def _pad(n: int) -> bytes:
    return b"\0" * (-n % 512)


def _mtime(created: str | None) -> int:
    from tugboat.api.timefmt import parse_rfc3339
    try:
        return parse_rfc3339(created) // 1_000_000_000 if created else 0
    except ValueError:
        return 0


class SaveSession:
    """Collects the images of one ``save`` call, spools their layers, streams the tar."""

    def __init__(self, layers: Any, get_config: Callable[[str], dict], get_raw: Callable[[str], bytes],
                 work_dir: Path | None = None) -> None:
        self.layers, self._get_config, self._get_raw = layers, get_config, get_raw
        self._work_dir = work_dir
        self._files: dict[str, tuple[int, bytes | IO[bytes], int, bytes, str]] = {}
        self._spool: dict[str, str] = {}                  # diff_id -> first layer.tar path
        self._pending: list[tuple[str, str, int]] = []    # (layer.tar path, chain id, mtime)
        self._manifest: list[dict[str, Any]] = []
        self._repos: dict[str, dict[str, str]] = {}
        self._parents: list[tuple[str, str]] = []
        self._temps: list[IO[bytes]] = []

    def _add_file(self, name: str, data: bytes, mtime: int, kind: bytes = tarfile.REGTYPE,
                  link: str = "") -> None:
        self._files[name] = (len(data), data, mtime, kind, link)

    def add(self, image_id: str, repo_tags: list[str]) -> None:
        cfg = self._get_config(image_id)
        raw = self._get_raw(image_id)
        diff_ids = (cfg.get("rootfs") or {}).get("diff_ids") or []
        if not diff_ids:
            raise TugboatError("empty export - not implemented")
        created = _mtime(cfg.get("created"))
        chains = chain_ids(diff_ids)
        parent = ""
        layer_dirs: list[str] = []
        for i, diff in enumerate(diff_ids):
            v1 = v1_image(cfg) if i == len(diff_ids) - 1 else v1_image({"created": EPOCH})
            v1id = v1_layer_id(v1, chains[i], parent)
            if cfg.get("os") and "os" not in v1:
                v1 = {**v1, "os": cfg["os"]}  # save.go sets OS after computing the ID
            layer_dirs.append(v1id)
            if v1id + "/" not in self._files:
                legacy = {"id": v1id, **({"parent": parent} if parent else {}), **v1}
                self._add_file(v1id + "/", b"", created, tarfile.DIRTYPE)
                self._add_file(v1id + "/VERSION", b"1.0", created)
                self._add_file(v1id + "/json", go_json(legacy), created)
                tar_name = v1id + "/layer.tar"
                if diff in self._spool:
                    self._add_file(tar_name, b"", created, tarfile.SYMTYPE, "../" + self._spool[diff])
                else:
                    self._spool[diff] = tar_name
                    self._pending.append((tar_name, chains[i], created))
            parent = v1id
        self._add_file(image_id.split(":", 1)[1] + ".json", raw, created)
        tags = []
        for t in repo_tags:
            ref = parse(t)
            if isinstance(ref, Reference):
                self._repos.setdefault(ref.familiar_name(), {})[ref.tag] = layer_dirs[-1]
                tags.append(ref.familiar())
        self._manifest.append({"Config": image_id.split(":", 1)[1] + ".json", "RepoTags": tags or None,
                               "Layers": [d + "/layer.tar" for d in layer_dirs]})
        self._parents.append((image_id, cfg.get("parent") or ""))

    def spool(self) -> None:
        """Copy each distinct layer tar to a temporary file (its size goes in the header)."""
        for tar_name, chain, created in self._pending:
            f = tempfile.TemporaryFile(prefix="save-", dir=self._work_dir)
            self._temps.append(f)
            size = 0
            for chunk in self.layers.tar(chain):
                f.write(chunk)
                size += len(chunk)
            f.seek(0)
            self._files[tar_name] = (size, f, created, tarfile.REGTYPE, "")
        ids = {i for i, _ in self._parents}
        for item, (_, parent) in zip(self._manifest, self._parents, strict=True):
            if parent and parent in ids:
                item["Parent"] = parent
        self._add_file("manifest.json", go_json(self._manifest) + b"\n", 0)
        if self._repos:
            repos = {k: {t: v[t] for t in sorted(v)} for k, v in sorted(self._repos.items())}
            self._add_file("repositories", go_json(repos) + b"\n", 0)

    def stream(self) -> Iterator[bytes]:
        try:
            for name in sorted(self._files, key=lambda n: n.rstrip("/").split("/")):
                size, data, mtime, kind, link = self._files[name]
                mode = 0o755 if kind == tarfile.DIRTYPE else (0o777 if kind == tarfile.SYMTYPE else 0o644)
                yield _header(name, size if kind == tarfile.REGTYPE else 0, mtime, kind, mode, link)
                if kind != tarfile.REGTYPE:
                    continue
                if isinstance(data, bytes):
                    yield data
                else:
                    while chunk := data.read(_CHUNK):
                        yield chunk
                yield _pad(size)
            yield b"\0" * 1024
        finally:
            self.close()

    def close(self) -> None:
        for f in self._temps:
            f.close()
        self._temps.clear()


# ---- load -------------------------------------------------------------------------

def _clean(name: str) -> str:
    """An archive member name made relative and free of '..' (None-equivalent '' if bad)."""
    parts = [p for p in name.replace("\\", "/").split("/") if p not in ("", ".")]
    if any(p == ".." for p in parts):
        return ""
    return "/".join(parts)


class _Unpacked:
    """An archive unpacked into a private directory; links resolved inside it."""

    def __init__(self, stream: BinaryIO, work_dir: Path | None = None) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="load-", dir=work_dir))
        self.links: dict[str, str] = {}
        try:
            self._unpack(stream)
        except BaseException:
            self.close()
            raise

    def _unpack(self, stream: BinaryIO) -> None:
        try:
            tf = tarfile.open(fileobj=stream, mode="r|*")
        except tarfile.TarError as e:
            raise InvalidArgument(f"invalid image archive: {e}") from None
        try:
            for m in tf:
                name = _clean(m.name)
                if not name:
                    continue
                if m.isdir():
                    (self.root / name).mkdir(parents=True, exist_ok=True)
                elif m.isreg():
                    dest = self.root / name
                    if dest.is_dir():
                        raise InvalidArgument(f"invalid image archive: {m.name} is a file and a directory")
                    dest.parent.mkdir(parents=True, exist_ok=True)
                    src = tf.extractfile(m)
                    assert src is not None
                    with open(dest, "wb") as out:
                        shutil.copyfileobj(src, out, _CHUNK)
                elif m.issym():
                    target = m.linkname if m.linkname.startswith("/") else \
                        posixpath.join(posixpath.dirname(name), m.linkname)
                    self.links[name] = _clean(posixpath.normpath(target)) if target else ""
                elif m.islnk():
                    self.links[name] = _clean(m.linkname)
        except tarfile.TarError as e:
            raise InvalidArgument(f"invalid image archive: {e}") from None
        except (EOFError, OSError, zlib.error) as e:
            raise InvalidArgument(f"invalid image archive: {e}") from None

    def path(self, name: str) -> Path:
        """safePath: the file an archive name refers to, following archive links."""
        rel = _clean(name)
        for _ in range(40):
            if rel in self.links:
                rel = self.links[rel]
                continue
            break
        p = self.root / rel
        if not rel or not p.is_file():
            raise InvalidArgument(f"invalid image archive: file {name} not found in archive")
        return p

    def exists(self, name: str) -> bool:
        rel = _clean(name)
        return bool(rel) and (rel in self.links or (self.root / rel).is_file())

    def json(self, name: str) -> Any:
        try:
            return json.loads(self.path(name).read_bytes())
        except ValueError as e:
            raise InvalidArgument(f"invalid image archive: {name}: {e}") from None

    def close(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)


def _human(n: float) -> str:
    """go-units HumanSize (decimal, 4 significant digits)."""
    units = ["B", "kB", "MB", "GB", "TB", "PB"]
    i = 0
    while n >= 1000 and i < len(units) - 1:
        n /= 1000.0
        i += 1
    return f"{n:.4g}{units[i]}"


def progress(action: str, ident: str, current: int, total: int) -> dict[str, Any]:
    """A JSONMessage progress line as dockerd's progress reader emits it."""
    pct = min(int(current / total * 100) // 2, 50) if total > 0 else 0
    bar = "[" + "=" * pct + ">" + " " * (50 - pct) + "] " if total > 0 else ""
    return {"status": action, "progressDetail": {"current": current, "total": total},
            "progress": f"{bar}{_human(current):>8}/{_human(total)}", "id": ident}


class Loader:
    """One ``load`` call.  Everything it registers is pruned again if it fails."""

    def __init__(self, service: ImageService, quiet: bool) -> None:
        self.svc, self.quiet = service, quiet
        self.layers, self.store = service.layers, service.store
        self._archive: _Unpacked | None = None

    def load(self, stream: BinaryIO) -> Iterator[dict]:
        self._archive = arc = _Unpacked(stream, self.svc.work_dir)
        if arc.exists("manifest.json"):
            manifest = arc.json("manifest.json")
            if not isinstance(manifest, list) or not all(isinstance(m, dict) for m in manifest):
                raise InvalidArgument("invalid image archive: manifest.json is not a list of images")
            items = [(m.get("Config"), m.get("Layers") or [], m.get("RepoTags") or [], m.get("Parent") or "")
                     for m in manifest]
        elif arc.exists("index.json"):
            items = self._oci_items(arc)
        elif arc.exists("repositories"):
            raise InvalidArgument("invalid image archive: legacy (pre-1.10, repositories only) "
                                  "archives are not supported")
        else:
            raise InvalidArgument("invalid image archive: no manifest.json or index.json found")
        ids_text = ""
        ref_count = 0
        links: list[tuple[str, str]] = []
        for config_name, layer_names, repo_tags, parent in items:
            if not isinstance(config_name, str):
                raise InvalidArgument("invalid image archive: manifest entry without Config")
            raw = arc.path(config_name).read_bytes()
            try:
                cfg = json.loads(raw)
            except ValueError as e:
                raise InvalidArgument(f"invalid image archive: {config_name}: {e}") from None
            try:
                validate_config(cfg)
            except ValueError as e:
                raise InvalidArgument(f"invalid image archive: {config_name}: {e}") from None
            if cfg.get("os", "linux") not in ("", "linux"):
                raise InvalidArgument(f"cannot load {cfg.get('os')} image on linux")
            diff_ids = cfg["rootfs"].get("diff_ids") or []
            if len(layer_names) != len(diff_ids):
                raise InvalidArgument(f"invalid manifest, layers length mismatch: expected "
                                      f"{len(layer_names)}, got {len(diff_ids)}")
            chains = chain_ids(diff_ids)
            for i, diff in enumerate(diff_ids):
                if self.layers.exists(chains[i]):
                    continue
                p = arc.path(layer_names[i])
                total = p.stat().st_size
                with open(p, "rb") as f:
                    try:
                        layer = self.layers.register(f, chains[i - 1] if i else None, expected_diff_id=diff)
                    except TugboatError as e:
                        got = str(e).rpartition(", got ")[2] if "diff ID mismatch" in str(e) else ""
                        if got:
                            raise InvalidArgument(f"invalid diffID for layer {i}: expected {json.dumps(diff)}, "
                                                  f"got {json.dumps(got)}") from None
                        raise InvalidArgument(f"error loading layer {i} ({layer_names[i]}): {e}") from None
                if layer.diff_id != diff:
                    raise InvalidArgument(f"invalid diffID for layer {i}: expected {json.dumps(diff)}, "
                                          f"got {json.dumps(layer.diff_id)}")
                if not self.quiet:
                    yield progress("Loading layer", short_id(diff), total, total)
            image_id = self.store.put(raw)
            if image_id != sha256_id(raw):  # pragma: no cover - store contract
                raise TugboatError("image store returned an unexpected ID")
            ids_text += f"Loaded image ID: {image_id}\n"
            ref_count = 0
            for tag in repo_tags:
                yield from self.svc._loaded_tag(tag, image_id)
                ref_count += 1
            links.append((image_id, parent))
        loaded = {i for i, _ in links}
        for image_id, parent in links:
            if parent and parent in loaded and parent != image_id:
                self._set_parent(image_id, parent)
        if ref_count == 0 and ids_text:
            yield {"stream": ids_text}

    def _set_parent(self, image_id: str, parent: str) -> None:
        child = json.loads(self.store.get(image_id))["rootfs"].get("diff_ids") or []
        par = json.loads(self.store.get(parent))["rootfs"].get("diff_ids") or []
        if len(par) > len(child) or child[:len(par)] != par:
            raise InvalidArgument(f"image {parent} is not a valid parent for {image_id}")
        self.store.set_parent(image_id, parent)

    def _oci_items(self, arc: _Unpacked) -> list[tuple[Any, list[str], list[str], str]]:
        """OCI image layout: index.json -> manifests -> config + layer blobs."""
        def blob(desc: Any) -> str:
            dg = desc.get("digest", "") if isinstance(desc, dict) else ""
            alg, _, hx = dg.partition(":")
            if not alg or not hx or "/" in dg:
                raise InvalidArgument(f"invalid image archive: bad descriptor digest {dg!r}")
            return f"blobs/{alg}/{hx}"

        items: list[tuple[Any, list[str], list[str], str]] = []
        todo: list[Any] = list(arc.json("index.json").get("manifests") or [])
        while todo:
            desc = todo.pop(0)
            doc = arc.json(blob(desc))
            if "manifests" in doc:  # a nested index: take the linux/amd64 (or only) entry
                todo.extend(d for d in doc["manifests"]
                            if (d.get("platform") or {}).get("os", "linux") == "linux")
                continue
            ann = desc.get("annotations") or {}
            name = ann.get("io.containerd.image.name") or ann.get("org.opencontainers.image.ref.name") or ""
            tags = [name] if name and isinstance(parse_or_none(name), Reference) else []
            items.append((blob(doc.get("config")), [blob(layer) for layer in doc.get("layers") or []], tags, ""))
        return items

    def rollback(self) -> None:
        """Drop the layers this load registered but no image references."""
        try:
            self.svc._prune_layers()
        except TugboatError:  # pragma: no cover - best effort
            pass

    def close(self) -> None:
        if self._archive is not None:
            self._archive.close()


def parse_or_none(name: str) -> Reference | None:
    from tugboat.engine.reference import ReferenceError, parse_normalized_named
    try:
        ref = parse_normalized_named(name)
    except ReferenceError:
        return None
    return ref if ref.is_tagged and not ref.is_canonical else None


__all__ = ["Loader", "SaveSession"]
