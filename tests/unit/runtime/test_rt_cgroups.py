"""cgroups.py on a fake cgroup v2 tree (this host is v1/hybrid). No root needed."""

from pathlib import Path

import pytest

from tugboat.runtime import cgroups


@pytest.fixture
def fake_v2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "cgroup"
    root.mkdir()
    (root / "cgroup.controllers").write_text("cpuset cpu io memory pids\n")
    (root / "system.slice").mkdir()
    (root / "system.slice" / "memory.swap.max").write_text("max\n")
    monkeypatch.setattr(cgroups, "CGROUP_ROOT", root)
    return root


def test_v2_layout(fake_v2: Path):
    assert cgroups.is_v2()
    assert cgroups.container_dirs("/tugboat/abc") == [fake_v2 / "tugboat" / "abc"]
    assert cgroups.oom_files("/tugboat/abc") == [str(fake_v2 / "tugboat" / "abc" / "memory.events")]
    assert cgroups.has_controller("pids") and not cgroups.has_controller("hugetlb")
    assert cgroups.has_knob("memory", "memory.swap.max")
    assert not cgroups.has_knob("io", "io.weight")
    assert cgroups.controller_root("memory") == fake_v2 or cgroups.controller_root("memory") is not None


def test_remove_tree_bottom_up(fake_v2: Path):
    (fake_v2 / "tugboat" / "abc" / "sub").mkdir(parents=True)
    assert cgroups.remove("/tugboat") == []
    assert not (fake_v2 / "tugboat").exists()
    assert cgroups.remove("/tugboat") == []  # idempotent


def test_v1_mountinfo_parsing():
    # Whatever this host has, every hierarchy found is a mounted directory.
    for mnt, _ctrls in cgroups.hierarchies():
        assert mnt.is_dir()
