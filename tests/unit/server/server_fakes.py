"""A fake engine with the stubs' signatures: in-memory, no root, no runc.

It records the typed arguments each call received so tests can check the
server's parsing, and offers hooks (events, queues) to drive streaming, wait
and attach from the test.
"""

from __future__ import annotations

import builtins
import hashlib
import queue
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, BinaryIO

from tugboat.errors import Conflict, InvalidArgument, NotFound, NotModified, TugboatError


@dataclass(frozen=True)
class LogEntry:
    """Same shape as tugboat.engine.containers.LogEntry (not imported: the fakes must
    not depend on the engine package importing cleanly)."""

    stream: str
    data: bytes
    time_ns: int


class FakeWaiter:
    def __init__(self) -> None:
        self.done = threading.Event()
        self.cancelled = threading.Event()
        self.status = 0

    def result(self) -> dict:
        while not self.done.wait(0.05):
            if self.cancelled.is_set():
                raise TugboatError("wait cancelled")
        return {"StatusCode": self.status, "Error": None}

    def cancel(self) -> None:
        self.cancelled.set()


class FakeAttach:
    def __init__(self, tty: bool) -> None:
        self.tty = tty
        self.out: queue.Queue = queue.Queue()      # (fd, bytes) items; None ends output
        self.stdin = bytearray()
        self.stdin_closed = threading.Event()
        self.closed = threading.Event()

    def output(self) -> Iterator[tuple[int, bytes]]:
        while True:
            item = self.out.get()
            if item is None:
                return
            yield item

    def write_stdin(self, data: bytes) -> None:
        self.stdin += data
        if self.tty:          # echo like a terminal would
            self.out.put((1, data))

    def close_stdin(self) -> None:
        self.stdin_closed.set()

    def close(self) -> None:
        self.closed.set()
        self.out.put(None)          # the contract: output() ends when close is called


@dataclass
class FakeContainer:
    id: str
    name: str
    config: dict
    tty: bool = False
    running: bool = False
    logs: list[LogEntry] = field(default_factory=list)


class FakeContainers:
    def __init__(self) -> None:
        self.calls: list[tuple] = []
        self.items: dict[str, FakeContainer] = {}
        self.waiters: list[FakeWaiter] = []
        self.attaches: list[FakeAttach] = []
        self.follow_queue: queue.Queue = queue.Queue()

    def _get(self, ref: str) -> FakeContainer:
        if ref == "boom":
            raise RuntimeError("kaboom")
        for c in self.items.values():
            if ref in (c.id, c.name) or c.id.startswith(ref):
                return c
        raise NotFound(f"No such container: {ref}")

    def create(self, name: str | None, body: dict, platform: str | None = None) -> dict:
        self.calls.append(("create", name, body, platform))
        if name and any(c.name == name for c in self.items.values()):
            raise Conflict(f'Conflict. The container name "/{name}" is already in use')
        if not body.get("Image"):
            raise InvalidArgument("No command specified")
        cid = hashlib.sha256(f"{name}{len(self.items)}".encode()).hexdigest()
        self.items[cid] = FakeContainer(cid, name or f"c{len(self.items)}", body, tty=bool(body.get("Tty")))
        return {"Id": cid, "Warnings": []}

    def start(self, ref: str) -> None:
        c = self._get(ref)
        self.calls.append(("start", ref))
        if c.running:
            raise NotModified("container already started")
        c.running = True

    def stop(self, ref: str, timeout: int | None = None, signal: str | None = None) -> None:
        self._get(ref)
        self.calls.append(("stop", ref, timeout, signal))

    def kill(self, ref: str, signal: str | None = None) -> None:
        self._get(ref)
        self.calls.append(("kill", ref, signal))

    def restart(self, ref: str, timeout: int | None = None) -> None:
        self._get(ref)
        self.calls.append(("restart", ref, timeout))

    def wait_begin(self, ref: str, condition: str = "not-running") -> FakeWaiter:
        self._get(ref)
        self.calls.append(("wait", ref, condition))
        w = FakeWaiter()
        self.waiters.append(w)
        return w

    def remove(self, ref: str, force: bool = False, volumes: bool = False, link: bool = False) -> None:
        c = self._get(ref)
        self.calls.append(("remove", ref, force, volumes, link))
        del self.items[c.id]

    def list(self, all: bool = False, limit: int = -1, size: bool = False,
             filters: dict[str, builtins.list[str]] | None = None) -> builtins.list[dict]:
        self.calls.append(("list", all, limit, size, filters))
        return [{"Id": c.id, "Names": ["/" + c.name]} for c in self.items.values() if all or c.running]

    def inspect(self, ref: str, size: bool = False) -> dict:
        c = self._get(ref)
        self.calls.append(("inspect", ref, size))
        return {"Id": c.id, "Name": "/" + c.name, "Config": {"Tty": c.tty}, "State": {"Running": c.running}}

    def logs(self, ref: str, stdout: bool = True, stderr: bool = True, follow: bool = False,
             since_ns: int = 0, until_ns: int = 0, tail: int = -1) -> tuple[bool, Iterator[LogEntry]]:
        c = self._get(ref)
        self.calls.append(("logs", ref, stdout, stderr, follow, since_ns, until_ns, tail))

        def gen() -> Iterator[LogEntry]:
            for e in c.logs:
                if (e.stream == "stdout" and stdout) or (e.stream == "stderr" and stderr):
                    yield e
            while follow:
                e = self.follow_queue.get()
                if e is None:
                    return
                yield e

        return c.tty, gen()

    def attach(self, ref: str, stdin: bool, stdout: bool, stderr: bool,
               stream: bool = True, logs: bool = False) -> FakeAttach:
        c = self._get(ref)
        self.calls.append(("attach", ref, stdin, stdout, stderr, stream, logs))
        a = FakeAttach(c.tty)
        self.attaches.append(a)
        return a

    def export(self, ref: str) -> Iterator[bytes]:
        self._get(ref)
        yield b"tar-part-1"
        if ref.startswith("brok"):
            raise TugboatError("disk on fire")
        yield b"tar-part-2"


    # -- container_update route --------------------------------------------------------------
    def update(self, ref: str, body: dict) -> dict:
        self._get(ref)
        self.calls.append(("update", ref, body))
        return {"Warnings": []}

    # -- container_extras routes -------------------------------------------------------------
    def pause(self, ref: str) -> None:
        c = self._get(ref)
        self.calls.append(("pause", ref))
        if not c.running:
            raise Conflict(f"Container {c.id} is not running")

    def unpause(self, ref: str) -> None:
        self._get(ref)
        self.calls.append(("unpause", ref))

    def resize(self, ref: str, height: int, width: int) -> None:
        self._get(ref)
        self.calls.append(("resize", ref, height, width))

    def rename(self, ref: str, new_name: str) -> None:
        c = self._get(ref)
        self.calls.append(("rename", ref, new_name))
        if not new_name:
            raise InvalidArgument("Neither old nor new names may be empty")
        c.name = new_name

    def top(self, ref: str, ps_args: str = "") -> dict:
        self._get(ref)
        self.calls.append(("top", ref, ps_args))
        return {"Titles": ["UID", "PID", "CMD"], "Processes": [["root", "42", "sleep 300"]]}

    def changes(self, ref: str) -> builtins.list[dict] | None:
        c = self._get(ref)
        self.calls.append(("changes", ref))
        if not c.running:
            return None
        return [{"Path": "/etc", "Kind": 0}, {"Path": "/newfile", "Kind": 1}, {"Path": "/etc/group", "Kind": 2}]

    def stats(self, ref: str, stream: bool = True, one_shot: bool = False) -> Iterator[dict]:
        c = self._get(ref)
        self.calls.append(("stats", ref, stream, one_shot))

        def gen() -> Iterator[dict]:
            for n in range(3 if stream else 1):
                yield {"name": "/" + c.name, "id": c.id, "num_procs": n}

        return gen()

    def prune(self, filters: dict[str, builtins.list[str]] | None = None) -> dict:
        self.calls.append(("prune", filters))
        for key in filters or {}:
            if key not in ("until", "label", "label!"):
                raise InvalidArgument(f"Invalid filter '{key}'")
        gone = [c.id for c in self.items.values() if not c.running]
        for cid in gone:
            del self.items[cid]
        return {"ContainersDeleted": gone or None, "SpaceReclaimed": 0}


class FakeImages:
    def __init__(self) -> None:
        self.calls: list[tuple] = []
        self.received = b""

    def list(self, all: bool = False, filters: dict[str, builtins.list[str]] | None = None,
             digests: bool = False) -> builtins.list[dict]:
        self.calls.append(("list", all, filters, digests))
        return [{"Id": "sha256:" + "a" * 64, "RepoTags": ["busybox:latest"]}]

    def inspect(self, ref: str) -> dict:
        self.calls.append(("inspect", ref))
        if ref.startswith("nosuch"):
            raise NotFound(f"No such image: {ref}")
        return {"Id": "sha256:" + "a" * 64, "RepoTags": [ref]}

    def remove(self, ref: str, force: bool = False, noprune: bool = False) -> builtins.list[dict]:
        self.calls.append(("remove", ref, force, noprune))
        return [{"Untagged": ref}]

    def tag(self, ref: str, repo: str, tag: str | None) -> None:
        self.calls.append(("tag", ref, repo, tag))

    def history(self, ref: str) -> builtins.list[dict]:
        self.calls.append(("history", ref))
        return [{"Id": "sha256:" + "a" * 64, "CreatedBy": "x"}]

    def import_image(self, stream: BinaryIO, repo: str | None, tag: str | None,
                     changes: builtins.list[str], message: str = "") -> Iterator[dict]:
        self.calls.append(("import", repo, tag, changes, message))
        h = hashlib.sha256()
        while True:
            chunk = stream.read(7)      # small reads: exercise the chunked decoder
            if not chunk:
                break
            h.update(chunk)
            self.received += chunk
        yield {"status": "sha256:" + h.hexdigest()}

    def save(self, refs: builtins.list[str]) -> Iterator[bytes]:
        self.calls.append(("save", refs))
        if any(r.startswith("nosuch") for r in refs):
            raise NotFound(f"No such image: {refs[0]}")
        yield ("|".join(refs)).encode()

    def load(self, stream: BinaryIO, quiet: bool = False) -> Iterator[dict]:
        self.calls.append(("load", quiet))
        data = stream.read()
        self.received = data
        if data.startswith(b"bad-early"):
            raise InvalidArgument("invalid tar header")
        yield {"stream": "Loaded image: busybox:latest\n"}
        if data.startswith(b"bad-late"):
            raise TugboatError("unexpected EOF")

    def pull(self, image: str, tag: str | None, platform: str = "", auth: Any = None) -> Iterator[dict]:
        self.calls.append(("pull", image, tag, platform, auth))
        if image.startswith("nosuch"):
            raise NotFound(f"manifest for {image}:{tag} not found: manifest unknown: manifest unknown")
        return iter([{"status": "Pulling from library/busybox", "id": tag}])

    def push(self, name: str, tag: str | None, auth: Any = None) -> Iterator[dict]:
        self.calls.append(("push", name, tag, auth))
        return iter([{"status": f"The push refers to repository [{name}]"}])

    def login(self, auth: Any) -> dict:
        self.calls.append(("login", auth))
        return {"Status": "Login Succeeded", "IdentityToken": ""}

    def prune(self, filters: dict[str, builtins.list[str]] | None = None) -> dict:
        self.calls.append(("prune", filters))
        return {"ImagesDeleted": [{"Deleted": "sha256:" + "b" * 64}], "SpaceReclaimed": 1234}


class FakeSystem:
    def version(self) -> dict:
        return {"Version": "20.10.99-tugboat", "ApiVersion": "1.41", "MinAPIVersion": "1.12",
                "Os": "linux", "Arch": "amd64"}

    def info(self) -> dict:
        return {"Containers": 0, "Images": 1, "Driver": "vfs"}


@dataclass
class FakeEngine:
    containers: FakeContainers = field(default_factory=FakeContainers)
    images: FakeImages = field(default_factory=FakeImages)
    system: FakeSystem = field(default_factory=FakeSystem)
