"""`update`: change containers' resources and restart policy (docker's cli/command/container/update.go).

As docker: only the flags given go into the body (an absent field means "unchanged" to the
daemon), each container updated is echoed as given, daemon warnings follow on stdout, and the
errors of all containers are reported together with exit status 1.
"""

from __future__ import annotations

from typing import Any

from tugboat.cli.context import Context
from tugboat.cli.flags import I, S, Spec, parse
from tugboat.client.errors import APIError, DaemonUnreachable


def _flags() -> list[Any]:
    return [
        S("blkio-weight", help="Block IO (relative weight), between 10 and 1000, or 0 to disable (default 0)",
          metavar="uint16"),
        I("cpu-period", help="Limit CPU CFS (Completely Fair Scheduler) period"),
        I("cpu-quota", help="Limit CPU CFS (Completely Fair Scheduler) quota"),
        I("cpu-rt-period", help="Limit the CPU real-time period in microseconds"),
        I("cpu-rt-runtime", help="Limit the CPU real-time runtime in microseconds"),
        I("cpu-shares", "c", "CPU shares (relative weight)"),
        S("cpus", help="Number of CPUs", metavar="decimal"),
        S("cpuset-cpus", help="CPUs in which to allow execution (0-3, 0,1)"),
        S("cpuset-mems", help="MEMs in which to allow execution (0-3, 0,1)"),
        S("kernel-memory", help="Kernel memory limit", metavar="bytes"),
        S("memory", "m", "Memory limit", metavar="bytes"),
        S("memory-reservation", help="Memory soft limit", metavar="bytes"),
        S("memory-swap", help="Swap limit equal to memory plus swap: -1 to enable unlimited swap",
          metavar="bytes"),
        I("pids-limit", help="Tune container pids limit (set -1 for unlimited)"),
        S("restart", help="Restart policy to apply when a container exits"),
    ]


def _body(opts: dict[str, Any]) -> dict[str, Any]:
    from tugboat.cli.commands.run import ram_in_bytes

    body: dict[str, Any] = {}
    for flag, key in (("memory", "Memory"), ("memory_reservation", "MemoryReservation"),
                      ("kernel_memory", "KernelMemory")):
        if opts[flag]:
            body[key] = ram_in_bytes(opts[flag])
    if opts["memory_swap"]:
        body["MemorySwap"] = -1 if opts["memory_swap"] == "-1" else ram_in_bytes(opts["memory_swap"])
    for flag, key in (("cpu_period", "CpuPeriod"), ("cpu_quota", "CpuQuota"), ("cpu_shares", "CpuShares"),
                      ("cpu_rt_period", "CpuRealtimePeriod"), ("cpu_rt_runtime", "CpuRealtimeRuntime")):
        if opts[flag] is not None:
            body[key] = opts[flag]
    if opts["cpus"]:
        try:
            body["NanoCpus"] = int(round(float(opts["cpus"]) * 1e9))
        except ValueError:
            raise ValueError(f'invalid argument "{opts["cpus"]}" for "--cpus" flag: failed to parse '
                             f'{opts["cpus"]} as a rational number') from None
    for flag, key in (("cpuset_cpus", "CpusetCpus"), ("cpuset_mems", "CpusetMems")):
        if opts[flag]:
            body[key] = opts[flag]
    if opts["blkio_weight"]:
        body["BlkioWeight"] = int(opts["blkio_weight"])
    if opts["pids_limit"] is not None:
        body["PidsLimit"] = opts["pids_limit"]
    if opts["restart"]:
        name, _, count = opts["restart"].partition(":")
        body["RestartPolicy"] = {"Name": name, "MaximumRetryCount": int(count) if count.isdigit() else 0}
    return body


def update(ctx: Context, argv: list[str], path: str) -> int:
    spec = Spec(path, f"docker {path} [OPTIONS] CONTAINER [CONTAINER...]",
                "Update configuration of one or more containers", _flags(), 1, -1)
    opts, args = parse(spec, argv)
    try:
        body = _body(opts)
    except ValueError as e:
        ctx.eprint(f"{e}\nSee 'docker {path} --help'.")
        return 125
    if not body:
        ctx.eprint("you must provide one or more flags when using this command")
        return 1
    errors: list[str] = []
    warnings: list[str] = []
    for name in args:
        try:
            r = ctx.client.containers.update(name, body)
        except (APIError, DaemonUnreachable) as e:
            errors.append(f"Error response from daemon: {e.message}" if isinstance(e, APIError) else str(e))
            continue
        warnings += (r or {}).get("Warnings") or []
        ctx.print(name)
    if warnings:  # docker prints them on stdout, after the names
        ctx.print("\n".join(warnings))
    if errors:
        ctx.eprint("\n".join(errors))
        return 1
    return 0
