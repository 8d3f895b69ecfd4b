"""BuildService: POST /build without the HTTP — a context stream and typed options in,
progress items out.

Everything that can fail before the first step (bad tags, an unreadable context, a
missing or malformed Dockerfile, an unknown target) fails in ``build()`` itself, so the
server still answers with an HTTP error as dockerd does; the steps then run in a worker
thread whose output is handed over through a queue.  That keeps RUN output streaming
live, and lets a client that goes away cancel the build (the running step's container
is killed) instead of leaving it running to the end.
"""

from __future__ import annotations

import logging
import queue
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

from tugboat.engine.builder.context import BuildContext
from tugboat.engine.builder.executor import Executor
from tugboat.engine.builder.instructions import parse_stages
from tugboat.engine.builder.options import BuildOptions
from tugboat.engine.builder.parser import ParseError, parse
from tugboat.engine.builder.steps import BuildFailed
from tugboat.engine.builder.workspace import Workspace
from tugboat.engine.reference import Reference, ReferenceError, parse_normalized_named
from tugboat.errors import InvalidArgument, NotImplementedYet, TugboatError

log = logging.getLogger(__name__)
_DONE = object()


class BuildService:
    def __init__(self, images: Any, containers: Any, layers: Any, runtime: Any, work_dir: Path) -> None:
        """``work_dir``: private scratch space on the data root's filesystem (build contexts,
        markers of scratch layers); emptied here, as nothing in it outlives a tugd."""
        self.work_dir = Path(work_dir)
        self.ws = Workspace(images, containers, layers, runtime, self.work_dir.parent / "scratch-layers",
                            self.work_dir)
        self.images = images
        shutil.rmtree(self.work_dir, ignore_errors=True)   # contexts left by a crashed tugd
        self.work_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.ws.reap_scratch()

    def _puller(self, auth_configs: dict[str, Any]) -> Any:
        def pull(ref: str, platform: str) -> Iterator[dict[str, Any]]:
            """FROM / COPY --from of an image that is not here (or --pull): the image service's
            pull, with the client's credentials for that registry (X-Registry-Config)."""
            return iter(self.images.pull(ref, None, platform=platform, auth=auth_for(ref, auth_configs)))
        return pull

    def build(self, context: BinaryIO, options: BuildOptions) -> Iterator[dict[str, Any]]:
        if options.remote:
            raise NotImplementedYet("building from a remote context (git or URL) is not supported; "
                                    "send the context as a tar")
        tags: list[Reference] = []
        for t in options.tags:
            try:
                ref = parse_normalized_named(t)
            except ReferenceError as e:
                raise InvalidArgument(str(e)) from None
            if ref.is_canonical:
                raise InvalidArgument("build tag cannot contain a digest")
            tags.append(ref.tag_name_only())
        ctx = BuildContext.from_tar(context, self.work_dir)
        try:
            text = ctx.read_dockerfile(options.dockerfile)
            ctx.apply_dockerignore(options.dockerfile)
            try:
                result = parse(text)
            except ParseError as e:
                msg = e.message
                raise ParseError(msg if msg.startswith("dockerfile parse error")
                                 else f"failed to parse Dockerfile: {msg}") from None
            stages, meta = parse_stages(result.nodes)
            if options.target and options.target.lower() not in {s.name for s in stages}:
                raise InvalidArgument(f"failed to reach build target {options.target} in Dockerfile")
        except BaseException:
            ctx.close()
            raise
        return self._run(ctx, stages, meta, result.escape, result.warnings, options, tags)

    def _run(self, ctx: BuildContext, stages: Any, meta: Any, escape: str, warnings: list[str],
             options: BuildOptions, tags: list[Any]) -> Iterator[dict[str, Any]]:
        q: queue.Queue[Any] = queue.Queue(maxsize=1024)
        cancel = threading.Event()

        def emit(item: dict[str, Any]) -> None:
            while not cancel.is_set():
                try:
                    q.put(item, timeout=0.5)
                    return
                except queue.Full:
                    continue

        def work() -> None:
            try:
                for w in warnings:
                    emit({"stream": w + "\n"})
                ex = Executor(self.ws, ctx, stages, meta, escape, options, emit, cancel.is_set,
                              self._puller(options.auth_configs))
                image_id = ex.run()
                if options.quiet:
                    emit({"stream": image_id + "\n"})
                else:
                    emit({"stream": f"Successfully built {image_id[7:19]}\n"})
                for t in tags:
                    self.images.tag(image_id, str(t.trimmed()), t.tag)
                    if not options.quiet:
                        emit({"stream": f"Successfully tagged {t.familiar()}\n"})
                emit({"_done": image_id})
            except BaseException as e:  # noqa: BLE001 - handed to the consumer
                if not isinstance(e, TugboatError):
                    log.exception("build failed")
                emit({"_error": e})
            finally:
                ctx.close()

        worker = threading.Thread(target=work, name="build", daemon=True)
        worker.start()
        return BuildStream(q, cancel, worker)

    def prune(self, filters: dict[str, list[str]] | None = None, all: bool = False) -> dict[str, Any]:
        """POST /build/prune: the classic builder keeps no cache of its own (its cache is
        the intermediate images, pruned with `image prune`), as dockerd answers then."""
        return {"CachesDeleted": None, "SpaceReclaimed": 0}


def auth_for(ref: str, auth_configs: dict[str, Any]) -> Any:
    """The AuthConfig the client gave for the registry of ``ref`` (keys as the docker CLI
    writes them: "https://index.docker.io/v1/" for Docker Hub, else the host name)."""
    if not auth_configs:
        return None
    try:
        domain = parse_normalized_named(ref).domain
    except ReferenceError:
        return None
    keys = ["https://index.docker.io/v1/", "index.docker.io", "docker.io", "registry-1.docker.io"] \
        if domain == "docker.io" else [domain, f"https://{domain}", f"http://{domain}", f"https://{domain}/v1/"]
    for k in keys:
        if k in auth_configs:
            return auth_configs[k]
    return None


class BuildStream:
    """The progress items of a running build.  ``cancel()`` (the client went away) stops
    the build at the next step and kills a running RUN container; closing or dropping the
    iterator does the same."""

    def __init__(self, q: queue.Queue[Any], cancel: threading.Event, worker: threading.Thread) -> None:
        self._q = q
        self._cancel = cancel
        self._worker = worker
        self._done = False

    def __iter__(self) -> BuildStream:
        return self

    def __next__(self) -> dict[str, Any]:
        while not self._done:
            try:
                item = self._q.get(timeout=0.5)
            except queue.Empty:
                if not self._worker.is_alive() and self._q.empty():
                    self._done = True
                    if self._cancel.is_set():   # the client went away: nothing left to say
                        raise StopIteration from None
                    raise BuildFailed("build ended unexpectedly") from None
                continue
            if "_done" in item:
                self._done = True
                break
            if "_error" in item:
                self._done = True
                err = item["_error"]
                if isinstance(err, TugboatError):
                    raise err
                raise BuildFailed(str(err) or type(err).__name__) from err
            return item
        self._cancel.set()
        raise StopIteration

    def cancel(self) -> None:
        self._cancel.set()

    def close(self) -> None:
        self._cancel.set()

    def __del__(self) -> None:
        self._cancel.set()
