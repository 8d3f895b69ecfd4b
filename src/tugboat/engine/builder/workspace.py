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
import shutil
import stat
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tugboat.api.timefmt import now_ns
from tugboat.engine.builder.context import scoped_path
from tugboat.engine.builder.state import StageState
from tugboat.engine.container_commit import child_config
from tugboat.engine.images import host_arch
from tugboat.errors import TugboatError
from tugboat.store.tarstream import iter_reader

log = logging.getLogger(__name__)
Emit = Callable[[str], None]


class Workspace:
    def __init__(self, images: Any, containers: Any, layers: Any, runtime: Any,
                 scratch_dir: Path | None = None, tmp_dir: Path | None = None) -> None:
        self.tmp_dir = tmp_dir
        self.images = images
        self.containers = containers
        self.layers = layers
        self.runtime = runtime
        # one marker file per scratch RW layer in use, so that a tugd that died in the
        # middle of a COPY can drop the layer (and its mount) on the next start
        self.scratch_dir = scratch_dir
        if scratch_dir is not None:
            scratch_dir.mkdir(parents=True, exist_ok=True, mode=0o700)

    def reap_scratch(self) -> None:
        """Unmount and remove scratch RW layers a previous tugd left behind."""
        if self.scratch_dir is None:
            return
        for marker in self.scratch_dir.iterdir():
            rw_id = marker.name
            try:
                self.runtime.unmount_rootfs(rw_id)
                self.layers.remove_rw(rw_id)
                marker.unlink()
            except Exception as e:  # noqa: BLE001 - keep the marker, try again next start
                log.warning("removing leftover build layer %s: %s", rw_id, e)

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
    def create_container(self, state: StageState, config: dict[str, Any], network: str = "",
                         binds: list[str] | None = None, host_config: dict[str, Any] | None = None) -> str:
        body = dict(config)
        body["Image"] = state.image_id
        body["HostConfig"] = {**(host_config or {}), "NetworkMode": network or "default", "Binds": binds or None}
        return str(self.containers.create(None, body)["Id"])

    @contextmanager
    def volume_dirs(self, volumes: list[str]) -> Iterator[list[tuple[str, Path]]]:
        """Stand-ins for the anonymous volumes dockerd gives a RUN container at each VOLUME:
        host directories bind-mounted there, so what the step writes below a VOLUME is
        discarded (the classic "changes after VOLUME are lost"), while the mount point
        itself lands in the layer as under dockerd."""
        if not volumes:
            yield []
            return
        base = Path(tempfile.mkdtemp(prefix="build-vol-", dir=self.tmp_dir))
        try:
            yield [(v, base / str(i)) for i, v in enumerate(volumes)]
        finally:
            shutil.rmtree(base, ignore_errors=True)

    def seed_volumes(self, cid: str, dirs: list[tuple[str, Path]]) -> None:
        """Copy the image's content at each volume path into its stand-in (as dockerd
        populates a new anonymous volume), before the container starts."""
        with self.mounted(cid) as root:
            for path, host in dirs:
                src = scoped_path(root, path)
                if src.is_dir():
                    shutil.copytree(src, host, symlinks=True, dirs_exist_ok=True)
                    st = src.stat()
                    os.chown(host, st.st_uid, st.st_gid)
                    os.chmod(host, stat.S_IMODE(st.st_mode))
                else:
                    host.mkdir(mode=0o755, exist_ok=True)

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
        marker = self.scratch_dir / rw_id if self.scratch_dir is not None else None
        if marker is not None:
            marker.touch()
        try:
            self.layers.create_rw(rw_id, self.top_chain(image_id))
            yield rw_id
        finally:
            try:
                self.layers.remove_rw(rw_id)
                if marker is not None:
                    marker.unlink(missing_ok=True)
            except TugboatError as e:
                log.warning("removing build rw layer %s: %s", rw_id, e)
