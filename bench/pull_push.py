"""Push and pull of a multi-layer image through a local registry: tugd vs. the real Docker Engine.

    .venv/bin/python bench/pull_push.py [-n 5] [--layers 4] [--layer-mb 10]
                                        [--tugd-host unix:///run/tugboat/tugboat.sock]
                                        [--docker-host unix:///var/run/docker.sock]

The image: ``--layers`` layers of ``--layer-mb`` MB of incompressible, deterministic data each (one
file per layer, from a seeded PRNG), written as a docker-archive and loaded into both engines with
``tug load`` and ``docker load`` (the same config, so the same image ID on both sides).

Each round starts a fresh docker-registry (Debian's /usr/bin/docker-registry) on 127.0.0.1:<free port>
with empty storage (plain HTTP: both engines treat 127.0.0.0/8 as insecure); a new address each round
means neither engine knows blobs there, so no layer is skipped or cross-mounted and every blob is really
uploaded.  Then, interleaved (the order alternates between rounds):

    push  tug push <reg>/bench/tug:1        vs  docker push <reg>/bench/docker:1
    pull  (after rmi -f of the image in both engines, so no layer is local)
          tug pull <reg>/bench/tug:1        vs  docker pull <reg>/bench/docker:1

The time is the client's wall clock from exec to exit.  Prints medians and the ratios tug/docker and
writes everything to bench/results/pullpush-<UTC time>.json.  At the end the registries and their
storage, the images in both engines and the generated archive are removed.  Both engines must answer
(start tugd with ./scripts/demo.sh, the Docker Engine with `dockerd`).
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import platform
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from tugboat.tools.ping import ping  # noqa: E402

TUG = REPO / ".venv" / "bin" / "tug"
DOCKER = os.environ.get("TUGBOAT_DOCKER_CLI") or next(
    (p for p in ("/usr/local/bin/docker", "/usr/bin/docker") if os.path.exists(p)), "/usr/local/bin/docker")
REGISTRY_BIN = "/usr/bin/docker-registry"
RESULTS = REPO / "bench" / "results"


def make_archive(path: Path, tag: str, layers: int, layer_mb: int, seed: int) -> None:
    """A docker-archive (docker save's format): one file of random bytes per layer."""
    rng = random.Random(seed)
    diff_ids: list[str] = []
    with tarfile.open(path, "w") as out:
        for i in range(layers):
            data = rng.randbytes(layer_mb * 1024 * 1024)
            buf = io.BytesIO()
            with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as lt:
                ti = tarfile.TarInfo(f"data/layer{i}.bin")
                ti.size, ti.mtime, ti.mode = len(data), 0, 0o644
                lt.addfile(ti, io.BytesIO(data))
            layer = buf.getvalue()
            diff = hashlib.sha256(layer).hexdigest()
            diff_ids.append(f"sha256:{diff}")
            ti = tarfile.TarInfo(f"{diff}/layer.tar")
            ti.size = len(layer)
            out.addfile(ti, io.BytesIO(layer))
        config = json.dumps({
            "architecture": "amd64", "os": "linux", "created": "2026-01-01T00:00:00Z",
            "config": {"Cmd": ["/bin/sh"]},
            "rootfs": {"type": "layers", "diff_ids": diff_ids},
            "history": [{"created": "2026-01-01T00:00:00Z", "created_by": f"bench layer {i}"}
                        for i in range(layers)],
        }, separators=(",", ":")).encode()
        config_name = hashlib.sha256(config).hexdigest() + ".json"
        manifest = json.dumps([{"Config": config_name, "RepoTags": [tag],
                                "Layers": [f"{d.split(':', 1)[1]}/layer.tar" for d in diff_ids]}]).encode()
        for name, blob in ((config_name, config), ("manifest.json", manifest)):
            ti = tarfile.TarInfo(name)
            ti.size = len(blob)
            out.addfile(ti, io.BytesIO(blob))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LocalRegistry:
    """docker-registry on 127.0.0.1:<free port>, storage in a fresh directory under ``base``."""

    def __init__(self, base: Path) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="reg-", dir=base))
        port = free_port()
        self.addr = f"127.0.0.1:{port}"
        cfg = self.dir / "config.yml"
        cfg.write_text(f"version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n"
                       f"    rootdirectory: {self.dir / 'storage'}\nhttp:\n  addr: {self.addr}\n")
        self.log = open(self.dir / "registry.log", "wb")
        self.proc = subprocess.Popen([REGISTRY_BIN, "serve", str(cfg)], stdout=self.log,
                                     stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + 20
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    return
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise SystemExit(f"bench: docker-registry did not start on {self.addr}") from None
                time.sleep(0.05)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)


class Side:
    """One engine and its client: ``run`` checks, ``timed`` returns the wall-clock seconds."""

    def __init__(self, label: str, binary: str, host: str) -> None:
        self.label = label
        self.binary = binary
        self.env = {k: v for k, v in os.environ.items() if k not in ("DOCKER_CONTEXT", "DOCKER_TLS_VERIFY")}
        self.env.update(DOCKER_HOST=host, TUG_HOST=host)

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        p = subprocess.run([self.binary, *args], env=self.env, capture_output=True, text=True,
                           stdin=subprocess.DEVNULL, timeout=900)
        if check and p.returncode != 0:
            raise SystemExit(f"bench: {self.label}: {' '.join(args)} exited {p.returncode}: {p.stderr.strip()}")
        return p

    def timed(self, *args: str, expect: tuple[str, int]) -> float:
        """Seconds; ``expect``: (a progress line, how often it must appear), proof that every
        layer really went over the wire (not "Already exists" or "Mounted from")."""
        t0 = time.perf_counter()
        p = self.run(*args)
        elapsed = time.perf_counter() - t0
        if p.stdout.count(expect[0]) != expect[1]:
            raise SystemExit(f"bench: {self.label}: {' '.join(args)}: expected {expect[1]} x {expect[0]!r}:\n"
                             + p.stdout)
        return elapsed

    def image_id(self, ref: str) -> str | None:
        p = self.run("image", "inspect", "--format", "{{.Id}}", ref, check=False)
        return p.stdout.strip() if p.returncode == 0 else None


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-n", type=int, default=5, help="rounds (default 5)")
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--layer-mb", type=int, default=10)
    ap.add_argument("--tugd-host", default="unix:///run/tugboat/tugboat.sock")
    ap.add_argument("--docker-host", default="unix:///var/run/docker.sock")
    args = ap.parse_args()
    for host, what in ((args.tugd_host, "tugd"), (args.docker_host, "the Docker Engine")):
        if not ping(host):
            raise SystemExit(f"bench: {what} does not answer on {host}")
    if not os.path.exists(REGISTRY_BIN):
        raise SystemExit(f"bench: {REGISTRY_BIN} is missing (apt-get install docker-registry)")
    tug = Side("tug->tugd", str(TUG), args.tugd_host)
    docker = Side("docker->dockerd", DOCKER, args.docker_host)
    run_id = f"{os.getpid()}{int(time.time()) % 100000}"
    local = f"bench-pullpush:{run_id}"
    work = Path(tempfile.mkdtemp(prefix="tug-bench-pullpush-"))
    sides = (tug, docker)
    times: dict[str, dict[str, list[float]]] = {op: {s.label: [] for s in sides} for op in ("push", "pull")}
    image_id = ""
    reg: LocalRegistry | None = None
    try:
        archive = work / "image.tar"
        make_archive(archive, local, args.layers, args.layer_mb, seed=20261122)
        for s in sides:
            s.run("load", "-i", str(archive))
        ids = {s.label: s.image_id(local) for s in sides}
        if len(set(ids.values())) != 1 or None in ids.values():
            raise SystemExit(f"bench: the loaded images differ: {ids}")
        image_id = str(ids[tug.label])
        archive.unlink()
        print(f"bench: image {image_id[:19]} ({args.layers} x {args.layer_mb} MB), {args.n} rounds",
              file=sys.stderr)
        for rnd in range(args.n):
            reg = LocalRegistry(work)
            refs = {s.label: f"{reg.addr}/bench{run_id}/{'tug' if s is tug else 'docker'}:1" for s in sides}
            order = sides if rnd % 2 == 0 else sides[::-1]
            for s in sides:
                s.run("tag", local, refs[s.label])
            for s in order:
                times["push"][s.label].append(s.timed("push", refs[s.label], expect=(": Pushed", args.layers)))
            for s in sides:       # nothing of the image left locally
                s.run("rmi", "-f", image_id)
                if s.image_id(image_id) is not None:
                    raise SystemExit(f"bench: {s.label}: the image is still there after rmi -f")
            for s in order:
                times["pull"][s.label].append(s.timed("pull", refs[s.label], expect=(": Pull complete", args.layers)))
            for s in sides:
                if s.image_id(refs[s.label]) != image_id:
                    raise SystemExit(f"bench: {s.label}: the pulled image is not {image_id}")
                s.run("tag", refs[s.label], local)
                s.run("rmi", refs[s.label])
            reg.stop()
            reg = None
            print(f"bench: round {rnd + 1}: " + ", ".join(
                f"{op} {s.label} {times[op][s.label][-1]:.2f}s" for op in ("push", "pull") for s in sides),
                file=sys.stderr)
    finally:
        if reg is not None:
            reg.stop()
        for s in sides:
            if image_id:
                s.run("rmi", "-f", image_id, check=False)
            else:
                s.run("rmi", "-f", local, check=False)
        shutil.rmtree(work, ignore_errors=True)

    result: dict[str, object] = {
        "benchmark": "pull_push", "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "rounds": args.n, "layers": args.layers, "layer_mb": args.layer_mb,
        "image_mb": args.layers * args.layer_mb, "image_id": image_id,
        "host": platform.node(), "kernel": platform.release(),
        "tugd_host": args.tugd_host, "docker_host": args.docker_host,
        "docker_server": docker.run("version", "--format", "{{.Server.Version}}", check=False).stdout.strip(),
        "registry": subprocess.run([REGISTRY_BIN, "--version"], capture_output=True, text=True).stdout.strip(),
        "seconds": times, "median": {}, "ratio_tug_over_docker": {},
    }
    medians: dict[str, dict[str, float]] = {}
    ratios: dict[str, float] = {}
    for op in ("push", "pull"):
        medians[op] = {label: statistics.median(v) for label, v in times[op].items()}
        ratios[op] = medians[op][tug.label] / medians[op][docker.label]
        print(f"{op}: " + "  ".join(f"{label} median {m:.3f}s" for label, m in medians[op].items())
              + f"  ratio tug/docker {ratios[op]:.2f}")
    result["median"], result["ratio_tug_over_docker"] = medians, ratios
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"pullpush-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"results: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
