"""Small fakes of the image service, layer store and runtime for the container engine tests.

They implement just the contract in docs/TEAM_CONTRACTS.md, record what was asked of
them, and let a test decide when a container exits.
"""

from __future__ import annotations

import itertools
import socket
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from tugboat.errors import NotFound, TugboatError
from tugboat.runtime.types import ExitStatus, MonitorRef, Started


@dataclass(frozen=True)
class ImageRecord:
    id: str
    config: dict
    top_chain_id: str | None
    repo_tags: tuple[str, ...] = ()


IMAGE_ID = "sha256:" + "ab" * 32
OTHER_IMAGE_ID = "sha256:" + "cd" * 32


class FakeImages:
    def __init__(self) -> None:
        base = {"config": {"Env": ["PATH=/bin", "FOO=img", "BAR=imgbar"], "Cmd": ["sh"],
                           "Labels": {"a": "1", "b": "2"}, "WorkingDir": "/"}}
        self.images = {
            "busybox": ImageRecord(IMAGE_ID, base, "sha256:" + "11" * 32, ("busybox:latest",)),
            "entry": ImageRecord(OTHER_IMAGE_ID, {"config": {"Entrypoint": ["/entry"], "Cmd": ["arg"],
                                                             "StopSignal": "SIGQUIT"}}, None),
            "nocmd": ImageRecord("sha256:" + "ef" * 32, {"config": {}}, None),
        }

    def resolve(self, ref: str) -> ImageRecord:
        name = ref.split(":")[0] if not ref.startswith("sha256:") else ref
        for key, img in self.images.items():
            if name in (key, img.id):
                return img
        raise NotFound(f"No such image: {ref if ':' in ref else ref + ':latest'}")


@dataclass(frozen=True)
class Mount:
    type: str
    source: str
    options: list[str]


@dataclass(frozen=True)
class Layer:
    chain_id: str
    diff_id: str
    parent: str | None
    size: int


class FakeLayers:
    driver_name = "overlay2"

    def __init__(self) -> None:
        self.rw: dict[str, str | None] = {}
        self.removed: list[str] = []

    def create_rw(self, cid: str, parent: str | None, init_layer: bool = False) -> None:
        self.rw[cid] = parent

    def rw_mounts(self, cid: str) -> list[Mount]:
        return [Mount("overlay", "overlay", ["lowerdir=/lower", f"upperdir=/rw/{cid}/diff", f"workdir=/rw/{cid}/work"])]

    def rw_size(self, cid: str) -> int:
        return 10

    def chain(self, chain_id: str) -> list[Layer]:
        return [Layer(chain_id, chain_id, None, 100)]

    def rw_changes(self, cid: str) -> list[tuple[str, str]]:
        return [("A", "/new"), ("C", "/etc"), ("D", "/gone")]

    def remove_rw(self, cid: str) -> None:
        self.rw.pop(cid, None)
        self.removed.append(cid)


class FakeRuntime:
    """Containers "run" until a test calls ``exit`` or a signal arrives (TERM/KILL end them
    unless ``ignore_term`` is set)."""

    def __init__(self) -> None:
        self._pids = itertools.count(1000)
        self.requests: dict[str, object] = {}
        self.started: list[str] = []
        self.signals: list[tuple[str, int]] = []
        self.cleaned: list[str] = []
        self.watchers: dict[str, object] = {}
        self.alive: set[MonitorRef] = set()
        self.exits: dict[Path, ExitStatus] = {}
        self.peers: dict[str, list[socket.socket]] = {}
        self.ignore_term = False
        self.fail_create: str | None = None
        self.events: list[str] = []
        self.export_dir: Path | None = None

    def create(self, req) -> Started:
        self.events.append("create")
        if self.fail_create:
            raise TugboatError(self.fail_create)
        self.requests[req.id] = req
        pid = next(self._pids)
        mon = MonitorRef(pid + 1, 42)
        self.alive.add(mon)
        return Started(pid, mon)

    def start(self, cid: str) -> None:
        self.events.append("start")
        self.started.append(cid)

    def attach(self, cid: str) -> socket.socket:
        self.events.append("attach")
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.peers.setdefault(cid, []).append(theirs)
        return ours

    def watch(self, cid, monitor, state_dir, on_exit) -> None:
        self.events.append("watch")
        self.watchers[cid] = on_exit

    def exit(self, cid: str, code: int = 0, wait: bool = True) -> None:
        cb = self.watchers.pop(cid)
        for peer in self.peers.pop(cid, []):
            peer.close()
        t = threading.Thread(target=cb, args=(ExitStatus(code, time.time_ns()),))
        t.start()
        if wait:
            t.join()

    def signal(self, cid: str, sig: int) -> None:
        self.signals.append((cid, sig))
        if sig == 9 or (sig == 15 and not self.ignore_term):
            if cid in self.watchers:
                self.exit(cid, 128 + sig, wait=False)

    def is_alive(self, monitor: MonitorRef) -> bool:
        return monitor in self.alive

    def read_exit(self, state_dir: Path) -> ExitStatus | None:
        return self.exits.get(Path(state_dir))

    def cleanup(self, cid: str) -> None:
        self.cleaned.append(cid)

    def rootfs(self, cid: str) -> Path:
        return Path("/run/fake") / cid / "rootfs"

    def ps(self, cid: str) -> list[int]:
        import os

        return [os.getpid()]

    def stats(self, cid: str) -> dict:
        self.events.append("stats")
        n = self.events.count("stats")
        return {"type": "stats", "id": cid, "data": {
            "cpu": {"usage": {"total": 1000 * n, "percpu": [600 * n, 400 * n], "kernel": 10, "user": 20},
                    "throttling": {}},
            "memory": {"usage": {"usage": 4096, "max": 8192, "limit": 1 << 62}, "raw": {"cache": 1}},
            "pids": {"current": 2},
            "blkio": {"ioServiceBytesRecursive": [{"major": 8, "minor": 0, "op": "Read", "value": 5}]}}}

    def check_host_config(self, hc: dict) -> list:
        return []

    def update(self, cid: str, resources: dict) -> list:
        self.events.append(f"update {sorted(resources.items())}")
        return []

    def pause(self, cid: str) -> None:
        self.events.append("pause")

    def resume(self, cid: str) -> None:
        self.events.append("resume")

    def resize(self, cid: str, height: int, width: int) -> None:
        self.events.append(f"resize {height}x{width}")

    def mount_rootfs(self, cid: str, mounts: list) -> Path:
        self.events.append("mount")
        assert self.export_dir is not None
        return self.export_dir

    def unmount_rootfs(self, cid: str) -> None:
        self.events.append("unmount")

    def shutdown(self) -> None:
        self.watchers.clear()
