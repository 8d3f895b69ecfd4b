"""The container state machine and the words Docker uses for it.

Every status change goes through ``State.transition`` so that an impossible move
(starting a container that is being removed, ...) is a programming error caught
in one place instead of a silently corrupted record.  The human-readable
"Up 5 seconds" / "Exited (0) 3 minutes ago" strings follow moby's
``container.State.String`` and go-units' ``HumanDuration`` word for word, because
`docker ps` users and scripts read them.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

from tugboat.api.timefmt import now_ns, rfc3339nano
from tugboat.api.units import human_duration

CREATED = "created"
RUNNING = "running"
PAUSED = "paused"          # reserved: pause/unpause are not implemented yet
RESTARTING = "restarting"  # reserved: restart policies are not implemented yet
REMOVING = "removing"
EXITED = "exited"
DEAD = "dead"

STATUSES = (CREATED, RESTARTING, RUNNING, REMOVING, PAUSED, EXITED, DEAD)

# from -> allowed destinations
_TRANSITIONS: dict[str, frozenset[str]] = {
    CREATED: frozenset({RUNNING, REMOVING, CREATED}),
    RUNNING: frozenset({EXITED, PAUSED, RESTARTING}),
    PAUSED: frozenset({RUNNING, EXITED, RESTARTING}),
    RESTARTING: frozenset({RUNNING, EXITED}),
    EXITED: frozenset({RUNNING, REMOVING}),
    REMOVING: frozenset({DEAD, EXITED, CREATED}),
    DEAD: frozenset({REMOVING}),
}


class InvalidTransition(RuntimeError):
    """A bug: the engine asked for a move the state machine forbids."""


@dataclass
class State:
    """What dockerd keeps in container.State, with times as integer nanoseconds."""

    status: str = CREATED
    pid: int = 0
    exit_code: int = 0
    error: str = ""
    started_at_ns: int = 0
    finished_at_ns: int = 0
    oom_killed: bool = False
    health: dict | None = None   # {"Status", "FailingStreak", "Log"} once started with a healthcheck

    def transition(self, to: str) -> None:
        if to not in _TRANSITIONS.get(self.status, frozenset()):
            raise InvalidTransition(f"container state cannot go from {self.status} to {to}")
        self.status = to

    @property
    def running(self) -> bool:
        """Docker's State.Running is also true while paused or restarting."""
        return self.status in (RUNNING, PAUSED, RESTARTING)

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, d: dict) -> State:
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in (d or {}).items() if k in names})

    def to_api(self) -> dict:
        """ContainerState as GET /containers/{id}/json shows it."""
        return {
            "Status": self.status,
            "Running": self.running,
            "Paused": self.status == PAUSED,
            "Restarting": self.status == RESTARTING,
            "OOMKilled": self.oom_killed,
            "Dead": self.status == DEAD,
            "Pid": self.pid,
            "ExitCode": self.exit_code,
            "Error": self.error,
            "StartedAt": rfc3339nano(self.started_at_ns),
            "FinishedAt": rfc3339nano(self.finished_at_ns),
            **({"Health": self.health} if self.health is not None else {}),
        }

    def human(self, now: int | None = None) -> str:
        """moby's State.String(): the STATUS column of `docker ps`."""
        now = now_ns() if now is None else now
        if self.running:
            up = human_duration((now - self.started_at_ns) / 1e9)
            if self.status == PAUSED:
                return f"Up {up} (Paused)"
            if self.status == RESTARTING:
                return f"Restarting ({self.exit_code}) {human_duration((now - self.finished_at_ns) / 1e9)} ago"
            if self.health is not None:
                from tugboat.engine.container_health import status_text
                return f"Up {up} ({status_text(self.health)})"
            return f"Up {up}"
        if self.status == REMOVING:
            return "Removal In Progress"
        if self.status == DEAD:
            return "Dead"
        if not self.started_at_ns:
            return "Created"
        if not self.finished_at_ns:
            return ""
        return f"Exited ({self.exit_code}) {human_duration((now - self.finished_at_ns) / 1e9)} ago"
