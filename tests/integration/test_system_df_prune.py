"""`system df` (GET /system/df, the summary table, -v, --format) and `system prune` / `builder prune`
(composed from the prune endpoints as docker's CLI does)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from .conftest import CLI, DOCKER, TUG
from .helpers import ok


def test_disk_usage_api(dclient, tug, new_name, track, token):
    running, stopped = new_name("dfrun"), new_name("dfstop")
    ok(tug("run", "-d", "--name", running, "busybox", "sleep", "60"))
    ok(tug("run", "--name", stopped, "busybox", "sh", "-c", "head -c 300000 /dev/zero > /blob"))
    volume = f"tt{token}-dfvol"
    ok(tug("volume", "create", volume))
    try:
        du = dclient.df()
        assert list(du) == ["LayersSize", "Images", "Containers", "Volumes", "BuildCache", "BuilderSize"]
        assert du["BuildCache"] is None and du["BuilderSize"] == 0
        busybox = ok(tug("image", "inspect", "-f", "{{.Id}}", "busybox")).stdout.strip()
        img = next(i for i in du["Images"] if i["Id"] == busybox)
        assert img["Containers"] >= 2 and img["SharedSize"] >= 0 and img["Size"] > 0
        assert du["LayersSize"] >= img["Size"] - img["SharedSize"]
        by_name = {c["Names"][0].lstrip("/"): c for c in du["Containers"]}
        assert by_name[stopped]["SizeRw"] >= 300000 and by_name[stopped]["SizeRootFs"] > by_name[stopped]["SizeRw"]
        assert by_name[running]["State"] == "running"
        vol = next(v for v in du["Volumes"] if v["Name"] == volume)
        assert vol["UsageData"] == {"RefCount": 0, "Size": 0}
    finally:
        ok(tug("volume", "rm", volume))


def test_system_df_output_matches_docker(tug, docker_cli, new_name):
    name = new_name("dfout")
    ok(tug("run", "--name", name, "busybox", "sh", "-c", "head -c 5000 /dev/zero > /f"))
    table = ok(tug("system", "df")).stdout
    assert table.splitlines()[0].split() == ["TYPE", "TOTAL", "ACTIVE", "SIZE", "RECLAIMABLE"]
    assert [line.split("  ")[0] for line in table.splitlines()[1:]] == \
        ["Images", "Containers", "Local Volumes", "Build Cache"]
    for args in (["--format", "json"], ["--format", "{{.Type}}: {{.TotalCount}} {{.Reclaimable}}"], []):
        assert ok(tug("system", "df", *args)).stdout == ok(docker_cli("system", "df", *args)).stdout
    rows = [json.loads(line) for line in ok(tug("system", "df", "--format", "json")).stdout.splitlines()]
    containers = next(r for r in rows if r["Type"] == "Containers")
    assert int(containers["TotalCount"]) >= 1 and containers["Reclaimable"] != "0B"
    verbose = ["-v", "--format", "{{range .Images}}{{.Repository}} {{.Size}} {{.Containers}}\n{{end}}"
               "{{range .Containers}}{{.Names}} {{.Size}}\n{{end}}{{json .BuildCache}}"]
    mine = ok(tug("system", "df", *verbose)).stdout
    assert mine == ok(docker_cli("system", "df", *verbose)).stdout
    assert f"{name} 5kB" in mine and mine.endswith("[]")
    text = ok(tug("system", "df", "-v")).stdout
    for heading in ("Images space usage:\n\nREPOSITORY ", "\nContainers space usage:\n\nCONTAINER ID ",
                    "\nLocal Volumes space usage:\n\nVOLUME NAME   LINKS     SIZE\n",
                    "\nBuild cache usage: 0B\n\nCACHE ID   CACHE TYPE   SIZE      CREATED   LAST USED   USAGE     SHARED\n"):
        assert heading in text
    assert text.count("\n") == ok(docker_cli("system", "df", "-v")).stdout.count("\n")
    bad = tug("system", "df", "--format", "{{.Nope}}")
    assert bad.returncode == 1
    assert "can't evaluate field Nope in type *formatter.diskUsageImagesContext" in bad.stderr


def test_builder_prune(cli, dclient):
    assert dclient.api.prune_builds() == {"CachesDeleted": None, "SpaceReclaimed": 0}
    p = ok(cli("builder", "prune", "-f"))
    assert p.stdout == "Total reclaimed space: 0B\n"
    p = ok(cli("builder", "prune", "-a"))
    assert p.stdout == "WARNING! This will remove all build cache. Are you sure you want to continue? [y/N] "


@pytest.fixture
def own(isolated_tugd: Any) -> Any:
    if isolated_tugd.target != "tugd":
        pytest.skip("system prune would empty the real Docker Engine")
    return isolated_tugd


@pytest.mark.parametrize("binary", [TUG, DOCKER], ids=["tug", "docker"])
def test_system_prune(own, binary):
    cli = CLI(binary.name, binary, own.env)
    ok(cli("run", "-d", "--name", "keeper", "busybox", "sleep", "60"))
    stopped = ok(cli("create", "--name", "gone", "busybox", "true")).stdout.strip()
    ok(cli("run", "--name", "maker", "busybox", "touch", "/made"))
    dangling = ok(cli("commit", "maker")).stdout.strip()
    ok(cli("commit", "maker", "unused:tag"))
    unused = ok(cli("image", "inspect", "-f", "{{.Id}}", "unused:tag")).stdout.strip()
    ok(cli("rm", "maker"))
    ok(cli("volume", "create", "orphan"))
    ok(cli("network", "create", "spare"))

    p = ok(cli("system", "prune", input="n\n"))
    assert p.stdout == ("WARNING! This will remove:\n  - all stopped containers\n"
                        "  - all networks not used by at least one container\n  - all dangling images\n"
                        "  - unused build cache\n\nAre you sure you want to continue? [y/N] ")
    assert stopped in ok(cli("ps", "-aq", "--no-trunc")).stdout

    p = ok(cli("system", "prune", "-f", "--volumes"))
    out = p.stdout
    assert f"Deleted Containers:\n{stopped}\n\n" in out
    assert "Deleted Networks:\nspare\n\n" in out
    assert "Deleted Volumes:\norphan\n\n" in out
    assert f"Deleted Images:\ndeleted: {dangling}\n" in out
    assert out.splitlines()[-1].startswith("Total reclaimed space: ")
    assert out.index("Deleted Containers") < out.index("Deleted Networks") < out.index("Deleted Volumes") \
        < out.index("Deleted Images")
    assert ok(cli("ps", "-a", "--format", "{{.Names}}")).stdout.split() == ["keeper"]
    assert ok(cli("image", "inspect", "-f", "{{.Id}}", "unused:tag")).stdout.strip() == unused

    p = ok(cli("system", "prune", "-a", "-f"))
    assert f"Deleted Images:\nuntagged: unused:tag\ndeleted: {unused}\n" in p.stdout
    assert "busybox" in ok(cli("images", "--format", "{{.Repository}}")).stdout    # in use by keeper
    assert ok(cli("system", "prune", "-f")).stdout == "Total reclaimed space: 0B\n"
    p = cli("system", "prune", "-f", "--volumes", "--filter", "until=1h")
    assert p.returncode == 1 and 'ERROR: The "until" filter is not supported with "--volumes"' in p.stderr
    ok(cli("rm", "-f", "keeper"))
