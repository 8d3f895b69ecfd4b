"""Latency of `run --rm busybox true`: tug against tugd vs. docker against the real Docker Engine.

    .venv/bin/python bench/run_latency.py [-n 20] [--tugd-host unix:///run/tugboat/tugboat.sock]
                                          [--docker-host unix:///var/run/docker.sock] [--docker-cli-on-tugd]

Both engines give the container its default bridge network (a veth pair, an address, NAT rules);
both are also timed with `--network none` ("...(net=none)"), which isolates the cost of the rest.

Each round runs the commands one after the other (interleaved, so that a noisy moment hits both
sides alike), after two untimed warm-up rounds. The time is the client's wall clock from exec to
exit, as a user sees it. Prints median and p90 per side and the ratio tug/docker of the medians, and
writes everything to bench/results/latency-<UTC time>.json.

If tugd does not answer on --tugd-host it is started there (log: /var/log/tugboat.log) and stopped at
the end; likewise `dockerd` if the Docker Engine does not answer. Both get busybox:latest from
scripts/ensure-busybox.sh if they lack it (the same layer on both sides).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from tugboat.tools.ping import ping, wait_for  # noqa: E402

TUG = REPO / ".venv" / "bin" / "tug"
TUGD = REPO / ".venv" / "bin" / "tugd"
DOCKER = os.environ.get("TUGBOAT_DOCKER_CLI") or next(
    (p for p in ("/usr/local/bin/docker", "/usr/bin/docker") if os.path.exists(p)), "/usr/local/bin/docker")
RESULTS = REPO / "bench" / "results"
COMMAND = ["run", "--rm", "busybox", "true"]


def start_daemon(argv: list[str], host: str, log_path: str, what: str) -> subprocess.Popen:
    Path(log_path).parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True, cwd="/")
    if wait_for(host, 60, proc.pid) != 0:
        proc.kill()
        raise SystemExit(f"bench: {what} did not come up on {host}; see {log_path}")
    print(f"bench: started {what} on {host} (pid {proc.pid})", file=sys.stderr)
    return proc


def stop_daemon(proc: subprocess.Popen | None) -> None:
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def ensure_busybox(host: str, cli: str) -> None:
    env = {**os.environ, "CLI": cli}
    r = subprocess.run([str(REPO / "scripts" / "ensure-busybox.sh"), host], env=env, capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(f"bench: could not import busybox into {host}:\n{r.stdout}{r.stderr}")


def timed(cli: str, host: str, extra: tuple[str, ...] = ()) -> float:
    env = {**os.environ, "DOCKER_HOST": host, "TUG_HOST": host}
    argv = [cli, COMMAND[0], *extra, *COMMAND[1:]]
    t0 = time.perf_counter()
    r = subprocess.run(argv, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True)
    elapsed = time.perf_counter() - t0
    if r.returncode != 0:
        raise SystemExit(f"bench: {' '.join(argv)} on {host} exited {r.returncode}: {r.stderr.strip()}")
    return elapsed


def percentile(xs: list[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100)."""
    s = sorted(xs)
    k = max(0, min(len(s) - 1, int(round(p / 100 * len(s) + 0.5)) - 1))
    return s[k]


def summary(xs: list[float]) -> dict:
    return {
        "n": len(xs),
        "median_s": round(statistics.median(xs), 4),
        "p90_s": round(percentile(xs, 90), 4),
        "mean_s": round(statistics.fmean(xs), 4),
        "min_s": round(min(xs), 4),
        "max_s": round(max(xs), 4),
        "samples_s": [round(x, 4) for x in xs],
    }


def version_of(cli: str, host: str) -> str:
    env = {**os.environ, "DOCKER_HOST": host, "TUG_HOST": host}
    r = subprocess.run([cli, "version", "--format", "{{.Server.Version}}"], env=env, capture_output=True, text=True)
    return r.stdout.strip() if r.returncode == 0 else "?"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="run_latency", description=__doc__.split("\n\n")[0] if __doc__ else None)
    p.add_argument("-n", "--runs", type=int, default=20, help="timed rounds (default 20)")
    p.add_argument("--warmup", type=int, default=2, help="untimed rounds first (default 2)")
    p.add_argument("--tugd-host", default=os.environ.get("TUG_HOST", "unix:///run/tugboat/tugboat.sock"))
    p.add_argument("--docker-host", default="unix:///var/run/docker.sock")
    p.add_argument("--docker-cli-on-tugd", action="store_true",
                   help="also time the real docker CLI against tugd")
    p.add_argument("--no-docker", action="store_true", help="time tugd only")
    p.add_argument("-o", "--output", help="result file (default bench/results/latency-<time>.json)")
    ns = p.parse_args(argv)
    if os.geteuid() != 0:
        raise SystemExit("bench: run as root (tugd and dockerd need it)")

    started: list[subprocess.Popen] = []
    try:
        if not ping(ns.tugd_host):
            started.append(start_daemon([str(TUGD), "-H", ns.tugd_host], ns.tugd_host,
                                        "/var/log/tugboat.log", "tugd"))
        ensure_busybox(ns.tugd_host, str(TUG))
        sides: dict[str, tuple[str, str, tuple[str, ...]]] = {
            "tug->tugd": (str(TUG), ns.tugd_host, ()),
            "tug->tugd(net=none)": (str(TUG), ns.tugd_host, ("--network", "none"))}
        if not ns.no_docker:
            if not ping(ns.docker_host):
                dockerd = shutil.which("dockerd")
                if dockerd is None:
                    raise SystemExit("bench: dockerd not found (install docker.io, or use --no-docker)")
                started.append(start_daemon([dockerd], ns.docker_host, "/var/log/dockerd-bench.log", "dockerd"))
            ensure_busybox(ns.docker_host, DOCKER)
            sides["docker->dockerd"] = (DOCKER, ns.docker_host, ())
            sides["docker->dockerd(net=none)"] = (DOCKER, ns.docker_host, ("--network", "none"))
        if ns.docker_cli_on_tugd:
            sides["docker->tugd"] = (DOCKER, ns.tugd_host, ())

        for _ in range(ns.warmup):
            for cli, host, extra in sides.values():
                timed(cli, host, extra)
        samples: dict[str, list[float]] = {k: [] for k in sides}
        tty = sys.stderr.isatty()
        for i in range(ns.runs):
            for key, (cli, host, extra) in sides.items():
                samples[key].append(timed(cli, host, extra))
            if tty:
                print(f"\rbench: round {i + 1}/{ns.runs}", end="", file=sys.stderr, flush=True)
        if tty:
            print(file=sys.stderr)

        result: dict = {
            "benchmark": "run --rm busybox true",
            "time_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "machine": {"cpus": os.cpu_count(), "kernel": platform.release(), "python": platform.python_version()},
            "versions": {k: version_of(cli, host) for k, (cli, host, _extra) in sides.items()},
            "commands": {k: " ".join([os.path.basename(cli), COMMAND[0], *extra, *COMMAND[1:]])
                         for k, (cli, _host, extra) in sides.items()},
            "runs": ns.runs,
            "warmup": ns.warmup,
            "results": {k: summary(v) for k, v in samples.items()},
        }
        if "docker->dockerd" in samples:
            tug_median = statistics.median(samples["tug->tugd"])
            result["ratio_median_tug_over_docker"] = round(tug_median / statistics.median(samples["docker->dockerd"]), 2)
            result["ratio_median_tug_over_docker_net_none"] = round(
                statistics.median(samples["tug->tugd(net=none)"])
                / statistics.median(samples["docker->dockerd(net=none)"]), 2)
        out = Path(ns.output) if ns.output else RESULTS / f"latency-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}.json"
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(result, indent=2) + "\n")

        print(f"{'side':<28}{'median':>10}{'p90':>10}{'min':>10}{'max':>10}")
        for key, s in result["results"].items():
            print(f"{key:<28}{s['median_s'] * 1000:>8.0f}ms{s['p90_s'] * 1000:>8.0f}ms"
                  f"{s['min_s'] * 1000:>8.0f}ms{s['max_s'] * 1000:>8.0f}ms")
        if "ratio_median_tug_over_docker" in result:
            print(f"tug/docker (median): {result['ratio_median_tug_over_docker']}x; "
                  f"both with --network none: {result['ratio_median_tug_over_docker_net_none']}x")
        print(f"written to {out}")
    finally:
        for proc in reversed(started):
            stop_daemon(proc)
    return 0


if __name__ == "__main__":
    sys.exit(main())
