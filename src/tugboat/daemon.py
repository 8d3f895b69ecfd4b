"""tugd: the daemon. Flags as dockerd's where they exist."""

import argparse
import logging
import os
import signal
import sys
import threading
from pathlib import Path

from tugboat import config as config_mod
from tugboat.errors import TugboatError

log = logging.getLogger("tugd")


def parse_flags(argv: list[str]) -> tuple[dict, str | None]:
    p = argparse.ArgumentParser(prog="tugd", description="Tugboat daemon: the Docker Engine API on a unix socket")
    p.add_argument("-H", "--host", action="append", dest="hosts",
                   help=f"daemon socket to listen on (default {config_mod.DEFAULT_HOST})")
    p.add_argument("--data-root", help=f"root of persistent state (default {config_mod.DEFAULT_DATA_ROOT})")
    p.add_argument("--exec-root", help=f"root of execution state (default {config_mod.DEFAULT_EXEC_ROOT})")
    p.add_argument("-p", "--pidfile", help="path to use for the daemon PID file")
    p.add_argument("--config-file", help=f"daemon configuration file (default {config_mod.DEFAULT_CONFIG_FILE})")
    p.add_argument("-l", "--log-level", choices=["debug", "info", "warn", "error", "fatal"])
    p.add_argument("-D", "--debug", action="store_true", help="enable debug mode")
    p.add_argument("--cgroup-parent", help="parent cgroup for all containers (default tugboat)")
    p.add_argument("-s", "--storage-driver", choices=["overlay2", "vfs"], help="storage driver to use")
    p.add_argument("--add-runtime-path", dest="runtime", help="OCI runtime binary (default runc)")
    ns = p.parse_args(argv)
    flags = {}
    for attr, key in [("hosts", "hosts"), ("data_root", "data-root"), ("exec_root", "exec-root"),
                      ("pidfile", "pidfile"), ("log_level", "log-level"), ("cgroup_parent", "cgroup-parent"),
                      ("storage_driver", "storage-driver")]:
        v = getattr(ns, attr)
        if v is not None:
            flags[key] = v
    if ns.debug:
        flags["log-level"] = "debug"
    return flags, ns.config_file


def _write_pidfile(path: Path) -> None:
    if path.exists():
        try:
            pid = int(path.read_text().strip() or "0")
        except ValueError:
            pid = 0
        if pid and pid != os.getpid() and Path(f"/proc/{pid}").exists():
            raise TugboatError(f"pid file found, ensure tugd is not running or delete {path}")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(f"{os.getpid()}")
    os.replace(tmp, path)


def main(argv: list[str] | None = None) -> int:
    flags, config_file = parse_flags(sys.argv[1:] if argv is None else argv)
    try:
        cfg = config_mod.load(flags, config_file)
    except TugboatError as e:
        print(f"tugd: {e.message}", file=sys.stderr)
        return 1
    level = {"warn": "WARNING", "fatal": "CRITICAL"}.get(cfg.log_level, cfg.log_level.upper())
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if os.geteuid() != 0:
        print("tugd: tugd needs to be started with root privileges", file=sys.stderr)
        return 1
    from tugboat.server import APIServer
    from tugboat.wiring import build_engine

    try:
        if cfg.pidfile:
            _write_pidfile(cfg.pidfile)
        engine = build_engine(cfg)
        server = APIServer(engine, cfg.unix_sockets)
        server.start()
    except TugboatError as e:
        log.error("%s", e.message)
        print(f"tugd: {e.message}", file=sys.stderr)
        return 1
    log.info("API listen on %s", ", ".join(cfg.unix_sockets))

    stop = threading.Event()

    def on_signal(signum, _frame):
        log.info("received %s, shutting down (containers keep running)", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGPIPE, signal.SIG_IGN)
    stop.wait()
    server.shutdown()
    engine.containers.shutdown()
    if cfg.pidfile:
        try:
            cfg.pidfile.unlink()
        except FileNotFoundError:
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
