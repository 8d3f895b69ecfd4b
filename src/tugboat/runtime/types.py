"""Value types of the runtime interface (docs/TEAM_CONTRACTS.md, "runtime/ interface").

They live apart from the implementation so that the engine, the spec builder and
tests can use them without pulling in anything that talks to the kernel.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tugboat.store.idmap import IdMap


@dataclass
class ProcessSpec:
    """The container's init process, as the engine resolved it from image + config."""

    args: list[str]            # entrypoint + cmd, already combined by the engine
    env: list[str]             # "K=V" (image env merged with container env by the engine)
    cwd: str                   # "/" if empty
    user: str                  # Config.User as given: "", "uid", "name", "uid:gid", "name:group"
    tty: bool = False
    open_stdin: bool = False
    stdin_once: bool = False


@dataclass
class StartRequest:
    """Everything the runtime needs to create one container."""

    id: str                    # full 64-hex container id
    rootfs_mounts: list[Any]   # store.layers.Mount objects (.type .source .options), mounted in order
    process: ProcessSpec
    hostname: str
    domainname: str
    host_config: dict[str, Any]          # the API HostConfig; the runtime applies what it supports
    labels: dict[str, str]
    etc_files: dict[str, Path]           # container path -> host file to bind-mount
    log_path: Path                       # json-file log the monitor appends to
    state_dir: Path                      # persistent per-container dir; the monitor writes exit.json here
    stop_signal: str = "SIGTERM"
    netns_path: str | None = None        # None: a new network namespace with only lo
    extra_mounts: list[dict[str, Any]] = field(default_factory=list)  # OCI mounts (volumes, later)
    log_max_size: int = 0                # rotate the log at this many bytes; 0: never
    log_max_file: int = 1                # files kept in all when rotating (1: truncate in place)
    userns: IdMap | None = None          # userns-remap: a user namespace with these mappings


@dataclass(frozen=True)
class MonitorRef:
    """Persisted by the engine so that a restarted tugd can find the monitor again."""

    pid: int
    start_time: int            # /proc/<pid>/stat field 22; guards against pid reuse


@dataclass(frozen=True)
class Started:
    pid: int                   # container init pid (host pid namespace)
    monitor: MonitorRef


@dataclass(frozen=True)
class ExitStatus:
    exit_code: int             # 128+signal when killed by a signal, as Docker reports
    finished_at_ns: int
    oom_killed: bool = False
    error: str = ""
