"""Images: list, tag, rmi, history, save | load, export, import -c."""

from __future__ import annotations

import json
import re

from tugboat.tools.busybox_image import write_rootfs

from .helpers import ok, tar_file, tar_members


def busybox_tar() -> bytes:
    import io

    buf = io.BytesIO()
    write_rootfs(buf)
    return buf.getvalue()


def image_id(cli, ref: str) -> str:
    return ok(cli("image", "inspect", "-f", "{{.Id}}", ref)).stdout.strip()


def test_images_lists_busybox(cli):
    p = ok(cli("images", "busybox", "--format", "{{.Repository}}:{{.Tag}} {{.ID}}"))
    rows = p.stdout.splitlines()
    assert len(rows) == 1, rows
    ref, short = rows[0].split()
    assert ref == "busybox:latest"
    assert image_id(cli, "busybox").startswith("sha256:" + short)
    header = ok(cli("images", "busybox")).stdout.splitlines()[0]
    assert re.match(r"^REPOSITORY\s+TAG\s+IMAGE ID\s+CREATED\s+SIZE$", header), header


def test_tag_and_rmi(cli, track, token):
    repo = f"tt{token}/tagged"
    track.image(f"{repo}:v1")
    track.image(f"{repo}:v2")
    ok(cli("tag", "busybox", f"{repo}:v1"))
    ok(cli("image", "tag", "busybox:latest", f"{repo}:v2"))
    bid = image_id(cli, "busybox")
    assert image_id(cli, f"{repo}:v1") == bid
    rows = sorted(ok(cli("images", repo, "--format", "{{.Tag}} {{.ID}}")).stdout.splitlines())
    assert rows == [f"v1 {bid[7:19]}", f"v2 {bid[7:19]}"]
    p = ok(cli("rmi", f"{repo}:v1"))
    assert p.stdout.strip() == f"Untagged: {repo}:v1"
    assert cli("image", "inspect", f"{repo}:v1").returncode == 1
    assert image_id(cli, "busybox") == bid                   # still there, still tagged
    # removing by ID an image with several tags needs -f
    p = cli("rmi", bid)
    assert p.returncode == 1
    assert "must be forced" in p.stderr or "is referenced in multiple repositories" in p.stderr
    ok(cli("rmi", f"{repo}:v2"))


def test_rmi_missing_and_in_use(cli, new_name, track, token):
    p = cli("rmi", f"tt{token}/nosuch:missing")
    assert p.returncode == 1
    assert f"No such image: tt{token}/nosuch:missing" in p.stderr
    ref = track.image(f"tt{token}/inuse:1")
    ok(cli("tag", "busybox", ref))
    name = new_name("user")
    ok(cli("create", "--name", name, ref))
    ok(cli("rmi", ref))        # only untags: busybox:latest still names the image
    ok(cli("tag", "busybox", ref))


def test_history(cli):
    p = ok(cli("history", "busybox"))
    lines = p.stdout.splitlines()
    assert re.match(r"^IMAGE\s+CREATED\s+CREATED BY\s+SIZE\s+COMMENT$", lines[0]), lines[0]
    assert len(lines) == 2
    rows = ok(cli("history", "--no-trunc", "--format", "{{.ID}}|{{.Comment}}", "busybox")).stdout.splitlines()
    assert rows == [f"{image_id(cli, 'busybox')}|Imported from -"]


def test_save_load_round_trip(cli, track, token):
    ref = track.image(f"tt{token}/roundtrip:1")
    ok(cli("tag", "busybox", ref))
    iid = image_id(cli, ref)
    p = ok(cli("save", ref, text=False, timeout=120))
    archive = p.stdout
    members = tar_members(archive)
    manifest = json.loads(tar_file(archive, "manifest.json"))
    assert manifest[0]["RepoTags"] == [ref]
    assert manifest[0]["Config"] in members
    assert all(layer in members for layer in manifest[0]["Layers"])
    assert "repositories" in members
    # the legacy "repositories" file names the top layer's directory (its v1 ID)
    top_dir = manifest[0]["Layers"][-1].split("/")[0]
    assert json.loads(tar_file(archive, "repositories")) == {f"tt{token}/roundtrip": {"1": top_dir}}

    ok(cli("rmi", ref))
    p = ok(cli("load", input=archive, timeout=120))
    assert p.stdout.decode().strip().endswith(f"Loaded image: {ref}")
    assert image_id(cli, ref) == iid
    assert ok(cli("run", "--rm", ref, "echo", "loaded")).stdout == "loaded\n"


def test_save_to_file_and_load_from_file(cli, track, token, tmp_path):
    ref = track.image(f"tt{token}/file:1")
    ok(cli("tag", "busybox", ref))
    out = tmp_path / "img.tar"
    ok(cli("save", "-o", str(out), ref, timeout=120))
    assert json.loads(tar_file(out.read_bytes(), "manifest.json"))[0]["RepoTags"] == [ref]
    ok(cli("rmi", ref))
    assert f"Loaded image: {ref}" in ok(cli("load", "-i", str(out), timeout=120)).stdout


def test_export(cli, new_name, tmp_path):
    name = new_name("export")
    ok(cli("run", "--name", name, "busybox", "sh", "-c", "echo made-in-container > /made"))
    data = ok(cli("export", name, text=False, timeout=120)).stdout
    members = tar_members(data)
    # hard links: whichever name comes first holds the data
    assert members["bin/busybox"].isfile() or members["bin/busybox"].islnk()
    assert members["bin/sh"].islnk() or members["bin/sh"].isfile()
    assert tar_file(data, "bin/sh")[:4] == b"\x7fELF"
    assert tar_file(data, "made") == b"made-in-container\n"
    assert b"root:x:0:0:root:/root:/bin/sh" in tar_file(data, "etc/passwd")
    out = tmp_path / "fs.tar"
    ok(cli("export", "-o", str(out), name, timeout=120))
    assert "made" in tar_members(out.read_bytes())


def test_import_with_changes(cli, track, token):
    ref = track.image(f"tt{token}/imported:1")
    p = ok(cli("import", "-c", 'CMD ["echo", "imported"]', "-c", "ENV GREETING=hello", "-c", "WORKDIR /tmp",
               "-m", "from the tests", "-", ref, input=busybox_tar(), timeout=120))
    iid = p.stdout.decode().strip()
    assert iid.startswith("sha256:") and iid == image_id(cli, ref)
    cfg = json.loads(ok(cli("image", "inspect", "-f", "{{json .Config}}", ref)).stdout)
    assert cfg["Cmd"] == ["echo", "imported"]
    assert "GREETING=hello" in cfg["Env"]
    assert cfg["WorkingDir"] == "/tmp"
    assert ok(cli("run", "--rm", ref)).stdout == "imported\n"
    assert ok(cli("run", "--rm", ref, "sh", "-c", "echo $GREETING; pwd")).stdout == "hello\n/tmp\n"
    comment = ok(cli("history", "--format", "{{.Comment}}", ref)).stdout.strip()
    assert comment == "from the tests"


def test_busybox_layer_is_the_tool_s_tar(cli):
    """The layer digest (diff ID) is the sha256 of the tar the tool writes: stable on one host."""
    import hashlib

    diff_ids = json.loads(ok(cli("image", "inspect", "-f", "{{json .RootFS.Layers}}", "busybox")).stdout)
    assert diff_ids == ["sha256:" + hashlib.sha256(busybox_tar()).hexdigest()]
