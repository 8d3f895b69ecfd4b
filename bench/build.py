"""Cold and cached image builds: tug against tugd vs. the docker CLI against the real Docker Engine's
classic builder (DOCKER_BUILDKIT=0), the same Dockerfiles and contexts, in one run.

    .venv/bin/python bench/build.py [-n 5] [--debian] [--docker-cli-on-tugd] [--only NAME ...]
                                    [--network MODE] [--debian-network MODE]
                                    [--tugd-host unix://...] [--docker-host unix:///var/run/docker.sock]

The builds (each in a fresh temporary context):
  copy-many   FROM busybox; COPY of a context of 2000 small files in 40 directories; RUN steps
              over it; ENV/WORKDIR/LABEL/CMD
  multistage  a builder stage that RUNs and a final stage that COPY --from's its output
  debian-apt  (--debian) FROM debian:bookworm; RUN apt-get update && apt-get install jq
              (the network of both engines; slow, so opt-in)

Each round and side: a cold build (``--no-cache``: every step runs), a cached rebuild of the same
context (nothing changed: every step a cache hit), a second one ("again"), then the images are
removed.  Sides are interleaved within a round after one untimed warm-up round; the
time is the client's wall clock (context upload included), as a user sees it.  Prints the medians
and the ratios tug/docker and writes everything to bench/results/build-<UTC time>.json.

``--network none`` runs the busybox builds' RUN steps without a network on both sides (Docker then
skips its per-container bridge and veth set-up); ``--debian-network host`` gives the apt-get step
the host's network on both sides.

As bench/run_latency.py: tugd (or dockerd) is started if it does not answer and stopped at the end;
busybox:latest comes from scripts/ensure-busybox.sh and debian:bookworm from scripts/ensure-debian.sh
(the same debootstrap tarball on both sides), so both engines start from the same layers.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))
sys.path.insert(0, str(REPO / "src"))

from run_latency import DOCKER, RESULTS, TUG, TUGD, start_daemon, stop_daemon, summary  # noqa: E402

from tugboat.tools.ping import ping  # noqa: E402

TAG = "tugboat-bench/build-{name}:latest"
# on every image the builds make (each stage starts with it, with a "stage=" of its own so that no two
# stages share a cached step): all are found and removed after each round, other stages' included
LABEL = "tugboat-bench=build"


def copy_many(ctx: Path) -> None:
    for d in range(40):
        sub = ctx / "src" / f"pkg{d:02d}"
        sub.mkdir(parents=True)
        for f in range(50):
            (sub / f"mod{f:02d}.txt").write_text(f"package {d} module {f}\n" * 4)
    (ctx / ".dockerignore").write_text("*.log\n")
    (ctx / "build.log").write_text("ignored\n")
    (ctx / "Dockerfile").write_text(
        "FROM busybox\n"
        f"LABEL {LABEL}\n"
        "ENV APP=/app MODE=bench\n"
        "WORKDIR /app\n"
        "COPY src/ ./src/\n"
        "RUN find src -type f | wc -l > /count && cat src/pkg00/mod00.txt > first.txt\n"
        "RUN du -s src > /size\n"
        "LABEL org.example.bench=copy-many\n"
        "CMD [\"cat\", \"/count\"]\n")


def multistage(ctx: Path) -> None:
    (ctx / "gen.sh").write_text("#!/bin/sh\nfor i in $(seq 1 200); do echo $i > /out/f$i; done\n")
    (ctx / "Dockerfile").write_text(
        "FROM busybox AS builder\n"
        f"LABEL {LABEL} stage=builder\n"
        "COPY gen.sh /gen.sh\n"
        "RUN mkdir /out && sh /gen.sh && tar -C /out -cf /artifact.tar .\n"
        "FROM busybox AS unused\n"
        f"LABEL {LABEL} stage=unused\n"
        "RUN echo never needed by the target\n"
        "FROM busybox\n"
        f"LABEL {LABEL} stage=final\n"
        "COPY --from=builder /artifact.tar /opt/\n"
        "RUN tar -C /opt -xf /opt/artifact.tar && rm /opt/artifact.tar\n"
        "USER nobody\n"
        "CMD [\"ls\", \"/opt\"]\n")


def debian_apt(ctx: Path) -> None:
    (ctx / "Dockerfile").write_text(
        "FROM debian:bookworm\n"
        f"LABEL {LABEL}\n"
        "RUN apt-get update && apt-get install -y --no-install-recommends jq && rm -rf /var/lib/apt/lists/*\n"
        "CMD [\"jq\", \"--version\"]\n")


BUILDS: dict[str, Callable[[Path], None]] = {"copy-many": copy_many, "multistage": multistage,
                                             "debian-apt": debian_apt}


def env_for(host: str) -> dict[str, str]:
    return {**os.environ, "DOCKER_HOST": host, "TUG_HOST": host, "DOCKER_BUILDKIT": "0"}


def build(cli: str, host: str, ctx: Path, tag: str, no_cache: bool, network: str) -> float:
    argv = [cli, "build", "-q", "--force-rm", "-t", tag, *(["--no-cache"] if no_cache else []),
            *(["--network", network] if network else []), str(ctx)]
    t0 = time.perf_counter()
    r = subprocess.run(argv, env=env_for(host), stdin=subprocess.DEVNULL, capture_output=True, text=True)
    elapsed = time.perf_counter() - t0
    if r.returncode != 0:
        raise SystemExit(f"bench: {' '.join(argv)} on {host} exited {r.returncode}:\n{r.stdout}{r.stderr}")
    return elapsed


def remove_image(cli: str, host: str, tag: str) -> None:
    """The built image and every other image of the benchmark's builds."""
    subprocess.run([cli, "rmi", "-f", tag], env=env_for(host), capture_output=True)
    for _ in range(3):   # parents refuse while their children are listed after them: again
        r = subprocess.run([cli, "images", "-a", "-q", "--no-trunc", "--filter", f"label={LABEL}"],
                           env=env_for(host), capture_output=True, text=True)
        ids = list(dict.fromkeys(r.stdout.split()))
        if not ids:
            return
        subprocess.run([cli, "rmi", "-f", *ids], env=env_for(host), capture_output=True)


def ensure_image(script: str, host: str, cli: str) -> None:
    r = subprocess.run([str(REPO / "scripts" / script), host], env={**os.environ, "CLI": cli},
                       capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(f"bench: {script} {host} failed:\n{r.stdout}{r.stderr}")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="build", description=__doc__.split("\n\n")[0] if __doc__ else None)
    p.add_argument("-n", "--runs", type=int, default=5, help="timed rounds (default 5)")
    p.add_argument("--tugd-host", default=os.environ.get("TUG_HOST", "unix:///run/tugboat/tugboat.sock"))
    p.add_argument("--docker-host", default="unix:///var/run/docker.sock")
    p.add_argument("--docker-cli-on-tugd", action="store_true", help="also time the docker CLI against tugd")
    p.add_argument("--debian", action="store_true", help="also the debian-apt build (needs the network)")
    p.add_argument("--network", default="",
                   help="--network of the busybox builds' RUN steps on both sides (default: the engines' "
                        "default bridge; 'none' compares the builders without the per-container veth setup)")
    p.add_argument("--debian-network", default="",
                   help="--network of the debian-apt build on both sides (default: the engines' default bridge; "
                        "'host' skips the bridge and NAT on both)")
    p.add_argument("--only", nargs="+", choices=sorted(BUILDS), help="just these builds")
    p.add_argument("-o", "--output", help="result file (default bench/results/build-<time>.json)")
    ns = p.parse_args(argv)
    if os.geteuid() != 0:
        raise SystemExit("bench: run as root (tugd and dockerd need it)")
    names = ns.only or [n for n in BUILDS if n != "debian-apt" or ns.debian]

    started: list[subprocess.Popen] = []
    work = Path(tempfile.mkdtemp(prefix="tug-bench-build-"))
    sides: dict[str, tuple[str, str]] = {"tug->tugd": (str(TUG), ns.tugd_host),
                                         "docker->dockerd": (DOCKER, ns.docker_host)}
    if ns.docker_cli_on_tugd:
        sides["docker->tugd"] = (DOCKER, ns.tugd_host)
    try:
        if not ping(ns.tugd_host):
            started.append(start_daemon([str(TUGD), "-H", ns.tugd_host], ns.tugd_host,
                                        "/var/log/tugboat.log", "tugd"))
        if not ping(ns.docker_host):
            dockerd = shutil.which("dockerd")
            if dockerd is None:
                raise SystemExit("bench: dockerd not found (install docker.io)")
            started.append(start_daemon([dockerd], ns.docker_host, "/var/log/dockerd-bench.log", "dockerd"))
        for cli, host in {(str(TUG), ns.tugd_host), (DOCKER, ns.docker_host)}:
            ensure_image("ensure-busybox.sh", host, cli)
            if "debian-apt" in names:
                ensure_image("ensure-debian.sh", host, cli)
        contexts = {}
        for name in names:
            ctx = work / name
            ctx.mkdir()
            BUILDS[name](ctx)
            contexts[name] = ctx

        samples: dict[str, dict[str, dict[str, list[float]]]] = {
            n: {s: {"cold": [], "cached": [], "again": []} for s in sides} for n in names}
        for i in range(ns.runs + 1):   # round 0: warm-up, not recorded
            for name in names:
                tag = TAG.format(name=name)
                net = ns.debian_network if name == "debian-apt" else ns.network
                for side, (cli, host) in sides.items():
                    cold = build(cli, host, contexts[name], tag, True, net)
                    cached = build(cli, host, contexts[name], tag, False, net)
                    again = build(cli, host, contexts[name], tag, False, net)
                    remove_image(cli, host, tag)
                    if i:
                        samples[name][side]["cold"].append(cold)
                        samples[name][side]["cached"].append(cached)
                        samples[name][side]["again"].append(again)
            print(f"bench: round {i}/{ns.runs}{' (warm-up)' if i == 0 else ''}", file=sys.stderr, flush=True)

        results: dict = {}
        for name in names:
            res: dict = {side: {k: summary(v) for k, v in kinds.items()} for side, kinds in samples[name].items()}
            for kind in ("cold", "cached", "again"):
                t = statistics.median(samples[name]["tug->tugd"][kind])
                d = statistics.median(samples[name]["docker->dockerd"][kind])
                res[f"ratio_median_{kind}_tug_over_docker"] = round(t / d, 2)
            results[name] = res
        result = {
            "benchmark": "image builds, cold (--no-cache) and cached (no change), classic builder",
            "time_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "machine": {"cpus": os.cpu_count(), "kernel": platform.release(), "python": platform.python_version()},
            "sides": {k: f"{os.path.basename(cli)} build on {host}" for k, (cli, host) in sides.items()},
            "runs": ns.runs,
            "network": ns.network or "default",
            "debian_network": ns.debian_network or "default",
            "dockerfiles": {n: (contexts[n] / "Dockerfile").read_text() for n in names},
            "results": results,
        }
        out = Path(ns.output) if ns.output else RESULTS / f"build-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}.json"
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(result, indent=2) + "\n")

        print(f"{'build':<12}{'side':<18}{'cold':>10}{'cached':>10}{'again':>10}")
        for name in names:
            for side in sides:
                r = results[name][side]
                print(f"{name:<12}{side:<18}" + "".join(f"{r[k]['median_s']:>9.2f}s" for k in ("cold", "cached", "again")))
            print(f"{'':<12}{'ratio tug/docker':<18}" + "".join(
                f"{results[name][f'ratio_median_{k}_tug_over_docker']:>9.2f}x" for k in ("cold", "cached", "again")))
        print(f"written to {out}")
    finally:
        for cli, host in sides.values():
            for name in names:
                remove_image(cli, host, TAG.format(name=name))
        for proc in reversed(started):
            stop_daemon(proc)
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
