"""The container record: what `<root>/<id>/config.v2.json` holds, and how it is built.

dockerd merges the image's config into the container's at create time and shows the
merged result in inspect; it fills HostConfig with defaults the same way.  Both are
done here, once, so that inspect, start and list all see the same values and a
restarted tugd reads back exactly what it wrote.
"""

from __future__ import annotations

import copy
import os
from dataclasses import dataclass, field
from pathlib import Path

from tugboat.api.timefmt import rfc3339nano
from tugboat.engine import log_options
from tugboat.engine.container_mounts import recorded
from tugboat.engine.container_state import State
from tugboat.errors import InvalidArgument, NotImplementedYet
from tugboat.runtime import cgroups
from tugboat.runtime.spec import MASKED_PATHS, READONLY_PATHS
from tugboat.store.atomic import read_json, write_atomic, write_json

RECORD_FILE = "config.v2.json"

_CONFIG_KEYS = ("Hostname", "Domainname", "User", "AttachStdin", "AttachStdout", "AttachStderr",
                "ExposedPorts", "Tty", "OpenStdin", "StdinOnce", "Env", "Cmd", "Healthcheck",
                "ArgsEscaped", "Image", "Volumes", "WorkingDir", "Entrypoint", "NetworkDisabled",
                "MacAddress", "OnBuild", "Labels", "StopSignal", "StopTimeout", "Shell")
# Go's `omitempty` fields of container.Config: absent from inspect unless set.
_OMIT_EMPTY = {"ExposedPorts", "Healthcheck", "ArgsEscaped", "NetworkDisabled", "MacAddress",
               "StopSignal", "StopTimeout", "Shell"}

# The monitor always writes the json-file log; "local" reads the same way here, "none" is not readable.
LOG_DRIVERS = ("json-file", "local", "none")
_UNSUPPORTED_LOG_DRIVERS = ("syslog", "journald", "gelf", "fluentd", "awslogs", "splunk", "etwlogs",
                            "gcplogs", "logentries")

def default_host_config() -> dict:
    """HostConfig of a container created through the API with no HostConfig (dockerd 20.10)."""
    return {
        "Binds": None, "ContainerIDFile": "", "LogConfig": {"Type": "json-file", "Config": {}},
        "NetworkMode": "default", "PortBindings": None,
        "RestartPolicy": {"Name": "", "MaximumRetryCount": 0}, "AutoRemove": False,
        "VolumeDriver": "", "VolumesFrom": None, "CapAdd": None, "CapDrop": None,
        "CgroupnsMode": "private" if cgroups.is_v2() else "host", "Dns": None, "DnsOptions": None,
        "DnsSearch": None, "ExtraHosts": None, "GroupAdd": None, "IpcMode": "private", "Cgroup": "",
        "Links": None, "OomScoreAdj": 0, "PidMode": "", "Privileged": False, "PublishAllPorts": False,
        "ReadonlyRootfs": False, "SecurityOpt": None, "UTSMode": "", "UsernsMode": "",
        "ShmSize": 67108864, "Runtime": "runc", "ConsoleSize": [0, 0], "Isolation": "",
        "CpuShares": 0, "Memory": 0, "NanoCpus": 0, "CgroupParent": "", "BlkioWeight": 0,
        "BlkioWeightDevice": None, "BlkioDeviceReadBps": None, "BlkioDeviceWriteBps": None,
        "BlkioDeviceReadIOps": None, "BlkioDeviceWriteIOps": None, "CpuPeriod": 0, "CpuQuota": 0,
        "CpuRealtimePeriod": 0, "CpuRealtimeRuntime": 0, "CpusetCpus": "", "CpusetMems": "",
        "Devices": None, "DeviceCgroupRules": None, "DeviceRequests": None, "KernelMemory": 0,
        "KernelMemoryTCP": 0, "MemoryReservation": 0, "MemorySwap": 0, "MemorySwappiness": None,
        "OomKillDisable": False, "PidsLimit": None, "Ulimits": None, "CpuCount": 0, "CpuPercent": 0,
        "IOMaximumIOps": 0, "IOMaximumBandwidth": 0,
        "MaskedPaths": list(MASKED_PATHS), "ReadonlyPaths": list(READONLY_PATHS),
    }


def build_host_config(given: dict | None) -> dict:
    """Defaults overlaid with what the client sent; empty values get dockerd's defaults."""
    hc = default_host_config()
    for k, v in (given or {}).items():
        hc[k] = copy.deepcopy(v)
    if not hc.get("NetworkMode"):
        hc["NetworkMode"] = "default"
    if not isinstance(hc.get("LogConfig"), dict) or not hc["LogConfig"].get("Type"):
        hc["LogConfig"] = {"Type": "json-file", "Config": (hc.get("LogConfig") or {}).get("Config") or {}}
    elif hc["LogConfig"].get("Config") is None:
        hc["LogConfig"]["Config"] = {}
    driver = hc["LogConfig"]["Type"]
    if driver in _UNSUPPORTED_LOG_DRIVERS:
        raise NotImplementedYet(f"logging driver {driver} is not supported yet")
    if driver not in LOG_DRIVERS:
        raise InvalidArgument(f'error looking up logging plugin {driver}: plugin "{driver}" not found')
    log_options.validate(hc["LogConfig"])
    if 0 < int(hc.get("Memory") or 0) < 6 * 1024 * 1024:
        raise InvalidArgument("Minimum memory limit allowed is 6MB")
    if hc.get("MemorySwappiness") == -1:   # docker's CLI sends -1 for "not set"; dockerd stores null
        hc["MemorySwappiness"] = None
    if not hc.get("Memory") and int(hc.get("MemorySwap") or 0) > 0:
        raise InvalidArgument("You should always set the Memory limit when using Memoryswap limit, see usage")
    rp = hc.get("RestartPolicy") or {}
    hc["RestartPolicy"] = {"Name": rp.get("Name") or "", "MaximumRetryCount": rp.get("MaximumRetryCount") or 0}
    if hc["RestartPolicy"]["Name"] not in ("", "no", "always", "unless-stopped", "on-failure"):
        raise InvalidArgument(f"invalid restart policy '{hc['RestartPolicy']['Name']}'")
    if hc.get("AutoRemove") and hc["RestartPolicy"]["Name"] not in ("", "no"):
        raise InvalidArgument("can't create 'AutoRemove' container with restart policy")
    if not hc.get("ShmSize"):
        hc["ShmSize"] = 67108864
    if not hc.get("IpcMode"):
        hc["IpcMode"] = "private"
    if not hc.get("CgroupnsMode"):
        hc["CgroupnsMode"] = "private" if cgroups.is_v2() else "host"
    if not hc.get("Runtime"):
        hc["Runtime"] = "runc"
    if hc.get("Privileged"):
        hc["MaskedPaths"] = None
        hc["ReadonlyPaths"] = None
    else:   # a client's null means dockerd's defaults
        if hc.get("MaskedPaths") is None:
            hc["MaskedPaths"] = list(MASKED_PATHS)
        if hc.get("ReadonlyPaths") is None:
            hc["ReadonlyPaths"] = list(READONLY_PATHS)
    return hc


def _env_key(e: str) -> str:
    return e.split("=", 1)[0]


def merge_config(user: dict, image: dict | None) -> dict:
    """moby's daemon.merge(): the image config fills in what the container does not set.

    Env: container entries win by key, image entries not overridden are appended.
    Entrypoint: an explicitly given Entrypoint (even []) keeps the image's Entrypoint out;
    a non-empty one also keeps the image's Cmd out unless Cmd is given."""
    c = copy.deepcopy(user)
    img = image or {}
    if not c.get("User"):
        c["User"] = img.get("User") or ""
    if not c.get("ExposedPorts"):
        if img.get("ExposedPorts"):
            c["ExposedPorts"] = copy.deepcopy(img["ExposedPorts"])
    elif img.get("ExposedPorts"):
        for p in img["ExposedPorts"]:
            c["ExposedPorts"].setdefault(p, {})
    if not c.get("Env"):
        c["Env"] = list(img["Env"]) if img.get("Env") else None
    else:
        keys = {_env_key(e) for e in c["Env"]}
        c["Env"] = list(c["Env"]) + [e for e in img.get("Env") or [] if _env_key(e) not in keys]
    labels = dict(c.get("Labels") or {})
    for k, v in (img.get("Labels") or {}).items():
        labels.setdefault(k, v)
    c["Labels"] = labels
    if not c.get("Entrypoint"):
        if not c.get("Cmd"):
            c["Cmd"] = copy.deepcopy(img.get("Cmd"))
            if img.get("ArgsEscaped"):
                c["ArgsEscaped"] = True
        if c.get("Entrypoint") is None:
            c["Entrypoint"] = copy.deepcopy(img.get("Entrypoint"))
    ihc = img.get("Healthcheck")
    if ihc:
        if not c.get("Healthcheck"):
            c["Healthcheck"] = copy.deepcopy(ihc)
        else:
            hc = c["Healthcheck"]
            for k in ("Test", "Interval", "Timeout", "StartPeriod", "Retries"):
                if not hc.get(k) and ihc.get(k):
                    hc[k] = copy.deepcopy(ihc[k])
    if not c.get("WorkingDir"):
        c["WorkingDir"] = img.get("WorkingDir") or ""
    if not c.get("Volumes"):
        c["Volumes"] = copy.deepcopy(img.get("Volumes")) or None
    elif img.get("Volumes"):
        c["Volumes"].update(img["Volumes"])
    if not c.get("StopSignal") and img.get("StopSignal"):
        c["StopSignal"] = img["StopSignal"]
    for key in ("Cmd", "Entrypoint", "OnBuild"):
        c.setdefault(key, None)
    return c


def command_of(config: dict) -> list[str]:
    """Entrypoint + Cmd as the process argv; an Entrypoint of [""] means "none" (docker run --entrypoint "")."""
    ep = list(config.get("Entrypoint") or [])
    if ep == [""]:
        ep = []
    return ep + list(config.get("Cmd") or [])


def shape_config(c: dict, short_id: str) -> dict:
    """container.Config in dockerd's field order, with Go's zero values and omitempty."""
    out: dict = {}
    defaults = {"Hostname": short_id, "Domainname": "", "User": "", "AttachStdin": False,
                "AttachStdout": False, "AttachStderr": False, "Tty": False, "OpenStdin": False,
                "StdinOnce": False, "Env": None, "Cmd": None, "Image": "", "Volumes": None,
                "WorkingDir": "", "Entrypoint": None, "OnBuild": None, "Labels": {}}
    for k in _CONFIG_KEYS:
        v = c.get(k)
        if k in _OMIT_EMPTY:
            if v:
                out[k] = v
            continue
        out[k] = v if v not in (None, "") or k not in defaults else defaults[k]
        if k == "Hostname" and not out[k]:
            out[k] = short_id
    for k, v in c.items():  # keep fields this version does not know about
        if k not in out and k not in _OMIT_EMPTY and k not in ("HostConfig", "NetworkingConfig"):
            out[k] = v
    return out


@dataclass
class ContainerRecord:
    """One container; persisted as a whole on every change (see ``save``)."""

    id: str
    name: str                     # with the leading "/"
    created_ns: int
    path: str
    args: list[str]
    config: dict                  # merged, API-shaped container.Config
    host_config: dict
    image_id: str
    directory: Path
    driver: str = ""
    state: State = field(default_factory=State)
    networking_config: dict | None = None
    monitor: dict | None = None   # {"pid", "start_time"} of the runtime's monitor, for restore
    restart_count: int = 0
    has_been_started: bool = False
    rw_parent: str | None = None  # chain ID the RW layer sits on (image size for SizeRootFs)
    manually_stopped: bool = False  # stopped/killed through the API: no policy restart
    network_settings: dict | None = None  # dockerd's NetworkSettings (engine/container_network.py)
    sandbox: dict | None = None   # the kernel objects of its networking, for teardown and restore
    mounts: list[dict] | None = None  # resolved MountPoints (engine/container_mounts.py), volumes named

    @property
    def short_id(self) -> str:
        return self.id[:12]

    @property
    def log_path(self) -> Path:
        return self.directory / f"{self.id}-json.log"

    @property
    def log_driver(self) -> str:
        return str((self.host_config.get("LogConfig") or {}).get("Type") or "json-file")

    @property
    def state_dir(self) -> Path:
        return self.directory / "state"

    def etc_path(self, name: str) -> Path:
        return self.directory / name

    @property
    def auto_remove(self) -> bool:
        return bool(self.host_config.get("AutoRemove"))

    def to_json(self) -> dict:
        return {
            "ID": self.id, "Name": self.name, "Created": self.created_ns, "Path": self.path,
            "Args": self.args, "Config": self.config, "HostConfig": self.host_config,
            "Image": self.image_id, "Driver": self.driver, "State": self.state.to_json(),
            "NetworkingConfig": self.networking_config, "MonitorRef": self.monitor,
            "RestartCount": self.restart_count, "HasBeenStartedBefore": self.has_been_started,
            "RWParent": self.rw_parent, "HasBeenManuallyStopped": self.manually_stopped,
            "NetworkSettings": self.network_settings, "TugboatSandbox": self.sandbox,
            "MountPoints": self.mounts,
        }

    @classmethod
    def from_json(cls, d: dict, directory: Path) -> ContainerRecord:
        return cls(id=d["ID"], name=d["Name"], created_ns=int(d["Created"]), path=d.get("Path", ""),
                   args=list(d.get("Args") or []), config=d.get("Config") or {},
                   host_config=d.get("HostConfig") or default_host_config(), image_id=d.get("Image", ""),
                   directory=directory, driver=d.get("Driver", ""), state=State.from_json(d.get("State") or {}),
                   networking_config=d.get("NetworkingConfig"), monitor=d.get("MonitorRef"),
                   restart_count=int(d.get("RestartCount") or 0),
                   has_been_started=bool(d.get("HasBeenStartedBefore")), rw_parent=d.get("RWParent"),
                   manually_stopped=bool(d.get("HasBeenManuallyStopped")),
                   network_settings=d.get("NetworkSettings"), sandbox=d.get("TugboatSandbox"),
                   mounts=d.get("MountPoints"))

    def save(self) -> None:
        write_json(self.directory / RECORD_FILE, self.to_json())

    @classmethod
    def load(cls, directory: Path) -> ContainerRecord | None:
        d = read_json(directory / RECORD_FILE)
        if not isinstance(d, dict) or "ID" not in d:
            return None
        return cls.from_json(d, directory)

    def inspect(self, graph_driver: dict, sizes: dict | None = None) -> dict:
        """ContainerInspectResponse, in dockerd's field order."""
        out = {
            "Id": self.id, "Created": rfc3339nano(self.created_ns), "Path": self.path, "Args": self.args,
            "State": self.state.to_api(), "Image": self.image_id,
            "ResolvConfPath": str(self.etc_path("resolv.conf")),
            "HostnamePath": str(self.etc_path("hostname")), "HostsPath": str(self.etc_path("hosts")),
            "LogPath": "" if self.log_driver == "none" else str(self.log_path), "Name": self.name, "RestartCount": self.restart_count,
            "Driver": self.driver, "Platform": "linux", "MountLabel": "", "ProcessLabel": "",
            "AppArmorProfile": "", "ExecIDs": None, "HostConfig": self.host_config,
            "GraphDriver": graph_driver,
        }
        if sizes is not None:
            out.update(sizes)
        out["Mounts"] = api_mounts(self)
        out["Config"] = shape_config(self.config, self.short_id)
        out["NetworkSettings"] = copy.deepcopy(self.network_settings) if self.network_settings \
            else network_settings()
        return out


def api_mounts(rec: ContainerRecord) -> list[dict]:
    """MountPoints for inspect and list."""
    return [mp.to_api() for mp in recorded(rec)]


def network_settings() -> dict:
    """NetworkSettings of a container with no networks attached (networking comes later)."""
    return {
        "Bridge": "", "SandboxID": "", "HairpinMode": False, "LinkLocalIPv6Address": "",
        "LinkLocalIPv6PrefixLen": 0, "Ports": {}, "SandboxKey": "", "SecondaryIPAddresses": None,
        "SecondaryIPv6Addresses": None, "EndpointID": "", "Gateway": "", "GlobalIPv6Address": "",
        "GlobalIPv6PrefixLen": 0, "IPAddress": "", "IPPrefixLen": 0, "IPv6Gateway": "",
        "MacAddress": "", "Networks": {},
    }


# --- /etc files -------------------------------------------------------------------------------

HOSTS_HEADER = ("127.0.0.1\tlocalhost\n"
                "::1\tlocalhost ip6-localhost ip6-loopback\n"
                "fe00::0\tip6-localnet\n"
                "ff00::0\tip6-mcastprefix\n"
                "ff02::1\tip6-allnodes\n"
                "ff02::2\tip6-allrouters\n")


def hosts_content(hostname: str, ip: str | list[str] | None = None, extra_hosts: list[str] | None = None,
                  links: list[tuple[str, str]] | None = None, host_gateway: str = "") -> str:
    """libnetwork's etchosts.Build: the fixed header, extra hosts (--add-host, "host-gateway" = the
    default bridge's gateway), --link entries ("IP names"), then the container's own line per address."""
    out = HOSTS_HEADER
    for entry in extra_hosts or []:
        host, _, addr = entry.partition(":")
        if addr == "host-gateway" and host_gateway:
            addr = host_gateway
        if addr:
            out += f"{addr}\t{host}\n"
    for link_ip, names in links or []:
        out += f"{link_ip}\t{names}\n"
    for own in [ip] if isinstance(ip, str) else ip or []:
        out += f"{own}\t{hostname}\n"
    return out


def _is_local_ns(addr: str) -> bool:
    return addr.startswith("127.") or addr == "::1"


def host_resolv_conf() -> str:
    """The host's resolv.conf, or systemd-resolved's upstream one when the stub listener is in use."""
    try:
        text = Path("/etc/resolv.conf").read_text()
    except OSError:
        return ""
    if "127.0.0.53" in text:
        try:
            return Path("/run/systemd/resolve/resolv.conf").read_text()
        except OSError:
            pass
    return text


def resolv_content(host_text: str, dns: list[str] | None = None, search: list[str] | None = None,
                   options: list[str] | None = None) -> str:
    """libnetwork's setupDNS (20.10) for a container without the embedded server: with no --dns*
    flag, the host's file filtered (resolvconf.FilterResolvDNS); with any, a new file built from the
    flags and, for what they leave out, the host's values (resolvconf.Build: search, nameservers,
    options in that order; the host's nameservers are then not filtered, as in dockerd)."""
    if dns or search or options:
        host_ns: list[str] = []
        host_search: list[str] = []
        host_opts: list[str] = []
        for line in host_text.splitlines():
            words = line.split()
            if len(words) >= 2 and words[0] == "nameserver":
                host_ns.append(words[1])
            elif words and words[0] in ("search", "domain"):
                host_search = words[1:]
            elif words and words[0] == "options":
                host_opts = words[1:]
        search_list = list(search) if search else host_search
        text = ""
        if search_list and " ".join(search_list).strip() != ".":
            text += "search " + " ".join(search_list) + "\n"
        text += "".join(f"nameserver {n}\n" for n in (dns or host_ns))
        opts = list(options) if options else host_opts
        if opts:
            text += "options " + " ".join(opts) + "\n"
        return text
    lines: list[str] = []
    nameservers = 0
    for line in host_text.splitlines():
        words = line.split()
        if words and words[0] == "nameserver":
            if len(words) < 2 or _is_local_ns(words[1]):
                continue
            nameservers += 1
        lines.append(line)
    text = "\n".join(lines).strip("\n")
    text = text + "\n" if text else ""
    if nameservers == 0:
        text += "nameserver 8.8.8.8\nnameserver 8.8.4.4\n"
    return text


@dataclass
class EtcNetwork:
    """What the container's networking puts into its /etc/hosts and resolv.conf."""

    addresses: list[str] = field(default_factory=list)          # its own IPs, one hosts line each
    links: list[tuple[str, str]] = field(default_factory=list)  # (IP, "alias hostname name")
    embedded_dns: bool = False    # on a user-defined network: nameserver 127.0.0.11
    host_gateway: str = ""        # what --add-host NAME:host-gateway maps to
    daemon_dns: list[str] = field(default_factory=list)
    daemon_dns_search: list[str] = field(default_factory=list)
    daemon_dns_options: list[str] = field(default_factory=list)


def embedded_resolv_content(host_text: str, search: list[str] | None, options: list[str] | None) -> str:
    """libnetwork's resolv.conf for the embedded server: search (given or the host's), nameserver
    127.0.0.11, options (given or the host's) plus ndots:0 unless an ndots option is there."""
    host_search: list[str] = []
    host_options: list[str] = []
    for line in host_text.splitlines():
        words = line.split()
        if words and words[0] in ("search", "domain"):
            host_search = words[1:]
        elif words and words[0] == "options":
            host_options += words[1:]
    search = list(search) if search else host_search
    opts = list(options) if options else host_options
    if not any(o.startswith("ndots") for o in opts):
        opts.append("ndots:0")
    text = ""
    if search and " ".join(search).strip() != ".":
        text += "search " + " ".join(search) + "\n"
    text += "nameserver 127.0.0.11\n"
    if opts:
        text += "options " + " ".join(opts) + "\n"
    return text


def _rewrite(path: Path, data: bytes) -> None:
    """A running container has the file bind-mounted: an existing one is rewritten in place (as
    dockerd's etchosts does), since a replaced inode would not be seen inside."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_TRUNC | os.O_NOFOLLOW | os.O_CLOEXEC)
    except FileNotFoundError:
        write_atomic(path, data, 0o644)
        return
    with os.fdopen(fd, "wb") as f:
        f.write(data)


def write_etc_files(rec: ContainerRecord, net: EtcNetwork | None = None) -> None:
    """hostname, hosts and resolv.conf for the container's /etc.  With --network host the
    container sees the host's own hosts file and (unfiltered) resolv.conf, as with dockerd."""
    net = net or EtcNetwork()
    hostname = rec.config.get("Hostname") or rec.short_id
    domain = rec.config.get("Domainname") or ""
    own_names = f"{hostname}.{domain} {hostname}" if domain else hostname
    hc = rec.host_config
    host_net = hc.get("NetworkMode") == "host"
    write_atomic(rec.etc_path("hostname"), (hostname + "\n").encode(), 0o644)
    if host_net:
        try:
            hosts = Path("/etc/hosts").read_text()
        except OSError:
            hosts = HOSTS_HEADER
        hosts += hosts_content("", None, hc.get("ExtraHosts"), host_gateway=net.host_gateway)[len(HOSTS_HEADER):]
    else:
        hosts = hosts_content(own_names, net.addresses, hc.get("ExtraHosts"), net.links, net.host_gateway)
    _rewrite(rec.etc_path("hosts"), hosts.encode())
    dns = hc.get("Dns") or net.daemon_dns
    search = hc.get("DnsSearch") or net.daemon_dns_search
    options = hc.get("DnsOptions") or net.daemon_dns_options
    if host_net and not (dns or search or options):
        resolv = host_resolv_conf() or "nameserver 8.8.8.8\nnameserver 8.8.4.4\n"
    elif net.embedded_dns:
        resolv = embedded_resolv_content(host_resolv_conf(), search, options)
    else:
        resolv = resolv_content(host_resolv_conf(), dns, search, options)
    _rewrite(rec.etc_path("resolv.conf"), resolv.encode())
