"""Row contexts: what docker shows for each ps/images placeholder."""

from __future__ import annotations

from tugboat.cli.commands.inspect import indent_json
from tugboat.cli.formatter import ContainerRow, ImageRow, ellipsis, image_rows

C = {"Id": "96295e7f8062" + "a" * 52, "Names": ["/web", "/other/link"], "Image": "busybox:latest",
     "ImageID": "sha256:" + "b" * 64, "Command": "sh -c 'echo a long command line'", "Created": 1000,
     "State": "exited", "Status": "Exited (0) 2 minutes ago", "Labels": {"b": "2", "a": "1"},
     "Ports": [{"PrivatePort": 80, "Type": "tcp"},
               {"IP": "0.0.0.0", "PrivatePort": 443, "PublicPort": 8443, "Type": "tcp"}],
     "Mounts": [{"Name": "averyveryverylongvolumename", "Driver": "local"}],
     "NetworkSettings": {"Networks": {"bridge": {}}}, "SizeRw": 12, "SizeRootFs": 1982333}


def test_container_row() -> None:
    r = ContainerRow(C, trunc=True, now=1003)
    assert r.ID() == "96295e7f8062"
    assert r.Names() == "web"
    assert r.Image() == "busybox:latest"
    assert r.Command() == '"sh -c \'echo a long …"'  # 19 characters + …
    assert r.RunningFor() == "3 seconds ago"
    assert r.Labels() == "a=1,b=2" and r.Label("b") == "2"
    assert r.Ports() == "80/tcp, 0.0.0.0:8443->443/tcp"
    assert r.Mounts() == "averyveryveryl…"
    assert r.Networks() == "bridge"
    assert r.Size() == "12B (virtual 1.98MB)"
    full = ContainerRow(C, trunc=False, now=1003)
    assert full.Names() == "web,other/link" and len(full.ID()) == 64


def test_image_rows_one_per_tag_and_dangling() -> None:
    imgs = [{"Id": "sha256:" + "c" * 64, "RepoTags": ["busybox:latest", "busybox:1", "localhost:5000/x:y"],
             "Created": 0, "Size": 4260000},
            {"Id": "sha256:" + "d" * 64, "RepoTags": None, "RepoDigests": None, "Created": 0, "Size": 8}]
    rows = image_rows(imgs, digests=False, trunc=True)
    assert [(r.Repository(), r.Tag(), r.ID(), r.Size()) for r in rows] == [
        ("busybox", "latest", "cccccccccccc", "4.26MB"), ("busybox", "1", "cccccccccccc", "4.26MB"),
        ("localhost:5000/x", "y", "cccccccccccc", "4.26MB"), ("<none>", "<none>", "dddddddddddd", "8B")]
    assert ImageRow(imgs[0], "r", "t", "<none>").to_json()["Digest"] == "<none>"


def test_ellipsis() -> None:
    assert ellipsis("abcdef", 4) == "abc…"
    assert ellipsis("abc", 4) == "abc"


def test_indent_json_like_go() -> None:
    raw = '[{"A":[],"B":{},"C":[1,{"D":"x,y:[z]"}],"E":"\\u003c\\"q"}]'
    assert indent_json(raw) == (
        '[\n    {\n        "A": [],\n        "B": {},\n        "C": [\n            1,\n'
        '            {\n                "D": "x,y:[z]"\n            }\n        ],\n'
        '        "E": "\\u003c\\"q"\n    }\n]')


def test_ports_grouped_like_docker() -> None:
    from tugboat.cli.formatter import display_ports
    ports = [{"PrivatePort": 9001, "Type": "tcp"}, {"PrivatePort": 9000, "Type": "tcp"},
             {"PrivatePort": 7000, "Type": "tcp"},
             {"IP": "0.0.0.0", "PrivatePort": 18090, "PublicPort": 18090, "Type": "tcp"},
             {"IP": "::", "PrivatePort": 18090, "PublicPort": 18090, "Type": "tcp"},
             {"IP": "0.0.0.0", "PrivatePort": 80, "PublicPort": 18082, "Type": "tcp"},
             {"IP": "::", "PrivatePort": 80, "PublicPort": 18082, "Type": "tcp"}]
    assert display_ports(ports) == ("7000/tcp, 9000-9001/tcp, 0.0.0.0:18090->18090/tcp, [::]:18090->18090/tcp, "
                                    "0.0.0.0:18082->80/tcp, [::]:18082->80/tcp")
