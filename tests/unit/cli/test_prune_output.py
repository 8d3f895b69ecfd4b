"""Every prune command ends with docker's "Total reclaimed space:" line, sized by units.HumanSize
(4 significant digits: 1234567 bytes is "1.235MB", where ps would print "1.23MB")."""

from __future__ import annotations

import io
from typing import Any

import pytest

from tugboat.cli.commands import build, container, images, system_prune, volume
from tugboat.cli.context import Context
from tugboat.cli.humanize import total_reclaimed

SPACE = 1234567


class FakeAPI:
    def prune(self, filters: Any) -> dict[str, Any]:
        return {"ContainersDeleted": ["c1"], "ImagesDeleted": [{"Deleted": "sha256:ab"}],
                "VolumesDeleted": ["v1"], "NetworksDeleted": [], "SpaceReclaimed": SPACE}

    def build_prune(self, all: bool, filters: Any) -> dict[str, Any]:
        return {"CachesDeleted": ["k1"], "SpaceReclaimed": SPACE}


class FakeClient:
    containers = images = volumes = networks = FakeAPI()


def run(command: Any, path: str) -> str:
    ctx = Context(out=io.StringIO(), err=io.StringIO())
    ctx._client = FakeClient()  # type: ignore[assignment]
    assert command(ctx, ["-f"], path) == 0
    return ctx.out.getvalue()  # type: ignore[attr-defined]


@pytest.mark.parametrize("space, want", [
    (0, "0B"), (999, "999B"), (1234, "1.234kB"), (SPACE, "1.235MB"), (886_400_000, "886.4MB"),
    (1_840, "1.84kB"), (999_950, "1000kB"), (72_900_000_000, "72.9GB"),
])
def test_total_reclaimed_is_units_human_size(space: int, want: str) -> None:
    assert total_reclaimed(space) == f"Total reclaimed space: {want}"


@pytest.mark.parametrize("command, path, listing", [
    (container.prune, "container prune", "Deleted Containers:\nc1\n\n"),
    (images.prune, "image prune", "Deleted Images:\ndeleted: sha256:ab\n\n"),
    (volume.prune, "volume prune", "Deleted Volumes:\nv1\n\n"),
    (build.prune, "builder prune", "Deleted build cache objects:\nk1\n\n"),
])
def test_prune_commands_print_docker_total(command: Any, path: str, listing: str) -> None:
    assert run(command, path) == listing + "Total reclaimed space: 1.235MB\n"


def test_system_prune_sums_in_units_human_size() -> None:
    out = run(system_prune.prune, "system prune")
    assert out.endswith("Total reclaimed space: 3.704MB\n")  # containers + images + build cache
