"""Hand-run interop check of ``save``/``load`` against a real dockerd (not a unit test).

    .venv/bin/python -m tugboat.engine.image_interop [--docker-host unix:///var/run/docker.sock]

Builds two small images in the reference dockerd (an import and a COPY layer on
top), ``docker save``s them, loads the archive into a fresh ImageService (vfs,
private temp data root), saves it again and compares the two archives member by
member: names, config bytes, legacy json bytes, layer.tar bytes, manifest and
repositories.  Then ``docker load``s our archive back and checks the IDs.  Only
the images it created are removed afterwards.
"""

from __future__ import annotations

import argparse
import io
import json
import posixpath
import shutil
import subprocess
import sys
import tarfile
import tempfile
import urllib.parse
from pathlib import Path
from typing import Any

TAGS = ("imghelper-interop:base", "imghelper-interop:top")


def _docker(host: str, *args: str, stdin: bytes | None = None) -> bytes:
    return subprocess.run(["docker", "-H", host, *args], input=stdin, check=True,
                          capture_output=True).stdout


def _rootfs_tar() -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        def add(name: str, data: bytes = b"", **kw: object) -> None:
            ti = tarfile.TarInfo(name)
            ti.size = len(data)
            ti.mtime = 1_700_000_000
            for k, v in kw.items():
                setattr(ti, k, v)
            tf.addfile(ti, io.BytesIO(data) if data else None)
        add("bin", type=tarfile.DIRTYPE, mode=0o755)
        add("bin/tool", b"#!/bin/sh\necho hi\n", mode=0o755)
        add("etc", type=tarfile.DIRTYPE, mode=0o755)
        add("etc/motd", b"welcome <&> \xe2\x98\x83\n", mode=0o644, uid=1000, gid=1000)
        add("etc/empty", mode=0o600)
        add("etc/link", type=tarfile.SYMTYPE, linkname="motd")
        add("etc/hard", type=tarfile.LNKTYPE, linkname="etc/motd")
    return buf.getvalue()


def _members(archive: bytes) -> dict[str, tuple[str, bytes]]:
    out: dict[str, tuple[str, bytes]] = {}
    with tarfile.open(fileobj=io.BytesIO(archive)) as tf:
        for m in tf.getmembers():
            f = tf.extractfile(m) if m.isreg() else None
            kind = "dir" if m.isdir() else "link->" + m.linkname if m.issym() else "file"
            out[m.name] = (kind, f.read() if f else b"")
    for name, (kind, _) in list(out.items()):  # a shared layer.tar: compare the bytes it links to
        if kind.startswith("link->"):
            target = posixpath.normpath(posixpath.join(posixpath.dirname(name), kind[6:]))
            out[name] = (kind, out.get(target, ("", b""))[1])
    return out


def _api(host: str, path: str) -> Any:
    sock = host.removeprefix("unix://")
    out = subprocess.run(["curl", "-s", "--unix-socket", sock, f"http://x/v1.41{path}"], check=True,
                         capture_output=True).stdout
    return json.loads(out)


def _compare_api(host: str, svc: Any) -> bool:
    """inspect, history and list of the loaded images against dockerd's answers.

    dockerd also has the build's intermediate image, which `docker save` does not
    carry: its ID shows as Parent / history Id there and as "" / <missing> here.
    Sizes are reported separately (they come from the layer store's accounting)."""
    ok = True
    local = set(svc.store.ids())

    def state(v: Any) -> Any:
        return v if (not isinstance(v, str) or not v.startswith("sha256:") or v in local) else ""

    def hist(items: Any) -> Any:
        out, chain_ok = [], True
        for h in items:  # our walk of local parents stops at the first image we lack
            chain_ok = chain_ok and h["Id"] in local
            out.append({**h, "Id": h["Id"] if chain_ok else "<missing>",
                        "Tags": h["Tags"] if chain_ok else None, "Size": None})
        return out

    sizes = []
    for tag in TAGS:
        theirs = _api(host, f"/images/{tag}/json")
        ours = svc.inspect(tag)
        for key in sorted(set(theirs) | set(ours)):
            if key in ("GraphDriver", "Metadata", "DockerVersion"):
                continue
            t, o = theirs.get(key), ours.get(key)
            if key == "Parent":
                t = state(t)
            if key in ("Size", "VirtualSize"):
                sizes.append((tag, key, t, o))
                continue
            if t != o:
                ok = False
                print(f"inspect {tag} {key}: dockerd {t!r} tugboat {o!r}")
        th, oh = _api(host, f"/images/{tag}/history"), svc.history(tag)
        if hist(th) != hist(oh):
            ok = False
            print(f"history {tag}: dockerd {th}\n  tugboat {oh}")
        sizes += [(tag, "history Size", a["Size"], b["Size"]) for a, b in zip(th, oh, strict=False)]
    flt = urllib.parse.quote(json.dumps({"reference": ["imghelper-interop"]}))
    theirs_list = [{**i, "ParentId": state(i["ParentId"]), "Size": 0, "VirtualSize": 0}
                   for i in _api(host, "/images/json?filters=" + flt)]
    ours_list = [{**i, "Size": 0, "VirtualSize": 0} for i in svc.list(filters={"reference": ["imghelper-interop"]})]
    if sorted(theirs_list, key=str) != sorted(ours_list, key=str):  # equal seconds: dockerd's order is random
        ok = False
        print(f"list: dockerd {theirs_list}\n      tugboat {ours_list}")
    print("inspect/history/list equal to dockerd's (apart from GraphDriver, Metadata, DockerVersion, sizes):", ok)
    for tag, key, t, o in sizes:
        if t != o:
            print(f"  size differs: {tag} {key}: dockerd {t} tugboat {o}")
    return ok


def main() -> int:
    from tugboat.engine.images import ImageService
    from tugboat.store.images import ImageStore
    from tugboat.store.layers import LayerStore

    ap = argparse.ArgumentParser()
    ap.add_argument("--docker-host", default="unix:///var/run/docker.sock")
    ap.add_argument("--extra", action="append", default=[],
                    help="also round-trip this existing image of the daemon (read only)")
    args = ap.parse_args()
    host = args.docker_host
    work = Path(tempfile.mkdtemp(prefix="tugboat-interop-"))
    ok = True
    try:
        base_id = _docker(host, "import", "-c", 'CMD ["/bin/tool"]', "-c", "LABEL a=b", "-", TAGS[0],
                          stdin=_rootfs_tar()).decode().strip()
        ctx = work / "ctx"
        ctx.mkdir()
        (ctx / "added.txt").write_bytes(b"added & more\n" * 100)
        (ctx / "Dockerfile").write_text(f"FROM {TAGS[0]}\nCOPY added.txt /srv/added.txt\nENV X=1\n")
        _docker(host, "build", "-q", "-t", TAGS[1], str(ctx))
        theirs = _docker(host, "save", *TAGS)
        svc = ImageService(ImageStore(work / "root" / "image"), LayerStore(work / "root", driver="vfs"))
        for msg in svc.load(io.BytesIO(theirs), quiet=True):
            print("load:", msg.get("stream", msg).strip() if isinstance(msg.get("stream"), str) else msg)
        print("ids equal:", svc.resolve(TAGS[0]).id == base_id)
        ok &= svc.resolve(TAGS[0]).id == base_id
        ok &= _compare_api(host, svc)
        ours = b"".join(svc.save(list(TAGS)))
        a, b = _members(theirs), _members(ours)
        if sorted(a) != sorted(b):
            ok = False
            print("member names differ:\n  dockerd only:", sorted(set(a) - set(b)),
                  "\n  tugboat only:", sorted(set(b) - set(a)))
        for name in sorted(set(a) & set(b)):
            if name == "manifest.json":
                same = sorted(json.loads(a[name][1]), key=str) == sorted(json.loads(b[name][1]), key=str)
            else:
                same = a[name] == b[name]
            if not same:
                # a shared layer.tar is a file in one archive and a symlink in the other,
                # depending on which image dockerd's map iteration wrote first
                if name.endswith("layer.tar") and a[name][1] == b[name][1]:
                    print(f"  {name}: identical bytes; {a[name][0]} vs {b[name][0]} (shared layer, "
                          "which copy is the file depends on dockerd's map order)")
                    continue
                ok = False
                print(f"DIFFERENT: {name}\n  dockerd: {a[name][1][:600]!r}\n  tugboat: {b[name][1][:600]!r}")
            elif name.endswith("layer.tar"):
                print(f"  {name}: identical ({a[name][0]}, {len(a[name][1])} bytes)")
        for ref in args.extra:  # real-world layers: save -> load -> save, byte for byte
            orig = _docker(host, "save", ref)
            extra = ImageService(ImageStore(work / ref.replace("/", "_") / "image"),
                                 LayerStore(work / ref.replace("/", "_"), driver="vfs"))
            list(extra.load(io.BytesIO(orig), quiet=True))
            x, y = _members(orig), _members(b"".join(extra.save([ref])))
            same = x == y
            print(f"{ref}: {len(x)} members, archives identical member by member: {same}")
            ok &= same
        # and back: dockerd loads our archive to the same IDs
        top_id = _docker(host, "image", "inspect", "-f", "{{.Id}}", TAGS[1]).decode().strip()
        _docker(host, "rmi", *TAGS)
        out = _docker(host, "load", stdin=ours).decode()
        print("docker load of tugboat's archive:", out.strip().replace("\n", " | "))
        back = _docker(host, "image", "inspect", "-f", "{{.Id}}", TAGS[1]).decode().strip()
        print("round trip through dockerd keeps the ID:", back == top_id)
        ok &= back == top_id
    finally:
        subprocess.run(["docker", "-H", host, "rmi", *TAGS], capture_output=True)
        shutil.rmtree(work, ignore_errors=True)
    print("RESULT:", "OK" if ok else "MISMATCH")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
