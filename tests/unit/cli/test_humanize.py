"""go-units: docker prints sizes and ages with these exact rules."""

from __future__ import annotations

import pytest

from tugboat.cli.humanize import bytes_size, human_duration, human_size


@pytest.mark.parametrize("size, want", [
    (0, "0B"), (8, "8B"), (999, "999B"), (1000, "1kB"), (1982333, "1.98MB"), (4260000, "4.26MB"),
    (123456789, "123MB"), (72_900_000_000, "72.9GB"), (1e15, "1PB"),
])
def test_human_size(size: float, want: str) -> None:
    assert human_size(size) == want


def test_human_size_precision_4_for_virtual_size() -> None:
    assert human_size(1982333, 4) == "1.982MB"


def test_bytes_size() -> None:
    assert bytes_size(25275654144) == "23.54GiB"
    assert bytes_size(512) == "512B"


@pytest.mark.parametrize("secs, want", [
    (0.5, "Less than a second"), (1, "1 second"), (3, "3 seconds"), (59, "59 seconds"),
    (60, "About a minute"), (119, "About a minute"), (120, "2 minutes"), (3599, "59 minutes"),
    (3600, "About an hour"), (5399, "About an hour"), (5400, "2 hours"), (47 * 3600, "47 hours"),
    (48 * 3600, "2 days"), (13 * 86400, "13 days"), (14 * 86400, "2 weeks"), (59 * 86400, "8 weeks"),
    (60 * 86400, "2 months"), (729 * 86400, "24 months"), (730 * 86400, "2 years"),
])
def test_human_duration(secs: float, want: str) -> None:
    assert human_duration(secs) == want
