"""Container service: lifecycle of containers (create/start/stop/kill/wait/remove),
listing and inspection, logs and attach.  CONTRACT STUB — to be implemented."""

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class LogEntry:
    stream: str          # "stdout" | "stderr"
    data: bytes          # one line as written, including its trailing newline
    time_ns: int


class Waiter(Protocol):
    """Registered by ``ContainerService.wait_begin`` *before* the HTTP status line
    goes out, so that a client that sends wait then start never misses the exit."""

    def result(self) -> dict:
        """Block until the condition is met; return {"StatusCode": int, "Error": None | {"Message": str}}."""
        ...

    def cancel(self) -> None: ...


class AttachStream(Protocol):
    """A live connection to a container's stdio, made before or after start."""

    tty: bool

    def output(self) -> Iterator[tuple[int, bytes]]:
        """Yield (1 for stdout | 2 for stderr, data) until the container's output ends
        or ``close`` is called."""
        ...

    def write_stdin(self, data: bytes) -> None: ...

    def close_stdin(self) -> None: ...

    def close(self) -> None: ...


class ContainerService:
    """See module docstring. ``ref`` everywhere is a full ID, a unique ID prefix or a
    name (with or without a leading "/"); ambiguous prefixes raise Conflict-free
    NotFound-style errors exactly as dockerd does."""

    def create(self, name: str | None, body: dict, platform: str | None = None) -> dict:
        """body is the API's ContainerConfig + "HostConfig" + "NetworkingConfig".
        Returns {"Id": ..., "Warnings": [...]}."""
        raise NotImplementedError

    def start(self, ref: str) -> None:
        raise NotImplementedError

    def stop(self, ref: str, timeout: int | None = None, signal: str | None = None) -> None:
        raise NotImplementedError

    def kill(self, ref: str, signal: str | None = None) -> None:
        raise NotImplementedError

    def restart(self, ref: str, timeout: int | None = None) -> None:
        raise NotImplementedError

    def wait_begin(self, ref: str, condition: str = "not-running") -> Waiter:
        raise NotImplementedError

    def remove(self, ref: str, force: bool = False, volumes: bool = False, link: bool = False) -> None:
        raise NotImplementedError

    def list(self, all: bool = False, limit: int = -1, size: bool = False,
             filters: dict[str, list[str]] | None = None) -> list[dict]:
        raise NotImplementedError

    def inspect(self, ref: str, size: bool = False) -> dict:
        raise NotImplementedError

    def logs(self, ref: str, stdout: bool = True, stderr: bool = True, follow: bool = False,
             since_ns: int = 0, until_ns: int = 0, tail: int = -1) -> tuple[bool, Iterator[LogEntry]]:
        """Returns (tty, entries)."""
        raise NotImplementedError

    def attach(self, ref: str, stdin: bool, stdout: bool, stderr: bool,
               stream: bool = True, logs: bool = False) -> AttachStream:
        raise NotImplementedError

    def export(self, ref: str) -> Iterator[bytes]:
        raise NotImplementedError
