"""Reading the json-file log that the runtime's monitor writes.

Each line is dockerd's json-file format: {"log": "...", "stream": "stdout", "time": "<RFC3339Nano>"}.
The monitor owns the writing; this side only reads, so a follower polls the file
(it may be written by a monitor that outlives tugd).  Lines that do not parse are
skipped: a torn last line after a crash must not break `docker logs`.

The monitor rotates the log (max-size/max-file): ``<log>.N`` ... ``<log>.1`` are older,
``<log>`` is live.  Reading goes through them oldest first; a follower notices a rotation
(``<log>`` is a new inode: drain the old file, then open the one rotated after it) or a truncation
(max-file 1: the file shrank below our offset).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

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


def log_files(path: Path) -> list[Path]:
    """The rotated files oldest first, then the live one (which may not exist)."""
    rotated: list[Path] = []
    while True:
        p = path.with_name(f"{path.name}.{len(rotated) + 1}")
        if not p.exists():
            break
        rotated.append(p)
    return rotated[::-1] + [path]


def _successor(path: Path, ino: int) -> Path:
    """The file written after the one with inode ``ino``: a follower that fell behind by
    several rotations reads each file in turn; if its file was already deleted, the oldest
    one left is the next (each rotation shifts every file by one)."""
    files = log_files(path)
    for i, p in enumerate(files[:-1]):
        try:
            if os.stat(p).st_ino == ino:
                return files[i + 1]
        except FileNotFoundError:
            continue
    return files[0]


def _complete_lines(f: BinaryIO) -> Iterator[bytes]:
    """Whole lines from ``f``'s position; stops before (and rewinds over) an unfinished one."""
    while True:
        pos = f.tell()
        ln = f.readline()
        if not ln.endswith(b"\n"):   # EOF, or a line the monitor has not finished
            f.seek(pos)
            return
        yield ln


def read_log(path: Path, stdout: bool = True, stderr: bool = True, follow: bool = False,
             since_ns: int = 0, until_ns: int = 0, tail: int = -1,
             is_running: Callable[[], bool] = lambda: False,
             stopped: Callable[[], bool] = lambda: False) -> Iterator[LogEntry]:
    """Entries of the log, oldest first.  ``tail`` counts lines from the end (before the
    stream and time filters, as dockerd does); with ``follow`` new lines are yielded as
    they are written until the container is no longer running and the file is drained,
    ``until_ns`` is passed, or ``stopped()`` turns true (the client went away)."""
    files: list[BinaryIO] = []
    try:
        for p in log_files(path):
            try:
                files.append(open(p, "rb"))
            except FileNotFoundError:
                if p == path:
                    return
        yield from _read_files(files, path, stdout, stderr, follow, since_ns, until_ns, tail,
                               is_running, stopped)
    finally:
        for f in files:
            f.close()


def _read_files(files: list[BinaryIO], path: Path, stdout: bool, stderr: bool, follow: bool,
                since_ns: int, until_ns: int, tail: int, is_running: Callable[[], bool],
                stopped: Callable[[], bool]) -> Iterator[LogEntry]:
    if tail >= 0:
        chunks: list[list[bytes]] = []
        need = tail
        for i, f in enumerate(reversed(files)):
            if need <= 0 and i > 0:
                break
            lines = list(_complete_lines(f))   # the live file (i == 0) is always read to its end
            chunks.append(lines[len(lines) - need:] if need > 0 else [])
            need -= len(lines)
        for lines in reversed(chunks):
            for ln in lines:
                e = parse_line(ln)
                if e is not None and _want(e, stdout, stderr, since_ns, until_ns):
                    yield e
    else:
        for f in files:
            for ln in _complete_lines(f):
                e = parse_line(ln)
                if e is not None and _want(e, stdout, stderr, since_ns, until_ns):
                    yield e
    if not follow:
        return
    f = files[-1]
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
        try:
            st = os.stat(path)
        except FileNotFoundError:
            return
        fst = os.fstat(f.fileno())
        # rotated away, or already deleted (nlink 0: its inode number may even be reused by the
        # new live file, so the inode comparison alone would take a dead file for the live one)
        if fst.st_nlink == 0 or st.st_ino != fst.st_ino:
            if f.read(1):          # written before the rename: drain the old file first
                f.seek(-1, os.SEEK_CUR)
                continue
            nxt = log_files(path)[0] if fst.st_nlink == 0 else _successor(path, fst.st_ino)
            f = open(nxt, "rb")    # closed by read_log
            files.append(f)
            buf = b""
            continue
        if st.st_size < f.tell():  # truncated in place (max-file 1)
            f.seek(0)
            buf = b""
            continue
        if final:
            return
        if until_ns and time.time_ns() > until_ns:
            return
        if not is_running():
            final = True   # one more read drains what the monitor wrote before the exit
            continue
        time.sleep(POLL_SECONDS)
