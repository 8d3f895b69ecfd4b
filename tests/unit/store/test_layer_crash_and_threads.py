"""A tugd killed at any instant restarts consistent; concurrent callers see one layer per chain."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tugboat.store.layers import LayerStore

from .helpers import make_tar, reg

_CHILD = """
import io, sys
from pathlib import Path
from tugboat.store.layers import LayerStore
s = LayerStore(Path(sys.argv[1]), driver=sys.argv[2])
data = open(sys.argv[3], "rb").read()
print("ready", flush=True)
layer = s.register(io.BytesIO(data), None)
s.create_rw("c", layer.chain_id)
s.prune([layer.chain_id])
s.remove_rw("c")
s.prune([])
"""


def _big_tar(tmp_path: Path) -> tuple[Path, bytes]:
    entries = [reg(f"d{i % 20}/f{i}", os.urandom(3000)) for i in range(1500)]
    data = make_tar(entries)
    p = tmp_path / "big.tar"
    p.write_bytes(data)
    return p, data


@pytest.mark.parametrize("delay", [0.05, 0.15, 0.3, 0.5, 0.8])
def test_kill_at_any_moment_leaves_a_consistent_store(store: LayerStore, tmp_path: Path, delay: float) -> None:
    tar_path, data = _big_tar(tmp_path)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[3] / "src")}
    child = subprocess.Popen([sys.executable, "-c", _CHILD, str(store.data_root), store.driver_name,
                              str(tar_path)], stdout=subprocess.PIPE, env=env)
    assert child.stdout is not None and child.stdout.readline() == b"ready\n"
    time.sleep(delay)
    child.send_signal(signal.SIGKILL)
    child.wait()
    child.stdout.close()
    again = LayerStore(store.data_root, driver=store.driver_name)
    assert os.listdir(again.home / "tmp") == []
    layers = again.layers()
    assert len(layers) <= 1
    assert len(os.listdir(again.home / "l")) == len(layers)
    for layer in layers:
        assert b"".join(again.tar(layer.chain_id)) == data
    for cid in ("c",):
        if again.rw_exists(cid):
            assert again.rw_mounts(cid)
            again.remove_rw(cid)
    again.prune([])
    assert again.layers() == []


def test_concurrent_registers_of_one_layer(store: LayerStore) -> None:
    data = make_tar([reg(f"f{i}", b"x" * 1000) for i in range(200)])
    results: list[str] = []
    errors: list[BaseException] = []

    def work() -> None:
        try:
            results.append(store.register(io.BytesIO(data), None).chain_id)
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=work) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and len(set(results)) == 1 and len(results) == 6
    assert len(os.listdir(store.home / "l")) == 1 and os.listdir(store.home / "tmp") == []
    assert b"".join(store.tar(results[0])) == data
