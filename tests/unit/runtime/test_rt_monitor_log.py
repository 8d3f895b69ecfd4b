"""The monitor's json-file writer, loaded by path as tugd runs it. No root needed."""

import importlib.util
import json
from pathlib import Path

import tugboat.runtime.container_runtime as cr
from tugboat.api.timefmt import parse_rfc3339


def load_monitor():
    spec = importlib.util.spec_from_file_location("tug_monitor", cr.MONITOR_PATH)
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def records(path: Path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_lines_split_and_streams_apart(tmp_path):
    mon = load_monitor()
    w = mon.LogWriter(str(tmp_path / "c" / "log.json"))
    w.write(1, b"hel")
    w.write(1, b"lo\nwor")
    w.write(2, b"err\n")
    w.write(1, b"ld\n\xff\n")
    w.flush()
    recs = records(tmp_path / "c" / "log.json")
    assert [(r["stream"], r["log"]) for r in recs] == [
        ("stdout", "hello\n"), ("stderr", "err\n"), ("stdout", "world\n"), ("stdout", "\ufffd\n")]
    assert all(parse_rfc3339(r["time"]) > 0 for r in recs)


def test_partial_flushed_at_16k_and_on_close(tmp_path):
    mon = load_monitor()
    w = mon.LogWriter(str(tmp_path / "log.json"))
    w.write(1, b"a" * (16 * 1024 + 5))
    w.write(2, b"tail without newline")
    w.flush()
    recs = records(tmp_path / "log.json")
    assert [len(r["log"]) for r in recs] == [16 * 1024, 5, 20]
    assert recs[2] == {"log": "tail without newline", "stream": "stderr", "time": recs[2]["time"]}


def test_log_time_format():
    mon = load_monitor()
    assert mon.log_time(1_704_164_645_123_456_789) == "2024-01-02T03:04:05.123456789Z"
    assert mon.log_time(1_704_164_645_120_000_000) == "2024-01-02T03:04:05.12Z"
    assert mon.log_time(1_704_164_645_000_000_000) == "2024-01-02T03:04:05Z"
