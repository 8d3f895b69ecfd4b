"""`docker stats`: GET /containers/{id}/stats rendered as docker 28's CLI does.

The numbers follow the CLI's stats helpers: CPU % from the difference to ``precpu_stats``,
memory without the inactive page cache, network and block I/O summed.  ``--no-stream``
asks every container for one (two-sample) answer in parallel; the streaming view redraws
the table every second from one streaming request per container.
"""

from __future__ import annotations

from tugboat.cli.context import Context
from tugboat.cli.flags import B, S, Spec, parse
from tugboat.client.errors import APIError, DaemonUnreachable

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

STATS_TABLE = ("table {{.ID}}\t{{.Name}}\t{{.CPUPerc}}\t{{.MemUsage}}\t{{.MemPerc}}\t{{.NetIO}}"
               "\t{{.BlockIO}}\t{{.PIDs}}")
STATS_TITLES = {"Container": "CONTAINER", "ID": "CONTAINER ID", "Name": "NAME", "CPUPerc": "CPU %",
                "MemUsage": "MEM USAGE / LIMIT", "MemPerc": "MEM %", "NetIO": "NET I/O",
                "BlockIO": "BLOCK I/O", "PIDs": "PIDS"}


def cpu_percent(s: dict[str, Any]) -> float:
    cpu, pre = s.get("cpu_stats") or {}, s.get("precpu_stats") or {}
    cpu_delta = float((cpu.get("cpu_usage") or {}).get("total_usage") or 0) - float(
        (pre.get("cpu_usage") or {}).get("total_usage") or 0)
    sys_delta = float(cpu.get("system_cpu_usage") or 0) - float(pre.get("system_cpu_usage") or 0)
    online = float(cpu.get("online_cpus") or 0) or float(len((cpu.get("cpu_usage") or {}).get("percpu_usage") or []))
    if sys_delta > 0 and cpu_delta > 0:
        return cpu_delta / sys_delta * online * 100.0
    return 0.0


def mem_usage(mem: dict[str, Any]) -> float:
    """calculateMemUsageUnixNoCache: usage minus inactive file pages (cgroup v1 or v2 key)."""
    usage = float(mem.get("usage") or 0)
    st = mem.get("stats") or {}
    if "total_inactive_file" in st and st["total_inactive_file"] < usage:
        return usage - st["total_inactive_file"]
    if float(st.get("inactive_file") or 0) < usage:
        return usage - float(st.get("inactive_file") or 0)
    return usage


class StatsRow:
    """One container's line, as docker's formatter.statsContext."""

    go_type = "*formatter.statsContext"

    def __init__(self, container: str, s: dict[str, Any], trunc: bool = True) -> None:
        self.container, self.s, self.trunc = container, s, trunc
        mem = s.get("memory_stats") or {}
        self.mem = mem_usage(mem)
        self.limit = float(mem.get("limit") or 0)
        rx = tx = 0.0
        for net in (s.get("networks") or {}).values():
            rx += float(net.get("rx_bytes") or 0)
            tx += float(net.get("tx_bytes") or 0)
        self.rx, self.tx = rx, tx
        read = write = 0.0
        for e in (s.get("blkio_stats") or {}).get("io_service_bytes_recursive") or []:
            op = str(e.get("op") or "").lower()
            if op == "read":
                read += float(e.get("value") or 0)
            elif op == "write":
                write += float(e.get("value") or 0)
        self.read, self.write = read, write

    def Container(self) -> str:
        return self.container

    def Name(self) -> str:
        name = str(self.s.get("name") or "")
        return name[1:] if name.startswith("/") else name or "--"

    def ID(self) -> str:
        cid = str(self.s.get("id") or "")
        return cid[:12] if self.trunc else cid

    def CPUPerc(self) -> str:
        return f"{cpu_percent(self.s):.2f}%"

    def MemUsage(self) -> str:
        from tugboat.cli.humanize import bytes_size
        return f"{bytes_size(self.mem)} / {bytes_size(self.limit)}"

    def MemPerc(self) -> str:
        return f"{self.mem / self.limit * 100.0 if self.limit else 0.0:.2f}%"

    def NetIO(self) -> str:
        from tugboat.cli.humanize import human_size
        return f"{human_size(self.rx)} / {human_size(self.tx)}"

    def BlockIO(self) -> str:
        from tugboat.cli.humanize import human_size
        return f"{human_size(self.read)} / {human_size(self.write)}"

    def PIDs(self) -> str:
        return str(int((self.s.get("pids_stats") or {}).get("current") or 0))

    def to_json(self) -> dict[str, Any]:
        return {k: getattr(self, k)() for k in ("BlockIO", "CPUPerc", "Container", "ID", "MemPerc",
                                                   "MemUsage", "Name", "NetIO", "PIDs")}


def _one_sample(host: str | None, ref: str) -> dict[str, Any]:
    """A client per thread: the pooled transport is not shared between threads."""
    from tugboat.client import Client
    client = Client(host)
    try:
        resp = client.containers.stats(ref, stream=False)
        data: dict[str, Any] = resp.json()
        return data
    finally:
        client.close()


def stats(ctx: Context, argv: list[str], path: str) -> int:
    spec = Spec(path, f"docker {path} [OPTIONS] [CONTAINER...]",
                "Display a live stream of container(s) resource usage statistics", [
                    B("all", "a", "Show all containers (default shows just running)"),
                    S("format", help="Format output using a custom template"),
                    B("no-stream", help="Disable streaming stats and only pull the first result"),
                    B("no-trunc", help="Do not truncate output"),
                ], 0, -1)
    opts, args = parse(spec, argv)
    from tugboat.cli import formatter as fm
    tmpl = fm.resolve_format(opts["format"], STATS_TABLE)
    names = list(args)
    if not names:
        try:
            names = [c["Id"][:12] for c in ctx.client.containers.list(all=opts["all"])]
        except (APIError, DaemonUnreachable) as e:
            ctx.daemon_error(e)
            return 1
    trunc = not opts["no_trunc"]
    if opts["no_stream"]:
        return _no_stream(ctx, names, tmpl, trunc)
    return _stream(ctx, names, tmpl, trunc)


def _no_stream(ctx: Context, names: list[str], tmpl: str, trunc: bool) -> int:
    from concurrent.futures import ThreadPoolExecutor

    from tugboat.cli import formatter as fm
    results: list[Any] = []
    if names:
        with ThreadPoolExecutor(max_workers=min(16, len(names))) as pool:
            futures = [pool.submit(_one_sample, ctx.host, n) for n in names]
            for f in futures:
                try:
                    results.append(f.result())
                except (APIError, DaemonUnreachable) as e:
                    results.append(e)
    errors = [r for r in results if isinstance(r, Exception)]
    if errors:
        for err in errors:
            ctx.daemon_error(err)
        return 1
    rows = [StatsRow(n, s, trunc) for n, s in zip(names, results, strict=True)]
    try:
        fm.render_rows(tmpl, rows, STATS_TITLES, ctx.out)
    except fm.FormatError as e:
        ctx.eprint(str(e))
        return 1
    return 0


def _stream(ctx: Context, names: list[str], tmpl: str, trunc: bool) -> int:
    """Redraw every second from one streaming request per container (threads)."""
    import io
    import threading
    import time

    from tugboat.cli import formatter as fm
    from tugboat.client import Client
    latest: dict[str, dict[str, Any]] = {}
    errors: list[Exception] = []

    def follow(ref: str) -> None:
        client = Client(ctx.host)
        try:
            for sample in client.containers.stats(ref).iter_json():
                latest[ref] = sample
        except (APIError, DaemonUnreachable) as e:
            errors.append(e)
        finally:
            client.close()

    for n in names:
        threading.Thread(target=follow, args=(n,), daemon=True).start()
    while True:
        time.sleep(1.0)
        if errors:
            for err in errors:
                ctx.daemon_error(err)
            return 1
        rows = [StatsRow(n, latest[n], trunc) for n in names if n in latest]
        buf = io.StringIO()
        try:
            fm.render_rows(tmpl, rows, STATS_TITLES, buf)
        except fm.FormatError as e:
            ctx.eprint(str(e))
            return 1
        # like docker 28, terminal or not: cursor home, each line clears its rest, then the screen's
        ctx.out.write("\033[H" + "".join(line + "\033[K\n" for line in buf.getvalue().splitlines()) + "\033[J")
        ctx.out.flush()
