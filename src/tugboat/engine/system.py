"""System service: /version and /info.

`docker version` and `docker info` render every field they know; a missing field or
one of the wrong JSON type breaks the CLI's template rendering, so the shapes below
follow dockerd 20.10's SystemVersion and SystemInfo field by field, with values
describing this host and this daemon.
"""

from __future__ import annotations

import base64
import os
import platform
import secrets
import socket
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tugboat.api.timefmt import now_ns, rfc3339nano
from tugboat.api.version import API_VERSION, ENGINE_VERSION, MIN_API_VERSION
from tugboat.errors import NotImplementedYet
from tugboat.runtime import seccomp, security_opts
from tugboat.runtime.runc import runc_version as probe_runc_version
from tugboat.store.atomic import write_atomic

GIT_COMMIT = "tugboat"
BUILD_TIME = "2026-11-22T00:00:00.000000000+00:00"
ENGINE_ID_FILE = "engine-id"

_FS_NAMES = {"ext2": "extfs", "ext3": "extfs", "ext4": "extfs", "overlay": "overlayfs"}


def _read(path: str) -> str:
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return ""


def mem_total() -> int:
    for line in _read("/proc/meminfo").splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) * 1024
    return 0


def os_release() -> tuple[str, str]:
    """(PRETTY_NAME, VERSION_ID) of /etc/os-release, as dockerd's OperatingSystem/OSVersion."""
    vals: dict[str, str] = {}
    for line in _read("/etc/os-release").splitlines():
        k, _, v = line.partition("=")
        vals[k.strip()] = v.strip().strip('"')
    return vals.get("PRETTY_NAME", "Linux"), vals.get("VERSION_ID", "")


def backing_filesystem(path: Path) -> str:
    """The filesystem type of the mount holding ``path``, in dockerd's words ("extfs", "xfs")."""
    best, fstype = "", "unknown"
    target = str(path.resolve()) if path.exists() else str(path)
    for line in _read("/proc/self/mounts").splitlines():
        parts = line.split()
        if len(parts) < 3:
            continue
        mnt = parts[1].replace("\\040", " ")
        if (target == mnt or target.startswith(mnt.rstrip("/") + "/")) and len(mnt) >= len(best):
            best, fstype = mnt, parts[2]
    return _FS_NAMES.get(fstype, fstype)


def cgroup_version() -> str:
    return "2" if os.path.exists("/sys/fs/cgroup/cgroup.controllers") else "1"


def engine_id(data_root: Path) -> str:
    """A stable ID in dockerd's "XXXX:XXXX:..." shape, created once per data root."""
    path = data_root / ENGINE_ID_FILE
    try:
        value = path.read_text().strip()
        if value:
            return value
    except OSError:
        pass
    raw = base64.b32encode(secrets.token_bytes(30)).decode()[:48]
    value = ":".join(raw[i:i + 4] for i in range(0, 48, 4))
    try:
        data_root.mkdir(parents=True, exist_ok=True)
        write_atomic(path, (value + "\n").encode(), 0o644)
    except OSError:
        pass
    return value


def security_options() -> list[str]:
    """dockerd's SecurityOptions: AppArmor where the host has it, then the seccomp profile."""
    return (["name=apparmor"] if security_opts.apparmor_enabled() else []) + seccomp.security_options()


class SystemService:
    def __init__(self, config: Any, container_counts: Callable[[], dict[str, int]],
                 image_count: Callable[[], int], storage_driver: str) -> None:
        self._config = config
        self._container_counts = container_counts
        self._image_count = image_count
        self._storage_driver = storage_driver
        self._runc: tuple[str, str] | None = None
        self._lock = threading.Lock()
        self._id: str | None = None
        self.disk_usage_of: Callable[[], dict] | None = None   # system_df.DiskUsage.usage, set by wiring.py

    # --- helpers --------------------------------------------------------------------------------
    def _runc_binary(self) -> str:
        return str(getattr(self._config, "runtime", "runc") or "runc")

    def _runc_version(self) -> tuple[str, str]:
        """(version, commit) from `runc --version`, cached; ("", "") if runc is missing."""
        with self._lock:
            if self._runc is None:
                self._runc = probe_runc_version(self._runc_binary())
            return self._runc

    def _data_root(self) -> Path:
        return Path(getattr(self._config, "data_root", "/var/lib/tugboat"))

    # --- API ------------------------------------------------------------------------------------
    def version(self) -> dict:
        kernel = platform.release()
        go_version = "python" + platform.python_version()
        components: list[dict] = [{
            "Name": "Engine", "Version": ENGINE_VERSION,
            "Details": {"ApiVersion": API_VERSION, "Arch": "amd64", "BuildTime": BUILD_TIME,
                        "Experimental": "false", "GitCommit": GIT_COMMIT, "GoVersion": go_version,
                        "KernelVersion": kernel, "MinAPIVersion": MIN_API_VERSION, "Os": "linux"},
        }]
        runc_version, runc_commit = self._runc_version()
        if runc_version:
            components.append({"Name": "runc", "Version": runc_version,
                               "Details": {"GitCommit": runc_commit}})
        return {
            "Platform": {"Name": "Tugboat Engine"}, "Components": components,
            "Version": ENGINE_VERSION, "ApiVersion": API_VERSION, "MinAPIVersion": MIN_API_VERSION,
            "GitCommit": GIT_COMMIT, "GoVersion": go_version, "Os": "linux", "Arch": "amd64",
            "KernelVersion": kernel, "BuildTime": BUILD_TIME,
        }

    def disk_usage(self) -> dict:
        """GET /system/df (engine/system_df.py)."""
        if self.disk_usage_of is None:
            raise NotImplementedYet("disk usage is not available")
        return self.disk_usage_of()

    def info(self) -> dict:
        counts = self._container_counts()
        running, paused, stopped = counts.get("running", 0), counts.get("paused", 0), counts.get("stopped", 0)
        data_root = self._data_root()
        if self._id is None:
            self._id = engine_id(data_root)
        driver = self._storage_driver
        driver_status: list[list[str]] = []
        if driver == "overlay2":
            driver_status = [["Backing Filesystem", backing_filesystem(data_root)],
                             ["Supports d_type", "true"], ["Native Overlay Diff", "true"],
                             ["userxattr", "false"]]
        os_name, os_version = os_release()
        try:
            nfd = len(os.listdir("/proc/self/fd"))
        except OSError:
            nfd = 0
        runc_version, runc_commit = self._runc_version()
        v2 = cgroup_version() == "2"
        return {
            "ID": self._id,
            "Containers": running + paused + stopped, "ContainersRunning": running,
            "ContainersPaused": paused, "ContainersStopped": stopped,
            "Images": int(self._image_count()),
            "Driver": driver, "DriverStatus": driver_status,
            "Plugins": {"Volume": ["local"], "Network": ["bridge", "host", "null"],
                        "Authorization": None, "Log": ["json-file"]},
            "MemoryLimit": True, "SwapLimit": True, "KernelMemory": not v2, "KernelMemoryTCP": not v2,
            "CpuCfsPeriod": True, "CpuCfsQuota": True, "CPUShares": True, "CPUSet": True,
            "PidsLimit": True, "IPv4Forwarding": _read("/proc/sys/net/ipv4/ip_forward").strip() == "1",
            "BridgeNfIptables": True, "BridgeNfIp6tables": True,
            "Debug": getattr(self._config, "log_level", "info") == "debug",
            "NFd": nfd, "OomKillDisable": not v2, "NGoroutines": threading.active_count(),
            "SystemTime": rfc3339nano(now_ns()), "LoggingDriver": "json-file",
            "CgroupDriver": "cgroupfs", "CgroupVersion": cgroup_version(), "NEventsListener": 0,
            "KernelVersion": platform.release(), "OperatingSystem": os_name, "OSVersion": os_version,
            "OSType": "linux", "Architecture": platform.machine() or "x86_64",
            "IndexServerAddress": "https://index.docker.io/v1/",
            "RegistryConfig": {
                "AllowNondistributableArtifactsCIDRs": [], "AllowNondistributableArtifactsHostnames": [],
                "InsecureRegistryCIDRs": ["127.0.0.0/8"],
                "IndexConfigs": {"docker.io": {"Name": "docker.io", "Mirrors": [], "Secure": True,
                                               "Official": True}},
                "Mirrors": [],
            },
            "NCPU": os.cpu_count() or 1, "MemTotal": mem_total(), "GenericResources": None,
            "DockerRootDir": str(data_root), "HttpProxy": os.environ.get("HTTP_PROXY", ""),
            "HttpsProxy": os.environ.get("HTTPS_PROXY", ""), "NoProxy": os.environ.get("NO_PROXY", ""),
            "Name": socket.gethostname(), "Labels": [], "ExperimentalBuild": False,
            "ServerVersion": ENGINE_VERSION,
            "Runtimes": {"runc": {"path": self._runc_binary()}}, "DefaultRuntime": "runc",
            "Swarm": {"NodeID": "", "NodeAddr": "", "LocalNodeState": "inactive",
                      "ControlAvailable": False, "Error": "", "RemoteManagers": None},
            "LiveRestoreEnabled": True, "Isolation": "", "InitBinary": "",
            "ContainerdCommit": {"ID": "", "Expected": ""},
            "RuncCommit": {"ID": runc_commit or runc_version, "Expected": runc_commit or runc_version},
            "InitCommit": {"ID": "", "Expected": ""},
            "SecurityOptions": security_options() + (["name=userns"] if getattr(self._config, "userns_remap", "")
                                                     else []), "Warnings": [],
        }
