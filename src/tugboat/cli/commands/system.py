"""`version` and `info`: docker's layouts, rendered with docker's own version template."""

from __future__ import annotations

import os
import sys

from tugboat.cli.context import Context
from tugboat.cli.flags import S, Spec, parse
from tugboat.client.errors import APIError, DaemonUnreachable

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

FORMAT_HELP = "Format output using a custom template"

_ENGINE_SHOWN = ("ApiVersion", "MinAPIVersion", "GoVersion", "GitCommit", "BuildTime", "Os", "Arch",
                 "Experimental", "KernelVersion")


def version_text(client: dict[str, Any], server: dict[str, Any] | None) -> str:
    """docker's default version template (cli/command/system/version.go) written out in Python, so
    plain `tug version` needs no template engine; lines are tab-separated for the tabwriter."""
    c = client
    api = c["ApiVersion"] + (f" (downgraded from {c['DefaultAPIVersion']})"
                             if c["ApiVersion"] != c["DefaultAPIVersion"] else "")
    lines = ["Client:", f" Version:\t{c['Version']}", f" API version:\t{api}",
             f" Python version:\t{c['PythonVersion']}", f" OS/Arch:\t{c['Os']}/{c['Arch']}",
             f" Context:\t{c['Context']}"]
    if server is not None:
        name = (server.get("Platform") or {}).get("Name") or ""
        lines += ["", "Server:" + (f" {name}" if name else "")]
        for comp in server.get("Components") or []:
            details = comp.get("Details") or {}
            lines.append(f" {comp.get('Name', '')}:")
            if comp.get("Name") == "Engine":
                d = details.get
                lines += [f"  Version:\t{comp.get('Version', '')}",
                          f"  API version:\t{d('ApiVersion', '<no value>')} (minimum version "
                          f"{d('MinAPIVersion', '<no value>')})",
                          f"  Go version:\t{d('GoVersion', '<no value>')}",
                          f"  Git commit:\t{d('GitCommit', '<no value>')}",
                          f"  Built:\t{d('BuildTime', '<no value>')}",
                          f"  OS/Arch:\t{d('Os', '<no value>')}/{d('Arch', '<no value>')}",
                          f"  Experimental:\t{d('Experimental', '<no value>')}"]
                lines += [f"  {k}:\t{details[k]}" for k in sorted(details) if k not in _ENGINE_SHOWN]
            else:
                lines.append(f"  Version:\t{comp.get('Version', '')}")
                lines += [f"  {k}:\t{details[k]}" for k in sorted(details)]
    from tugboat.cli.table import tabwrite
    return tabwrite("\n".join(lines), minwidth=20, padding=1)


def _client_info(api_version: str) -> dict[str, Any]:
    from tugboat import __version__
    from tugboat.client.transport import MAX_API_VERSION
    machine = os.uname().machine  # not `platform`: its import costs ~5 ms
    arch = {"x86_64": "amd64", "aarch64": "arm64"}.get(machine, machine)
    return {"Version": __version__, "ApiVersion": api_version, "DefaultAPIVersion": MAX_API_VERSION,
            "PythonVersion": "{}.{}.{}".format(*sys.version_info[:3]), "Os": sys.platform.rstrip("0123456789"),
            "Arch": arch, "Context": "default"}


def _ansic(rfc3339: str) -> str:
    """docker's reformatDate: RFC 3339 -> time.ANSIC ("Thu May  7 21:09:36 2026"), else unchanged.
    Done by hand: datetime/_strptime imports cost more than `tug version` itself."""
    try:
        date, clock = rfc3339[:10], rfc3339[11:19]
        y, m, d = (int(x) for x in date.split("-"))
        if rfc3339[10] != "T" or len(clock) != 8:
            return rfc3339
    except (ValueError, IndexError):
        return rfc3339
    # days since 1970-01-01 (a Thursday), Howard Hinnant's days_from_civil
    yy = y - (m <= 2)
    era = yy // 400
    yoe = yy - era * 400
    doy = (153 * (m + (-3 if m > 2 else 9)) + 2) // 5 + d - 1
    days = era * 146097 + yoe * 365 + yoe // 4 - yoe // 100 + doy - 719468
    wday = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"][days % 7]
    mon = "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split()[m - 1]
    return f"{wday} {mon} {d:2d} {clock} {y}"


def version(ctx: Context, argv: list[str], path: str) -> int:
    spec = Spec(path, "docker version [OPTIONS]", "Show the Docker version information",
                [S("format", "f", FORMAT_HELP)], 0, 0)
    opts, _ = parse(spec, argv)
    fmt = opts["format"]
    tmpl = None
    if fmt:
        from tugboat.cli.gotemplate import Template, TemplateError
        try:
            tmpl = Template("{{json .}}" if fmt == "json" else fmt, name="version")
        except TemplateError as e:
            ctx.eprint(f"template parsing error: {e}")
            return 64
    server: dict[str, Any] | None = None
    err: Exception | None = None
    try:
        server = ctx.client.system.version()
        api = ctx.client.api_version
        for comp in server.get("Components") or []:
            details = comp.get("Details") or {}
            if comp.get("Name") == "Engine" and "BuildTime" in details:
                details["BuildTime"] = _ansic(details["BuildTime"])
    except (APIError, DaemonUnreachable) as e:
        err = e
        from tugboat.client.transport import MAX_API_VERSION
        api = MAX_API_VERSION
    if tmpl is None:
        ctx.out.write(version_text(_client_info(api), server) + "\n")
    else:
        from tugboat.cli.gotemplate import Struct, TemplateError

        class Version(Struct):
            aliases = {"APIVersion": "ApiVersion"}

        class VersionInfo(Struct):
            go_type = "system.versionInfo"

        data = VersionInfo(Client=Version(_client_info(api)),
                           Server=Version(server) if server is not None else None)
        if "ServerOK" in (fmt or ""):  # a method in docker's versionInfo: not part of `json .`
            data["ServerOK"] = server is not None
        try:
            ctx.out.write(tmpl.execute(data) + "\n")
        except TemplateError as e:
            ctx.out.write("\n")  # docker flushes its (empty) output first
            ctx.out.flush()
            ctx.eprint(str(e))
            return 1
    if err is not None:
        ctx.out.flush()
        ctx.daemon_error(err)
        return 1
    return 0


def _line(out: list[str], indent: int, label: str, value: Any) -> None:
    out.append(" " * indent + f"{label}: {value}")


def format_info(info: dict[str, Any]) -> list[str]:
    """docker's prettyPrintServerInfo for the fields an API 1.41 daemon reports."""
    from tugboat.cli.humanize import bytes_size
    o: list[str] = []
    g = info.get
    _line(o, 1, "Containers", g("Containers", 0))
    _line(o, 2, "Running", g("ContainersRunning", 0))
    _line(o, 2, "Paused", g("ContainersPaused", 0))
    _line(o, 2, "Stopped", g("ContainersStopped", 0))
    _line(o, 1, "Images", g("Images", 0))
    _line(o, 1, "Server Version", g("ServerVersion", ""))
    _line(o, 1, "Storage Driver", g("Driver", ""))
    for pair in g("DriverStatus") or []:
        if len(pair) == 2:
            _line(o, 2, pair[0], pair[1])
    if g("LoggingDriver"):
        _line(o, 1, "Logging Driver", g("LoggingDriver"))
    if g("CgroupDriver"):
        _line(o, 1, "Cgroup Driver", g("CgroupDriver"))
    if g("CgroupVersion"):
        _line(o, 1, "Cgroup Version", g("CgroupVersion"))
    plugins = g("Plugins") or {}
    o.append(" Plugins:")
    for key, label in (("Volume", "Volume"), ("Network", "Network"), ("Authorization", "Authorization"),
                       ("Log", "Log")):
        if plugins.get(key):
            _line(o, 2, label, " ".join(plugins[key]))
    swarm = (g("Swarm") or {}).get("LocalNodeState") or "inactive"
    _line(o, 1, "Swarm", swarm)
    runtimes = sorted((g("Runtimes") or {}).keys())
    if runtimes:
        _line(o, 1, "Runtimes", " ".join(runtimes))
    if g("DefaultRuntime"):
        _line(o, 1, "Default Runtime", g("DefaultRuntime"))
    if g("OSType") == "linux":
        _line(o, 1, "Init Binary", g("InitBinary", ""))
        for key, label in (("ContainerdCommit", "containerd version"), ("RuncCommit", "runc version"),
                           ("InitCommit", "init version")):
            commit = g(key) or {}
            _line(o, 1, label, commit.get("ID", ""))
        opts = g("SecurityOptions") or []
        if opts:
            o.append(" Security Options:")
            for so in opts:
                parts = dict(kv.split("=", 1) for kv in so.split(",") if "=" in kv)
                o.append(f"  {parts.get('name', so)}")
                for k, v in parts.items():
                    if k != "name":
                        _line(o, 3, k.capitalize(), v)
    _line(o, 1, "Kernel Version", g("KernelVersion", ""))
    _line(o, 1, "Operating System", g("OperatingSystem", ""))
    _line(o, 1, "OSType", g("OSType", ""))
    _line(o, 1, "Architecture", g("Architecture", ""))
    _line(o, 1, "CPUs", g("NCPU", 0))
    _line(o, 1, "Total Memory", bytes_size(g("MemTotal", 0) or 0))
    _line(o, 1, "Name", g("Name", ""))
    _line(o, 1, "ID", g("ID", ""))
    _line(o, 1, "Docker Root Dir", g("DockerRootDir", ""))
    _line(o, 1, "Debug Mode", str(bool(g("Debug"))).lower())
    for key, label in (("HttpProxy", "HTTP Proxy"), ("HttpsProxy", "HTTPS Proxy"), ("NoProxy", "No Proxy")):
        if g(key):
            _line(o, 1, label, g(key))
    if g("Labels"):
        o.append(" Labels:")
        o += [f"  {lab}" for lab in g("Labels") or []]
    _line(o, 1, "Experimental", str(bool(g("ExperimentalBuild"))).lower())
    reg = g("RegistryConfig") or {}
    insecure = [c for c in reg.get("InsecureRegistryCIDRs") or []]
    insecure += [name for name, idx in (reg.get("IndexConfigs") or {}).items() if not idx.get("Secure", True)]
    if insecure:
        o.append(" Insecure Registries:")
        o += [f"  {x}" for x in insecure]
    if reg.get("Mirrors"):
        o.append(" Registry Mirrors:")
        o += [f"  {x}" for x in reg["Mirrors"]]
    _line(o, 1, "Live Restore Enabled", str(bool(g("LiveRestoreEnabled"))).lower())
    return o


def info(ctx: Context, argv: list[str], path: str) -> int:
    spec = Spec(path, f"docker {path} [OPTIONS]", "Display system-wide information",
                [S("format", "f", FORMAT_HELP)], 0, 0)
    opts, _ = parse(spec, argv)
    fmt = opts["format"]
    try:
        data = ctx.client.system.info()
    except (APIError, DaemonUnreachable) as e:
        if fmt:
            ctx.daemon_error(e)
            return 1
        from tugboat import __version__
        ctx.out.write(f"Client:\n Version:    {__version__}\n Context:    default\n Debug Mode: false\n\n"
                      "Server:\n")
        ctx.out.flush()
        ctx.daemon_error(e)
        return 1
    if fmt:
        from tugboat.cli.gotemplate import Struct, Template, TemplateError

        class DockerInfo(Struct):
            go_type = "system.dockerInfo"

        try:
            tmpl = Template("{{json .}}" if fmt == "json" else fmt)
        except TemplateError as e:
            ctx.eprint(f"template parsing error: {e}")
            return 64
        try:
            ctx.out.write(tmpl.execute(DockerInfo(data)) + "\n")
        except TemplateError as e:
            ctx.out.write("\n")
            ctx.out.flush()
            ctx.eprint(str(e))
            return 1
        return 0
    from tugboat import __version__
    lines = ["Client:", f" Version:    {__version__}", " Context:    default", " Debug Mode: false", "",
             "Server:"] + format_info(data)
    ctx.out.write("\n".join(lines) + "\n\n")
    for w in data.get("Warnings") or []:
        ctx.eprint(w)
    return 0
