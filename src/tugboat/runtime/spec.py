"""Build the OCI runtime spec (config.json) for a container, the way dockerd does.

Follows moby's oci/defaults.go and daemon/oci_linux.go (20.10), compared field by
field with the config.json the reference dockerd writes: same namespaces, default
capabilities, masked/readonly paths, mounts, device cgroup rules, sysctls and the
seccomp filter (seccomp.py converts Docker's profile format).

Two deliberate differences, both about running where dockerd would fail:
- "all capabilities" (Privileged, CapAdd ALL) means all that the host's bounding
  set holds; asking runc for a capability we lack fails the container start.
- resource knobs the kernel does not offer (swap limit, blkio weight) are dropped,
  as dockerd does with a warning at create time; ``warnings`` lists them.

The builder is pure given ``HostInfo``: tests pass a fixed one and need no root.
"""

from __future__ import annotations

import os
import resource
import stat
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from tugboat.errors import InvalidArgument
from tugboat.runtime import cgroups, seccomp, security_opts
from tugboat.runtime.types import StartRequest
from tugboat.runtime.users import ResolvedUser

# Index = capability number (linux/capability.h).
ALL_CAPABILITIES = [
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL",
    "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER",
    "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE", "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE", "CAP_SYS_RESOURCE", "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE", "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE",
]

DEFAULT_CAPABILITIES = [
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW",
    "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE",
    "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
]

MASKED_PATHS = [
    "/proc/asound", "/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
    "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi", "/sys/firmware",
]
READONLY_PATHS = ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"]

DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
DEFAULT_SHM_SIZE = 64 * 1024 * 1024
DEFAULT_NOFILE = 1048576

# HostConfig.Init: dockerd bind-mounts its docker-init (tini) here and runs it as PID 1.
CONTAINER_INIT_PATH = "/sbin/docker-init"
# Static first: the dynamic tini needs a libc inside the image (busybox has none).
INIT_BINARIES = ("/usr/bin/tini-static", "/usr/bin/tini", "/usr/bin/docker-init")

# dockerd's device cgroup rules for an unprivileged container; runc itself appends
# its allow-list (null, zero, full, tty, (u)random, ptmx, pts, net/tun, mknod).
DEFAULT_DEVICE_RULES: list[dict[str, Any]] = [
    {"allow": False, "access": "rwm"},
    {"allow": True, "type": "c", "major": 1, "minor": 5, "access": "rwm"},
    {"allow": True, "type": "c", "major": 1, "minor": 3, "access": "rwm"},
    {"allow": True, "type": "c", "major": 1, "minor": 9, "access": "rwm"},
    {"allow": True, "type": "c", "major": 1, "minor": 8, "access": "rwm"},
    {"allow": True, "type": "c", "major": 5, "minor": 0, "access": "rwm"},
    {"allow": True, "type": "c", "major": 5, "minor": 1, "access": "rwm"},
    {"allow": False, "type": "c", "major": 10, "minor": 229, "access": "rwm"},
]


@dataclass(frozen=True)
class HostInfo:
    """What the host allows; ``detect_host()`` probes it once per process."""

    bounding_caps: frozenset[str] = frozenset(ALL_CAPABILITIES)
    nofile: int = DEFAULT_NOFILE
    cgroup_v2: bool = False
    swap_limit: bool = True
    blkio_weight: bool = True
    cpu_cfs: bool = True
    pids: bool = True
    cpuset: bool = True
    kernel_memory: bool = True
    cpus: str = ""      # the CPUs and memory nodes the cpuset root offers ("" = not known)
    mems: str = ""


@lru_cache(maxsize=1)
def detect_host() -> HostInfo:
    caps: frozenset[str] = frozenset(ALL_CAPABILITIES)
    eff = 0
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("CapBnd:"):
                bits = int(line.split()[1], 16)
                caps = frozenset(c for i, c in enumerate(ALL_CAPABILITIES) if bits >> i & 1)
            elif line.startswith("CapEff:"):
                eff = int(line.split()[1], 16)
    except (OSError, ValueError):
        pass
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if eff >> ALL_CAPABILITIES.index("CAP_SYS_RESOURCE") & 1:
        try:
            hard = int(Path("/proc/sys/fs/nr_open").read_text())
        except (OSError, ValueError):
            pass
    nofile = DEFAULT_NOFILE if hard == resource.RLIM_INFINITY else min(DEFAULT_NOFILE, hard)
    v2 = cgroups.is_v2()
    if v2:
        swap = cgroups.has_knob("memory", "memory.swap.max")
        blkio = cgroups.has_knob("io", "io.weight") or cgroups.has_knob("io", "io.bfq.weight")
    else:
        swap = cgroups.has_knob("memory", "memory.memsw.limit_in_bytes")
        blkio = cgroups.has_knob("blkio", "blkio.weight") or cgroups.has_knob("blkio", "blkio.bfq.weight")
    return HostInfo(bounding_caps=caps, nofile=nofile, cgroup_v2=v2, swap_limit=swap, blkio_weight=blkio,
                    cpu_cfs=cgroups.has_knob("cpu", "cpu.cfs_quota_us") or v2,
                    pids=cgroups.has_controller("pids"),
                    cpuset=cgroups.has_knob("cpuset", "cpuset.cpus") or v2,
                    kernel_memory=not v2 and cgroups.has_knob("memory", "memory.kmem.limit_in_bytes"),
                    cpus=_cpuset_root("cpus"), mems=_cpuset_root("mems"))


def _cpuset_root(kind: str) -> str:
    root = cgroups.controller_root("cpuset")
    for name in (f"cpuset.effective_{kind}", f"cpuset.{kind}.effective", f"cpuset.{kind}"):
        try:
            return (root / name).read_text().strip() if root else ""
        except OSError:
            continue
    return ""


def parse_cpuset(spec: str) -> set[int] | None:
    """A cpuset list ("0-2,4") as a set; None when malformed (moby's parsers.ParseUintList)."""
    out: set[int] = set()
    for part in spec.split(","):
        lo, sep, hi = part.partition("-")
        if not lo.isdigit() or (sep and not hi.isdigit()):
            return None
        first, last = int(lo), int(hi) if sep else int(lo)
        if last < first:
            return None
        out.update(range(first, last + 1))
    return out


def _check_cpuset(hc: dict[str, Any], host: HostInfo) -> None:
    """dockerd's verifyPlatformContainerResources checks of CpusetCpus/CpusetMems."""
    for key, avail, flag, what in (("CpusetCpus", host.cpus, "cpus", "CPUs"),
                                   ("CpusetMems", host.mems, "mems", "memory nodes")):
        want = str(hc.get(key) or "")
        if not want or not host.cpuset:
            continue
        wanted = parse_cpuset(want)
        if wanted is None:
            raise InvalidArgument(f"Invalid value {want} for cpuset {flag}: invalid format: {want}")
        offered = parse_cpuset(avail) if avail else None
        if offered is not None and not wanted <= offered:
            raise InvalidArgument(f"Requested {what} are not available - requested {want}, available: {avail}")


def _norm_cap(c: str) -> str:
    c = c.strip().upper()
    if c == "ALL":
        return c
    return c if c.startswith("CAP_") else "CAP_" + c


def capabilities(hc: dict[str, Any], host: HostInfo) -> list[str]:
    """moby's oci.TweakCapabilities: Privileged, CapAdd/CapDrop with "ALL"."""
    all_caps = [c for c in ALL_CAPABILITIES if c in host.bounding_caps]
    if hc.get("Privileged"):
        return all_caps
    adds = [_norm_cap(c) for c in hc.get("CapAdd") or []]
    drops = [_norm_cap(c) for c in hc.get("CapDrop") or []]
    for key, caps in (("CapAdd", adds), ("CapDrop", drops)):
        for c in caps:
            if c != "ALL" and c not in ALL_CAPABILITIES:
                raise InvalidArgument(f'invalid {key}: unknown capability: "{c}"')
    if "ALL" in adds:
        caps = [c for c in all_caps if c not in drops]
    elif "ALL" in drops:
        caps = list(adds)
    else:
        caps = [c for c in DEFAULT_CAPABILITIES if c not in drops] + adds
    out: list[str] = []
    for c in caps:
        if c not in out:
            out.append(c)
    return out


def host_devices(root: str = "/dev") -> list[dict[str, Any]]:
    """Every device node under /dev, for privileged containers (runc's HostDevices)."""
    skip = {"pts", "shm", "fd", "mqueue", ".lxc", ".lxd-mounts", ".udev"}
    out: list[dict[str, Any]] = []

    def walk(d: str) -> None:
        try:
            with os.scandir(d) as it:
                entries = list(it)
        except OSError:
            return
        for e in entries:
            if e.is_dir(follow_symlinks=False):
                if e.name not in skip:
                    walk(e.path)
                continue
            if e.path == "/dev/console":
                continue
            try:
                st = e.stat(follow_symlinks=False)
            except OSError:
                continue
            if stat.S_ISCHR(st.st_mode):
                kind = "c"
            elif stat.S_ISBLK(st.st_mode):
                kind = "b"
            else:
                continue
            out.append({"path": e.path, "type": kind, "major": os.major(st.st_rdev),
                        "minor": os.minor(st.st_rdev), "fileMode": stat.S_IMODE(st.st_mode),
                        "uid": st.st_uid, "gid": st.st_gid})

    walk(root)
    return out


def default_mounts(shm_size: int) -> list[dict[str, Any]]:
    return [
        {"destination": "/proc", "type": "proc", "source": "proc", "options": ["nosuid", "noexec", "nodev"]},
        {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
         "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
        {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
         "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]},
        {"destination": "/sys", "type": "sysfs", "source": "sysfs", "options": ["nosuid", "noexec", "nodev", "ro"]},
        {"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
         "options": ["ro", "nosuid", "noexec", "nodev"]},
        {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue", "options": ["nosuid", "noexec", "nodev"]},
        {"destination": "/dev/shm", "type": "tmpfs", "source": "shm",
         "options": ["nosuid", "noexec", "nodev", "mode=1777", f"size={shm_size}"]},
    ]


def _env(req: StartRequest, user: ResolvedUser) -> list[str]:
    """Docker's CreateDaemonEnvironment defaults (PATH, HOSTNAME, TERM) under the
    engine's env, plus HOME from passwd as runc would set it."""
    env = list(req.process.env)
    keys = {e.split("=", 1)[0] for e in env}
    head = []
    if "PATH" not in keys:
        head.append("PATH=" + DEFAULT_PATH)
    if "HOSTNAME" not in keys and req.hostname:
        head.append("HOSTNAME=" + req.hostname)
    if req.process.tty and "TERM" not in keys:
        head.append("TERM=xterm")
    tail = [] if "HOME" in keys else ["HOME=" + (user.home or "/")]
    return head + env + tail


def _rlimits(hc: dict[str, Any], host: HostInfo) -> list[dict[str, Any]]:
    limits = {"RLIMIT_NOFILE": (host.nofile, host.nofile)}
    for u in hc.get("Ulimits") or []:
        name = "RLIMIT_" + str(u.get("Name", "")).upper()
        limits[name] = (int(u.get("Soft", 0)), int(u.get("Hard", 0)))
    return [{"type": k, "soft": s, "hard": h} for k, (s, h) in limits.items()]


def resources(hc: dict[str, Any], host: HostInfo, warnings: list[str]) -> dict[str, Any]:
    """linux.resources from HostConfig. Add new knobs here, each guarded by a
    HostInfo flag when the kernel may lack it (runc fails on a missing file)."""
    res: dict[str, Any] = {}
    mem: dict[str, Any] = {}
    if hc.get("Memory"):
        mem["limit"] = int(hc["Memory"])
    if hc.get("MemorySwap"):
        if host.swap_limit:
            mem["swap"] = int(hc["MemorySwap"])
        else:
            warnings.append("Your kernel does not support swap limit capabilities or the cgroup is "
                            "not mounted. Memory limited without swap.")
    if hc.get("MemoryReservation"):
        mem["reservation"] = int(hc["MemoryReservation"])
    if hc.get("KernelMemory"):
        warnings.append("Specifying a kernel memory limit is deprecated and will be removed in a future release.")
        if host.kernel_memory:
            mem["kernel"] = int(hc["KernelMemory"])
        else:
            warnings.append("Your kernel does not support kernel memory limit capabilities or the cgroup is not "
                            "mounted. Limitation discarded.")
    if hc.get("OomKillDisable"):
        mem["disableOOMKiller"] = True
    if hc.get("MemorySwappiness") is not None and int(hc["MemorySwappiness"]) >= 0 and not host.cgroup_v2:
        mem["swappiness"] = int(hc["MemorySwappiness"])
    if mem:
        res["memory"] = mem
    cpu: dict[str, Any] = {}
    if hc.get("CpuShares"):
        cpu["shares"] = int(hc["CpuShares"])
    if hc.get("NanoCpus") and host.cpu_cfs:
        cpu["period"] = 100000
        cpu["quota"] = int(hc["NanoCpus"]) * 100000 // 1_000_000_000
    elif host.cpu_cfs:
        if hc.get("CpuPeriod"):
            cpu["period"] = int(hc["CpuPeriod"])
        if hc.get("CpuQuota"):
            cpu["quota"] = int(hc["CpuQuota"])
    if host.cpuset:
        if hc.get("CpusetCpus"):
            cpu["cpus"] = str(hc["CpusetCpus"])
        if hc.get("CpusetMems"):
            cpu["mems"] = str(hc["CpusetMems"])
    if cpu:
        res["cpu"] = cpu
    pids = hc.get("PidsLimit")
    if pids is not None and (int(pids) > 0 or int(pids) == -1) and host.pids:
        res["pids"] = {"limit": int(pids)}
    if hc.get("BlkioWeight"):
        if host.blkio_weight:
            res["blockIO"] = {"weight": int(hc["BlkioWeight"])}
        else:
            warnings.append("Your kernel does not support Block I/O weight or the cgroup is not mounted. "
                            "Weight discarded.")
    # More knobs go here: BlkioDeviceRead/WriteBps, CpuRealtime*, KernelMemory, Hugepages...
    return res


def _device_mappings(hc: dict[str, Any]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """HostConfig.Devices ("PathOnHost", "PathInContainer", "CgroupPermissions")."""
    devs: list[dict[str, Any]] = []
    rules: list[dict[str, Any]] = []
    for d in hc.get("Devices") or []:
        src = d.get("PathOnHost", "")
        dst = d.get("PathInContainer") or src
        perms = d.get("CgroupPermissions") or "rwm"
        try:
            st = os.stat(src)
        except OSError as e:
            raise InvalidArgument(f"error gathering device information while adding custom device "
                                  f"\"{src}\": no such file or directory") from e
        if not (stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode)):
            raise InvalidArgument(f"error gathering device information while adding custom device "
                                  f"\"{src}\": not a device node")
        kind = "c" if stat.S_ISCHR(st.st_mode) else "b"
        major, minor = os.major(st.st_rdev), os.minor(st.st_rdev)
        devs.append({"path": dst, "type": kind, "major": major, "minor": minor,
                     "fileMode": stat.S_IMODE(st.st_mode), "uid": st.st_uid, "gid": st.st_gid})
        rules.append({"allow": True, "type": kind, "major": major, "minor": minor, "access": perms})
    return devs, rules


def _tmpfs_mounts(hc: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for dst, opts in (hc.get("Tmpfs") or {}).items():
        options = ["noexec", "nosuid", "nodev"] + [o for o in str(opts or "").split(",") if o]
        out.append({"destination": dst, "type": "tmpfs", "source": "tmpfs", "options": options})
    return out


def _mounts(req: StartRequest, hc: dict[str, Any], privileged: bool) -> list[dict[str, Any]]:
    """Default mounts, then /etc files, then the user's (volumes, binds, tmpfs).

    As dockerd: a user mount replaces a default or /etc file mount with the same
    destination (a user /dev replaces every /dev default), and user mounts are
    ordered parents first so that none hides another.
    """
    user = _tmpfs_mounts(hc) + [dict(m) for m in req.extra_mounts]
    user_dsts = {os.path.normpath(str(m["destination"])) for m in user}

    def overridden(dst: str) -> bool:
        return dst in user_dsts or ("/dev" in user_dsts and dst.startswith("/dev/"))

    mounts = [m for m in default_mounts(int(hc.get("ShmSize") or DEFAULT_SHM_SIZE))
              if not overridden(m["destination"])]
    if privileged:
        for m in mounts:
            if m["destination"] == "/sys" or m["type"] == "cgroup":
                m["options"] = [o for o in m["options"] if o != "ro"]
    order = ["/etc/resolv.conf", "/etc/hostname", "/etc/hosts"]
    for dst in order + sorted(d for d in req.etc_files if d not in order):
        if dst in req.etc_files and not overridden(dst):
            mounts.append({"destination": dst, "type": "bind", "source": str(req.etc_files[dst]),
                           "options": ["rbind", "rprivate"]})
    user.sort(key=lambda m: len([p for p in str(m["destination"]).split("/") if p]))
    return mounts + user


def _user_namespace_of(netns_path: str) -> str:
    """With userns-remap a network namespace belongs to the container's user namespace, which it
    must join too (moby does so for container:X): /proc/<pid>/ns/user beside /proc/<pid>/ns/net,
    else the pin network/netns.py makes next to the sandbox's (<netns>.user)."""
    if netns_path.startswith("/proc/") and netns_path.endswith("/ns/net"):
        return netns_path[:-len("net")] + "user"
    return netns_path + ".user"


def init_binary() -> str:
    """The host's tini for HostConfig.Init; InvalidArgument when none is installed."""
    for path in INIT_BINARIES:
        if os.access(path, os.X_OK):
            return path
    raise InvalidArgument('exec: "docker-init": executable file not found in $PATH')


def check_host_config(hc: dict[str, Any], host: HostInfo | None = None) -> list[str]:
    """What dockerd checks at container create: raises InvalidArgument for what
    can never work (unknown capabilities), returns warnings for dropped knobs."""
    host = host or detect_host()
    warnings: list[str] = []
    capabilities(hc, host)
    security_opts.parse(hc.get("SecurityOpt"))
    _check_cpuset(hc, host)
    if 0 < int(hc.get("KernelMemory") or 0) < 4 * 1024 * 1024:
        raise InvalidArgument("Minimum kernel memory limit allowed is 4MB")
    swappiness = hc.get("MemorySwappiness")
    if swappiness is not None and not -1 <= int(swappiness) <= 100:   # -1: the kernel's default
        raise InvalidArgument(f"Invalid value: {swappiness}, valid memory swappiness range is 0-100")
    score = int(hc.get("OomScoreAdj") or 0)
    if not -1000 <= score <= 1000:
        raise InvalidArgument(f"Invalid value {score}, range for oom score adj is [-1000, 1000]")
    resources(hc, host, warnings)
    return warnings


def build_spec(req: StartRequest, rootfs: Path, user: ResolvedUser, cgroup_parent: str,
               host: HostInfo | None = None, warnings: list[str] | None = None) -> dict[str, Any]:
    """The complete config.json for ``req`` with its root at ``rootfs``."""
    host = host or detect_host()
    warnings = warnings if warnings is not None else []
    hc = req.host_config or {}
    privileged = bool(hc.get("Privileged"))
    caps = capabilities(hc, host)

    mounts = _mounts(req, hc, privileged)
    args = list(req.process.args)
    if hc.get("Init"):  # moby's WithCommonOptions: tini as PID 1, mounted read-only
        args = [CONTAINER_INIT_PATH, "--"] + args
        mounts.append({"destination": CONTAINER_INIT_PATH, "type": "bind", "source": init_binary(),
                       "options": ["bind", "ro"]})

    namespaces: list[dict[str, Any]] = [{"type": "mount"}]
    sysctl: dict[str, str] = {}
    if req.netns_path is None:
        namespaces.append({"type": "network"})
    elif req.netns_path != "host":
        namespaces.append({"type": "network", "path": req.netns_path})
    if req.netns_path != "host":
        sysctl = {"net.ipv4.ip_unprivileged_port_start": "0", "net.ipv4.ping_group_range": "0 2147483647"}
    if hc.get("UTSMode") != "host":
        namespaces.append({"type": "uts"})
    if hc.get("PidMode") != "host":
        namespaces.append({"type": "pid"})
    if hc.get("IpcMode") != "host":
        namespaces.append({"type": "ipc"})
    if req.domainname:  # as dockerd: a sysctl, not the spec's "domainname" (runc 1.1 ignores it)
        sysctl["kernel.domainname"] = req.domainname
    sysctl.update({str(k): str(v) for k, v in (hc.get("Sysctls") or {}).items()})

    devices, rules = _device_mappings(hc)
    if privileged:
        devices = host_devices()
        rules = [{"allow": True, "access": "rwm"}]
    else:
        rules = [dict(r) for r in DEFAULT_DEVICE_RULES] + rules

    res = resources(hc, host, warnings)
    res["devices"] = rules
    parent = str(hc.get("CgroupParent") or cgroup_parent).strip("/")
    sec = security_opts.parse(hc.get("SecurityOpt"))

    process: dict[str, Any] = {
        "terminal": bool(req.process.tty),
        "user": {"uid": user.uid, "gid": user.gid, "additionalGids": list(user.additional_gids)},
        "args": args,
        "env": _env(req, user),
        "cwd": req.process.cwd or "/",
        "capabilities": {"bounding": caps, "effective": caps, "permitted": caps},
        "rlimits": _rlimits(hc, host),
        "noNewPrivileges": sec.no_new_privileges,
        "oomScoreAdj": int(hc.get("OomScoreAdj") or 0),
    }
    linux: dict[str, Any] = {
        "sysctl": sysctl,
        "resources": res,
        "cgroupsPath": f"/{parent}/{req.id}" if parent else f"/{req.id}",
        "namespaces": namespaces,
        "devices": devices,
    }
    if req.userns is not None:   # userns-remap (moby's WithNamespaces): container ids are shifted
        namespaces.append({"type": "user"})
        linux["uidMappings"], linux["gidMappings"] = req.userns.oci()
        if req.netns_path is not None:   # the sandbox's owner (network/netns.py), or the user
            namespaces[-1]["path"] = _user_namespace_of(req.netns_path)   # namespace of container:X
        if "net.ipv4.ping_group_range" not in (hc.get("Sysctls") or {}):   # moby: "we cannot set up
            sysctl.pop("net.ipv4.ping_group_range", None)                  # ping socket support"
    apparmor = security_opts.apparmor_profile(sec, privileged)
    if apparmor:
        process["apparmorProfile"] = apparmor
    filt = seccomp.for_container(sec.seccomp, privileged, caps)
    if filt is not None:
        linux["seccomp"] = filt
    if not privileged:   # HostConfig's lists when given (dockerd's WithMaskedPaths/WithReadonlyPaths)
        masked, readonly = hc.get("MaskedPaths"), hc.get("ReadonlyPaths")
        linux["maskedPaths"] = list(MASKED_PATHS if masked is None else masked)
        linux["readonlyPaths"] = list(READONLY_PATHS if readonly is None else readonly)
    spec: dict[str, Any] = {
        "ociVersion": "1.0.2-dev",
        "process": process,
        "root": {"path": str(rootfs), "readonly": bool(hc.get("ReadonlyRootfs"))},
        "hostname": req.hostname,
        "mounts": mounts,
        "linux": linux,
    }
    return spec
