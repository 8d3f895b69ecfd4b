"""Reading the json-file log: filters, tail, corrupt lines, follow."""

from __future__ import annotations

import json
import threading
import time

from tugboat.api.timefmt import rfc3339nano
from tugboat.engine.container_logs import LogEntry, read_log

T0 = 1_700_000_000 * 1_000_000_000


def line(i: int, stream: str = "stdout") -> str:
    return json.dumps({"log": f"line {i}\n", "stream": stream, "time": rfc3339nano(T0 + i * 1_000_000_000)}) + "\n"


def write(path, text: str) -> None:
    with open(path, "a") as f:
        f.write(text)


def data(entries) -> list[bytes]:
    return [e.data for e in entries]


def test_read_filters_and_tail(tmp_path):
    log = tmp_path / "x-json.log"
    write(log, line(0) + line(1, "stderr") + "garbage\n" + '{"log": 5}\n' + line(2) + line(3, "stderr"))
    assert data(read_log(log)) == [b"line 0\n", b"line 1\n", b"line 2\n", b"line 3\n"]
    assert data(read_log(log, stderr=False)) == [b"line 0\n", b"line 2\n"]
    assert data(read_log(log, stdout=False)) == [b"line 1\n", b"line 3\n"]
    assert data(read_log(log, tail=2)) == [b"line 2\n", b"line 3\n"]
    assert data(read_log(log, tail=2, stderr=False)) == [b"line 2\n"]   # tail counts all lines
    assert data(read_log(log, tail=0)) == []
    assert data(read_log(log, since_ns=T0 + 2_000_000_000)) == [b"line 2\n", b"line 3\n"]
    assert data(read_log(log, until_ns=T0 + 1_000_000_000)) == [b"line 0\n", b"line 1\n"]
    first = next(iter(read_log(log)))
    assert first == LogEntry("stdout", b"line 0\n", T0)


def test_missing_file_and_partial_line(tmp_path):
    assert list(read_log(tmp_path / "nope")) == []
    log = tmp_path / "p.log"
    write(log, line(0) + line(1)[:10])
    assert data(read_log(log)) == [b"line 0\n"]


def test_follow_until_container_stops(tmp_path):
    log = tmp_path / "f.log"
    write(log, line(0) + line(1)[:7])          # the monitor is in the middle of a line
    running = threading.Event()
    running.set()

    def writer():
        time.sleep(0.1)
        write(log, line(1)[7:] + line(2))
        time.sleep(0.1)
        write(log, line(3))
        running.clear()

    t = threading.Thread(target=writer)
    t.start()
    got = data(read_log(log, follow=True, is_running=running.is_set))
    t.join()
    assert got == [b"line 0\n", b"line 1\n", b"line 2\n", b"line 3\n"]


def test_follow_with_tail_on_stopped_container_ends(tmp_path):
    log = tmp_path / "s.log"
    write(log, line(0) + line(1))
    assert data(read_log(log, follow=True, tail=1)) == [b"line 1\n"]
