"""Shared fixtures: a LayerStore per driver (overlay2 skipped where it cannot mount), the data root is always a fresh ``tmp_path``."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tugboat.store.layers import LayerStore

from .helpers import can_overlay


@pytest.fixture(params=["overlay2", "vfs"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> LayerStore:
    if request.param == "overlay2" and not can_overlay():
        pytest.skip("overlayfs not available (needs root)")
    if os.geteuid() != 0:
        pytest.skip("layer unpacking preserves ownership: needs root")
    return LayerStore(tmp_path / "data", driver=request.param)
