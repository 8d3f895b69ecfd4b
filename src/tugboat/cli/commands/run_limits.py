"""run/create flags for resource limits, devices, sysctls and security options.

What docker's CLI (cli/command/container/opts.go) does with them before the request: sizes
to bytes, --device "host[:container][:perms]" to a DeviceMapping, --sysctl checked against the
namespaced sysctls (the only ones a container may set), and ``--security-opt seccomp=<file>``
replaced by the file's compacted JSON: the daemon gets the profile itself, never a path.
"""

from __future__ import annotations

import json
import os
from typing import Any

from tugboat.cli.flags import I, S, Spec, UsageError

# docker's opts.ValidateSysctl: IPC and network sysctls live in the container's namespaces
SYSCTLS = {"kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem", "kernel.shmall", "kernel.shmmax",
           "kernel.shmmni", "kernel.shm_rmid_forced"}
SYSCTL_PREFIXES = ("net.", "fs.mqueue.")


def flags() -> list[Any]:
    return [
        S("blkio-weight", help="Block IO (relative weight), between 10 and 1000, or 0 to disable (default 0)",
          metavar="uint16"),
        I("cpu-period", help="Limit CPU CFS (Completely Fair Scheduler) period"),
        I("cpu-quota", help="Limit CPU CFS (Completely Fair Scheduler) quota"),
        S("cpuset-cpus", help="CPUs in which to allow execution (0-3, 0,1)"),
        S("cpuset-mems", help="MEMs in which to allow execution (0-3, 0,1)"),
        S("kernel-memory", help="Kernel memory limit", metavar="bytes"),
        S("memory-reservation", help="Memory soft limit", metavar="bytes"),
        I("memory-swappiness", help="Tune container memory swappiness (0 to 100) (default -1)", default=-1),
        I("oom-score-adj", help="Tune host's OOM preferences (-1000 to 1000)"),
    ]


def check_flags(opts: dict[str, Any], spec: Spec) -> None:
    """Flag values docker's CLI rejects while parsing (usage error, status 125)."""
    for item in opts["sysctl"]:
        key = item.split("=", 1)[0]
        if "=" not in item or not (key in SYSCTLS or key.startswith(SYSCTL_PREFIXES)):
            raise UsageError(f'invalid argument "{item}" for "--sysctl" flag: sysctl \'{item}\' is not allowed', spec)


def _device(spec: str) -> dict[str, str]:
    """docker's parseDevice: "src", "src:dst", "src:perms", "src:dst:perms"."""
    parts = spec.split(":")
    if len(parts) > 3 or not parts[0]:
        raise ValueError(f"invalid device specification: {spec}")
    src, dst, perms = parts[0], "", "rwm"
    if len(parts) == 3:
        dst, perms = parts[1], parts[2]
    elif len(parts) == 2:
        if parts[1] and set(parts[1]) <= set("rwm"):
            perms = parts[1]
        else:
            dst = parts[1]
    if not set(perms) <= set("rwm") or not perms:
        raise ValueError(f"bad mode specified: {perms}")
    for path in (src, dst):
        if path and not path.startswith("/"):
            raise ValueError(f"bad format for path: {path}")
    return {"PathOnHost": src, "PathInContainer": dst or src, "CgroupPermissions": perms}


def security_opts(given: list[str]) -> list[str]:
    """docker's parseSecurityOpts: validate and inline seccomp profile files."""
    out: list[str] = []
    for opt in given:
        key, sep, value = opt.partition("=")
        if not sep and opt != "no-new-privileges":
            key, sep, value = opt.partition(":")
            if not sep:
                raise ValueError(f'Invalid --security-opt: "{opt}"')
        if key == "seccomp" and value != "unconfined":
            try:
                with open(value, "rb") as f:
                    raw = f.read()
            except OSError as e:
                raise ValueError(f"opening seccomp profile ({value}) failed: open {value}: "
                                 f"{os.strerror(e.errno or 0).lower()}") from None
            try:
                profile = json.loads(raw)
            except ValueError as e:
                raise ValueError(f"compacting json for seccomp profile ({value}) failed: {e}") from None
            opt = "seccomp=" + json.dumps(profile, separators=(",", ":"))
        out.append(opt)
    return out


def apply(opts: dict[str, Any], host: dict[str, Any], ram_in_bytes: Any) -> None:
    """Fill ``host`` (the create body's HostConfig) from these flags; ValueError in docker's words."""
    for flag, key in (("memory_reservation", "MemoryReservation"), ("kernel_memory", "KernelMemory")):
        if opts[flag]:
            host[key] = ram_in_bytes(opts[flag])
    swappiness = opts["memory_swappiness"]
    if swappiness != -1:
        if not 0 <= swappiness <= 100:
            raise ValueError(f"invalid value: {swappiness}. Valid memory swappiness range is 0-100")
        host["MemorySwappiness"] = swappiness
    for flag, key in (("cpu_period", "CpuPeriod"), ("cpu_quota", "CpuQuota"), ("oom_score_adj", "OomScoreAdj")):
        if opts[flag] is not None:
            host[key] = opts[flag]
    for flag, key in (("cpuset_cpus", "CpusetCpus"), ("cpuset_mems", "CpusetMems")):
        if opts[flag]:
            host[key] = opts[flag]
    if opts["blkio_weight"]:
        try:
            host["BlkioWeight"] = int(opts["blkio_weight"])
        except ValueError:
            raise ValueError(f'invalid argument "{opts["blkio_weight"]}" for "--blkio-weight" flag: '
                             f'strconv.ParseUint: parsing "{opts["blkio_weight"]}": invalid syntax') from None
    host["Devices"] = [_device(d) for d in opts["device"]]
    if opts["userns"] not in (None, "", "host"):
        raise ValueError("--userns: invalid USER mode")
    if opts["security_opt"]:
        host["SecurityOpt"] = security_opts(opts["security_opt"])
