"""A ``debian:bookworm`` root filesystem made with debootstrap, cached outside the repository.

    python -m tugboat.tools.debian_image [--cache FILE] [--mirror URL] [--suite bookworm] [--rebuild]

prints the path of a gzipped root filesystem tar, building it first when it is absent
(``debootstrap --variant=minbase``, about 25 s; needs root and the Debian package debootstrap).
scripts/ensure-debian.sh imports it into an engine with the official image's ``CMD ["bash"]``
and ``PATH``; the build tests and bench/build.py use it for ``RUN apt-get install`` steps.

The tree is trimmed as the official images are (debuerreotype): no downloaded packages or apt
lists, Docker's apt settings in /etc/apt/apt.conf.d/docker-*, an empty /dev (the engine supplies
one), no resolv.conf or hostname of the machine that built it.  Entries are written sorted and
owned by numbers, so one cached tar gives the same layer to every engine it is imported into.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

DEFAULT_CACHE = Path(os.environ.get("TUGBOAT_DEBIAN_CACHE", "/var/cache/tugboat/debian-bookworm-rootfs.tar.gz"))
DEFAULT_MIRROR = "http://deb.debian.org/debian"
# the official image's config (docker.io/library/debian:bookworm)
IMAGE_CHANGES = ['CMD ["bash"]', "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]

# debuerreotype's "docker" tweaks (debuerreotype-minimizing-config), as in the official image
APT_CONF = {
    "docker-autoremove-suggests": 'Apt::AutoRemove::SuggestsImportant "false";\n',
    "docker-clean": (
        'DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb '
        '/var/cache/apt/*.bin || true"; };\n'
        'APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb '
        '/var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };\n'
        'Dir::Cache::pkgcache "";\nDir::Cache::srcpkgcache "";\n'),
    "docker-gzip-indexes": 'Acquire::GzipIndexes "true";\nAcquire::CompressionTypes::Order:: "gz";\n',
    "docker-no-languages": 'Acquire::Languages "none";\n',
}
# emptied after debootstrap (their contents, not the directories)
EMPTIED = ("dev", "proc", "sys", "tmp", "run", "var/cache/apt/archives", "var/lib/apt/lists",
           "var/log/apt")


def host_mirror(sources: Path = Path("/etc/apt")) -> str:
    """The Debian mirror this machine's apt uses (deb822 ``URIs:`` or one-line ``deb`` entries),
    so debootstrap goes where apt already can; else deb.debian.org."""
    files = sorted(sources.glob("sources.list.d/*.sources")) + [sources / "sources.list"] + \
        sorted(sources.glob("sources.list.d/*.list"))
    for f in files:
        try:
            text = f.read_text(errors="replace")
        except OSError:
            continue
        for m in re.finditer(r"^(?:URIs:\s*|deb\s+(?:\[[^]]*\]\s+)?)(\S+)", text, re.M):
            uri = m.group(1).rstrip("/")
            if uri.endswith("/debian") and "security" not in uri:
                return uri
    return DEFAULT_MIRROR


def _trim(root: Path) -> None:
    for rel in EMPTIED:
        d = root / rel
        if not d.is_dir():
            continue
        for child in d.iterdir():
            if child.is_dir() and not child.is_symlink():
                shutil.rmtree(child)
            else:
                child.unlink()
    (root / "var/lib/apt/lists/partial").mkdir(mode=0o700, exist_ok=True)
    (root / "var/cache/apt/archives/partial").mkdir(mode=0o700, exist_ok=True)
    for rel in ("etc/resolv.conf", "etc/hostname"):
        p = root / rel
        if p.is_symlink() or p.exists():
            p.unlink()
    for f in (root / "var/cache/apt").glob("*.bin"):
        f.unlink()
    conf = root / "etc/apt/apt.conf.d"
    for name, text in APT_CONF.items():
        (conf / name).write_text(text)
        os.chmod(conf / name, 0o644)


def _tar(root: Path, out: Path) -> None:
    """Sorted entries, numeric owners, no names: a reproducible layer from one tree."""
    def clean(ti: tarfile.TarInfo) -> tarfile.TarInfo:
        ti.uname = ti.gname = ""
        return ti

    with tarfile.open(out, "w:gz", format=tarfile.PAX_FORMAT, compresslevel=6) as tf:
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames.sort()
            for name in sorted(dirnames + filenames):
                full = os.path.join(dirpath, name)
                tf.add(full, os.path.relpath(full, root), recursive=False, filter=clean)


def build_rootfs(out: Path, mirror: str, suite: str = "bookworm") -> None:
    """debootstrap into a scratch directory next to ``out``, trim, tar to ``out`` atomically."""
    if shutil.which("debootstrap") is None:
        raise SystemExit("debian_image: debootstrap not found (install the Debian package debootstrap; "
                         "scripts/setup.sh does)")
    out.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="debootstrap-", dir=out.parent))
    try:
        root = work / "rootfs"
        p = subprocess.run(["debootstrap", "--variant=minbase", suite, str(root), mirror],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        if p.returncode != 0:
            raise SystemExit(f"debian_image: debootstrap failed ({p.returncode}):\n{p.stdout[-3000:]}")
        _trim(root)
        tmp = work / "rootfs.tar.gz"
        _tar(root, tmp)
        os.replace(tmp, out)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def ensure_rootfs(cache: Path = DEFAULT_CACHE, mirror: str | None = None, suite: str = "bookworm",
                  rebuild: bool = False) -> Path:
    """The cached tarball, built first if it is missing (or ``rebuild``)."""
    if rebuild or not cache.is_file():
        build_rootfs(cache, mirror or host_mirror(), suite)
    return cache


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="debian_image", description=__doc__.split("\n\n")[0] if __doc__ else None)
    p.add_argument("--cache", type=Path, default=DEFAULT_CACHE,
                   help=f"the tarball (default $TUGBOAT_DEBIAN_CACHE or {DEFAULT_CACHE})")
    p.add_argument("--mirror", help="Debian mirror (default: the one this machine's apt uses)")
    p.add_argument("--suite", default="bookworm")
    p.add_argument("--rebuild", action="store_true", help="run debootstrap even if the tarball exists")
    ns = p.parse_args(argv)
    print(ensure_rootfs(ns.cache, ns.mirror, ns.suite, ns.rebuild))
    return 0


if __name__ == "__main__":
    sys.exit(main())
