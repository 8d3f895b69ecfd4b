"""Reading the json-file log that the runtime's monitor writes.

Each line is dockerd's json-file format: {"log": "...", "stream": "stdout", "time": "<RFC3339Nano>"}.
The monitor owns the writing; this side only reads, so a follower polls the file
(it may be written by a monitor that outlives tugd).  Lines that do not parse are
skipped: a torn last line after a crash must not break `docker logs`.
"""

from __future__ import annotations

import json
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from tugboat.api.timefmt import parse_rfc3339

POLL_SECONDS = 0.05


@dataclass(frozen=True)
class LogEntry:
    stream: str          # "stdout" | "stderr"
    data: bytes          # one line as written, including its trailing newline
    time_ns: int


def parse_line(line: bytes) -> LogEntry | None:
    try:
        d = json.loads(line)
        stream = d.get("stream", "stdout")
        if stream not in ("stdout", "stderr"):
            return None
        log = d.get("log", "")
        if not isinstance(log, str):
            return None
        return LogEntry(stream, log.encode("utf-8", "surrogateescape"), parse_rfc3339(d["time"]))
    except (ValueError, KeyError, TypeError, AttributeError):
        return None


def _want(e: LogEntry, stdout: bool, stderr: bool, since_ns: int, until_ns: int) -> bool:
    if e.stream == "stdout" and not stdout or e.stream == "stderr" and not stderr:
        return False
    if since_ns and e.time_ns < since_ns:
        return False
    return not (until_ns and e.time_ns > until_ns)


def read_log(path: Path, stdout: bool = True, stderr: bool = True, follow: bool = False,
             since_ns: int = 0, until_ns: int = 0, tail: int = -1,
             is_running: Callable[[], bool] = lambda: False,
             stopped: Callable[[], bool] = lambda: False) -> Iterator[LogEntry]:
    """Entries of the log, oldest first.  ``tail`` counts lines from the end (before the
    stream and time filters, as dockerd does); with ``follow`` new lines are yielded as
    they are written until the container is no longer running and the file is drained,
    ``until_ns`` is passed, or ``stopped()`` turns true (the client went away)."""
    try:
        f = open(path, "rb")
    except FileNotFoundError:
        return
    with f:
        pos = 0
        kept: deque[bytes] = deque(maxlen=max(tail, 0))
        while True:
            ln = f.readline()
            if not ln.endswith(b"\n"):   # EOF, or a line the monitor has not finished
                break
            pos += len(ln)
            if tail >= 0:
                kept.append(ln)
                continue
            e = parse_line(ln)
            if e is not None and _want(e, stdout, stderr, since_ns, until_ns):
                yield e
        for ln in kept:
            e = parse_line(ln)
            if e is not None and _want(e, stdout, stderr, since_ns, until_ns):
                yield e
        kept.clear()
        if not follow:
            return
        f.seek(pos)
        buf = b""
        final = False
        while not stopped():
            chunk = f.read(65536)
            if chunk:
                buf += chunk
                *complete, buf = buf.split(b"\n")
                for ln in complete:
                    e = parse_line(ln)
                    if e is None:
                        continue
                    if until_ns and e.time_ns > until_ns:
                        return
                    if _want(e, stdout, stderr, since_ns, until_ns):
                        yield e
                continue
            if final or not path.exists():
                return
            if until_ns and time.time_ns() > until_ns:
                return
            if not is_running():
                final = True   # one more read drains what the monitor wrote before the exit
                continue
            time.sleep(POLL_SECONDS)

