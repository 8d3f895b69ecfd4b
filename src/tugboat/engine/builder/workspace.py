"""Where build steps become images: temporary containers, scratch RW layers, commits.

The classic builder commits every step as an image (a layer, or a config-only "empty
layer") whose parent is the previous step; config-only steps and RUN go through a real
container of the engine (so the output's "Running in <id>" names something that existed),
COPY/ADD through an RW layer mounted only for the copy.  The image configs are built with
the commit helper's ``child_config`` (image.NewChildImage), so ``docker commit`` and builds
write identical shapes.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tugboat.api.timefmt import now_ns
from tugboat.engine.builder.state import StageState
from tugboat.engine.container_commit import child_config
from tugboat.engine.images import host_arch
from tugboat.errors import TugboatError
from tugboat.store.tarstream import iter_reader

log = logging.getLogger(__name__)
Emit = Callable[[str], None]


class Workspace:
    def __init__(self, images: Any, containers: Any, layers: Any, runtime: Any) -> None:
        self.images = images
        self.containers = containers
        self.layers = layers
        self.runtime = runtime

    # --- images ------------------------------------------------------------------------------
    def image_config(self, image_id: str) -> dict[str, Any]:
        return dict(self.images.resolve(image_id).config) if image_id else {}

    def top_chain(self, image_id: str) -> str | None:
        return self.images.resolve(image_id).top_chain_id if image_id else None

    def new_image(self, state: StageState, container_config: dict[str, Any], container_id: str,
                  tar: Any | None) -> str:
        parent = self.image_config(state.image_id) or {"architecture": host_arch(), "os": "linux"}
        cfg = child_config(parent, state.copy_config(), container_config, container_id, state.maintainer,
                           "", tar is None, now_ns())
        image_id = str(self.images.create_image(cfg, layer_tar=tar, parent=state.image_id or None))
        state.image_id = image_id
        return image_id

    def commit_rw(self, state: StageState, rw_id: str, container_config: dict[str, Any],
                  container_id: str = "") -> str:
        empty = not self.layers.rw_changes(rw_id)
        tar = None if empty else iter_reader(self.layers.rw_diff(rw_id))
        return self.new_image(state, container_config, container_id, tar)

    # --- containers ----------------------------------------------------------------------------
    def create_container(self, state: StageState, config: dict[str, Any], network: str = "") -> str:
        body = dict(config)
        body["Image"] = state.image_id
        body["HostConfig"] = {"NetworkMode": network or "default"}
        return str(self.containers.create(None, body)["Id"])

    def remove_container(self, cid: str, emit: Emit) -> None:
        try:
            self.containers.remove(cid, force=True, volumes=True)
        except TugboatError as e:
            log.warning("removing build container %s: %s", cid, e)
            return
        emit(f"Removing intermediate container {cid[:12]}\n")

    def run(self, cid: str, emit_output: Callable[[bytes], None],
            cancelled: Callable[[], bool]) -> int:
        """Start the container, relay its output, return its exit code."""
        attach = self.containers.attach(cid, stdin=False, stdout=True, stderr=True, stream=True)
        waiter = self.containers.wait_begin(cid, "next-exit")
        try:
            self.containers.start(cid)
        except BaseException:
            waiter.cancel()
            attach.close()
            raise
        stop = threading.Event()

        def watch() -> None:   # a client that went away kills the step, output or not
            while not stop.wait(0.5):
                if cancelled():
                    try:
                        self.containers.kill(cid, "SIGKILL")
                    except TugboatError:
                        pass
                    return

        threading.Thread(target=watch, name=f"build-watch-{cid[:12]}", daemon=True).start()
        try:
            for _, data in attach.output():
                emit_output(data)
            result = waiter.result()
        finally:
            stop.set()
        if cancelled():
            raise TugboatError("context canceled")
        return int(result.get("StatusCode") or 0)

    @contextmanager
    def mounted(self, rw_id: str) -> Iterator[Path]:
        """A container's (or scratch layer's) root filesystem, mounted for the duration."""
        root = Path(self.runtime.mount_rootfs(rw_id, list(self.layers.rw_mounts(rw_id))))
        try:
            yield root
        finally:
            self.runtime.unmount_rootfs(rw_id)

    @contextmanager
    def rw_layer(self, image_id: str) -> Iterator[str]:
        """A throwaway RW layer on ``image_id`` ("" = empty), removed afterwards."""
        rw_id = os.urandom(32).hex()
        self.layers.create_rw(rw_id, self.top_chain(image_id))
        try:
            yield rw_id
        finally:
            try:
                self.layers.remove_rw(rw_id)
            except TugboatError as e:
                log.warning("removing build rw layer %s: %s", rw_id, e)
