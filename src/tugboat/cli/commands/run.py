"""`run` and `create`: flags -> container config, pull-if-missing, and docker's run sequence.

A foreground `run` is, as in docker's CLI: create; attach (hijacked stream) before start so no
output is lost; register a wait (`next-exit`, or `removed` with --rm) before start so a short-lived
container's exit is not missed; start; copy output until the stream ends; exit with the status.
Start failures map to 127 (command not found), 126 (not executable) or 125 (anything else).
"""

from __future__ import annotations

import os
import sys

from tugboat.cli.commands import run_health, run_limits, run_mounts, run_network
from tugboat.cli.context import Context
from tugboat.cli.flags import B, I, L, S, Spec, parse
from tugboat.cli.jsonmessage import StreamError
from tugboat.client.errors import APIError, DaemonUnreachable

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

RUN_USAGE = "docker {path} [OPTIONS] IMAGE [COMMAND] [ARG...]"


def _flags(run: bool) -> list[Any]:
    flags = [
        L("add-host", help="Add a custom host-to-IP mapping (host:ip)"),
        L("attach", "a", "Attach to STDIN, STDOUT or STDERR"),
        L("cap-add", help="Add Linux capabilities"), L("cap-drop", help="Drop Linux capabilities"),
        S("cgroup-parent", help="Optional parent cgroup for the container"),
        S("cidfile", help="Write the container ID to the file"),
        I("cpu-shares", "c", "CPU shares (relative weight)"),
        S("cpus", help="Number of CPUs", metavar="decimal"),
        L("device", help="Add a host device to the container"),
        L("dns", help="Set custom DNS servers"), L("dns-option", help="Set DNS options"),
        L("dns-search", help="Set custom DNS search domains"),
        S("domainname", help="Container NIS domain name"),
        S("entrypoint", help="Overwrite the default ENTRYPOINT of the image"),
        L("env", "e", "Set environment variables"), L("env-file", help="Read in a file of environment variables"),
        L("expose", help="Expose a port or a range of ports"),
        L("group-add", help="Add additional groups to join"),
        S("hostname", "h", "Container host name"),
        B("init", help="Run an init inside the container that forwards signals and reaps processes"),
        B("interactive", "i", "Keep STDIN open even if not attached"),
        S("ipc", help="IPC mode to use"),
        L("label", "l", "Set meta data on a container"), L("label-file", help="Read in a line delimited file of labels"),
        S("log-driver", help="Logging driver for the container"), L("log-opt", help="Log driver options"),
        S("memory", "m", "Memory limit", metavar="bytes"),
        S("memory-swap", help="Swap limit equal to memory plus swap: '-1' to enable unlimited swap",
          metavar="bytes"),
        S("name", help="Assign a name to the container"),
        S("network", help="Connect a container to a network", metavar="network"),
        S("net", hidden=True), L("network-alias", help="Add network-scoped alias for the container"),
        B("oom-kill-disable", help="Disable OOM Killer"),
        S("pid", help="PID namespace to use"), I("pids-limit", help="Tune container pids limit (set -1 for unlimited)"),
        S("platform", help="Set platform if server is multi-platform capable"),
        B("privileged", help="Give extended privileges to this container"),
        L("publish", "p", "Publish a container's port(s) to the host"),
        B("publish-all", "P", "Publish all exposed ports to random ports"),
        S("pull", help='Pull image before creating ("always", "missing", "never")', default="missing"),
        B("quiet", "q", "Suppress the pull output"),
        B("read-only", help="Mount the container's root filesystem as read only"),
        S("restart", help="Restart policy to apply when a container exits", default="no"),
        B("rm", help="Automatically remove the container and its associated anonymous volumes when it exits"),
        L("security-opt", help="Security Options"),
        S("shm-size", help="Size of /dev/shm", metavar="bytes"),
        S("stop-signal", help="Signal to stop the container"),
        I("stop-timeout", help="Timeout (in seconds) to stop a container"),
        L("sysctl", help="Sysctl options", metavar="map"),
        L("tmpfs", help="Mount a tmpfs directory"),
        B("tty", "t", "Allocate a pseudo-TTY"),
        L("ulimit", help="Ulimit options", metavar="ulimit"),
        S("user", "u", "Username or UID (format: <name|uid>[:<group|gid>])"),
        S("userns", help="User namespace to use"), S("uts", help="UTS namespace to use"),
        L("volume", "v", "Bind mount a volume"), L("volumes-from", help="Mount volumes from the specified container(s)"),
        L("mount", help="Attach a filesystem mount to the container", metavar="mount"),
        S("workdir", "w", "Working directory inside the container"),
    ]
    flags += run_limits.flags()
    flags += run_health.flags()
    flags += run_network.flags()
    if run:
        flags += [B("detach", "d", "Run container in background and print container ID"),
                  S("detach-keys", help="Override the key sequence for detaching a container"),
                  B("sig-proxy", help="Proxy received signals to the process")]
    flags.sort(key=lambda f: f.long)
    return flags


def _spec(path: str, run: bool) -> Spec:
    desc = "Create and run a new container from an image" if run else "Create a new container"
    return Spec(path, RUN_USAGE.format(path=path), desc, _flags(run), 1, -1, interspersed=False)


# ---------------------------------------------------------------------------------------------------
# flag conversion

class RunError(Exception):
    """A client-side validation error; printed like docker (`docker: <msg>` + help hint, 125)."""


def _lookup_env(item: str) -> str | None:
    if "=" in item:
        return item
    val = os.environ.get(item)
    return f"{item}={val}" if val is not None else item


def read_kv_file(path: str, env: bool) -> list[str]:
    """docker's env-file/label-file: one entry a line, `#` comments, `NAME` alone looks up the env."""
    try:
        with open(path, encoding="utf-8") as f:
            lines = f.read().splitlines()
    except OSError as e:
        raise RunError(f"open {path}: {e.strerror.lower() if e.strerror else e}") from None
    out = []
    for ln in lines:
        ln = ln.lstrip()
        if not ln or ln.startswith("#"):
            continue
        if "=" in ln:
            k, _, v = ln.partition("=")
            if not k:
                raise RunError(f"invalid environment variable: {ln}")
            out.append(f"{k}={v}" if env else ln)
        else:
            val = _lookup_env(ln) if env else ln
            if val is not None:
                out.append(val)
    return out


_UNITS = {"": 1, "b": 1, "k": 1024, "m": 1024 ** 2, "g": 1024 ** 3, "t": 1024 ** 4, "p": 1024 ** 5}


def ram_in_bytes(v: str) -> int:
    import re
    m = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([kKmMgGtTpP]?)[iI]?[bB]?", v.strip())
    if not m:
        raise RunError(f"invalid size: '{v}'")
    return int(float(m.group(1)) * _UNITS[m.group(2).lower()])


def build_config(opts: dict[str, Any], args: list[str], detach: bool) -> tuple[dict[str, Any], str | None]:
    """The POST /containers/create body, shaped like what docker's CLI sends."""
    image, cmd = args[0], args[1:]
    env: list[str] = []
    for f in opts["env_file"]:
        env += read_kv_file(f, env=True)
    env += [e for e in (_lookup_env(x) for x in opts["env"]) if e is not None]
    labels: dict[str, str] = {}
    for f in opts["label_file"]:
        for ln in read_kv_file(f, env=False):
            k, _, v = ln.partition("=")
            labels[k] = v
    for lab in opts["label"]:
        k, _, v = lab.partition("=")
        labels[k] = v
    attach = [a.lower() for a in opts["attach"]]
    for a in attach:
        if a not in ("stdin", "stdout", "stderr"):
            raise RunError("valid streams are STDIN, STDOUT and STDERR")
    interactive = bool(opts["interactive"])
    if detach:
        a_in = a_out = a_err = False
    elif attach:
        a_in, a_out, a_err = "stdin" in attach, "stdout" in attach, "stderr" in attach
    else:
        a_in, a_out, a_err = interactive, True, True
    try:
        exposed, bindings = run_network.ports(opts)
    except run_network.PortError as e:
        raise RunError(str(e)) from None
    config: dict[str, Any] = {
        "Hostname": opts["hostname"] or "", "Domainname": opts["domainname"] or "",
        "User": opts["user"] or "",
        "AttachStdin": a_in, "AttachStdout": a_out, "AttachStderr": a_err,
        "Tty": bool(opts["tty"]), "OpenStdin": interactive, "StdinOnce": interactive and a_in,
        "Env": env, "Cmd": cmd or None, "Image": image, "Volumes": {},
        "WorkingDir": opts["workdir"] or "", "Entrypoint": None, "OnBuild": None, "Labels": labels,
    }
    if exposed:
        config["ExposedPorts"] = exposed
    if "entrypoint" in opts["_set"]:
        config["Entrypoint"] = [opts["entrypoint"]] if opts["entrypoint"] else [""]
    if opts["stop_signal"]:
        config["StopSignal"] = opts["stop_signal"]
    if opts["stop_timeout"] is not None:
        config["StopTimeout"] = opts["stop_timeout"]
    try:
        health = run_health.config(opts)
    except ValueError as e:
        raise RunError(str(e)) from None
    if health is not None:
        config["Healthcheck"] = health
    restart = opts["restart"] or "no"
    rname, _, rcount = restart.partition(":")
    if opts["rm"] and rname not in ("no", ""):
        raise RunError("Conflicting options: --restart and --rm")
    host: dict[str, Any] = {
        "Binds": opts["volume"] or None, "ContainerIDFile": opts["cidfile"] or "",
        "LogConfig": {"Type": opts["log_driver"] or "", "Config": dict(o.split("=", 1) for o in opts["log_opt"] if "=" in o)},
        "NetworkMode": opts["network"] or opts["net"] or "default", "PortBindings": bindings,
        "RestartPolicy": {"Name": rname, "MaximumRetryCount": int(rcount) if rcount.isdigit() else 0},
        "AutoRemove": bool(opts["rm"]), "VolumeDriver": "", "VolumesFrom": opts["volumes_from"] or None,
        "CapAdd": opts["cap_add"] or None, "CapDrop": opts["cap_drop"] or None,
        "Dns": opts["dns"], "DnsOptions": opts["dns_option"], "DnsSearch": opts["dns_search"],
        "ExtraHosts": opts["add_host"] or None, "GroupAdd": opts["group_add"] or None,
        "IpcMode": opts["ipc"] or "", "PidMode": opts["pid"] or "", "UTSMode": opts["uts"] or "",
        "UsernsMode": opts["userns"] or "", "Privileged": bool(opts["privileged"]),
        "PublishAllPorts": bool(opts["publish_all"]), "ReadonlyRootfs": bool(opts["read_only"]),
        "SecurityOpt": opts["security_opt"] or None, "CgroupParent": opts["cgroup_parent"] or "",
        "CpuShares": opts["cpu_shares"] or 0, "Memory": ram_in_bytes(opts["memory"]) if opts["memory"] else 0,
        "Devices": [], "OomKillDisable": bool(opts["oom_kill_disable"]),
    }
    if opts["memory_swap"]:
        host["MemorySwap"] = -1 if opts["memory_swap"] == "-1" else ram_in_bytes(opts["memory_swap"])
    if opts["cpus"]:
        host["NanoCpus"] = int(float(opts["cpus"]) * 1e9)
    if opts["pids_limit"] is not None:
        host["PidsLimit"] = opts["pids_limit"]
    if opts["shm_size"]:
        host["ShmSize"] = ram_in_bytes(opts["shm_size"])
    if opts["init"]:
        host["Init"] = True
    if opts["tmpfs"]:
        host["Tmpfs"] = {t.partition(":")[0]: t.partition(":")[2] for t in opts["tmpfs"]}
    if opts["sysctl"]:
        host["Sysctls"] = dict(s.split("=", 1) for s in opts["sysctl"] if "=" in s)
    if opts["ulimit"]:
        ul = []
        for u in opts["ulimit"]:
            name, _, lim = u.partition("=")
            soft, _, hard = lim.partition(":")
            ul.append({"Name": name, "Hard": int(hard or soft), "Soft": int(soft)})
        host["Ulimits"] = ul
    try:
        run_limits.apply(opts, host, ram_in_bytes)
    except ValueError as e:
        raise RunError(str(e)) from None
    run_mounts.apply(opts, config, host, ram_in_bytes)
    config["HostConfig"] = host
    try:
        config["NetworkingConfig"] = run_network.apply(opts, config, host)
    except run_network.PortError as e:
        raise RunError(str(e)) from None
    return config, opts["name"]


# ---------------------------------------------------------------------------------------------------
# create (with pull-if-missing)

def _image_ref(image: str) -> tuple[str, str]:
    from tugboat.cli.formatter import split_repo_tag
    if "@" in image:
        return image.split("@", 1)[0], "@" + image.split("@", 1)[1]
    repo, tag = split_repo_tag(image)
    return repo, tag or "latest"


def normalize_repo(repo: str) -> str:
    """reference.ParseNormalizedNamed: "busybox" -> "docker.io/library/busybox" (what docker sends)."""
    first, sep, rest = repo.partition("/")
    if sep and ("." in first or ":" in first or first == "localhost"):
        return repo
    return f"docker.io/{repo}" if sep else f"docker.io/library/{repo}"


def pull(ctx: Context, image: str, quiet: bool, platform: str | None) -> None:
    repo, tag = _image_ref(image)
    repo = normalize_repo(repo)
    params: dict[str, Any] = {"fromImage": repo, "platform": platform or None}
    if tag.startswith("@"):
        params["fromImage"] = repo + tag
    else:
        params["tag"] = tag
    from tugboat.cli import dockerconfig
    resp = ctx.client.images.create(params, headers={"X-Registry-Auth": dockerconfig.header_for_image(repo)})
    from tugboat.cli.jsonmessage import display
    display(resp.iter_json(), sys.stderr if not quiet else None)


def create_container(ctx: Context, opts: dict[str, Any], config: dict[str, Any], name: str | None) -> str:
    c = ctx.client.containers
    platform = opts["platform"]
    image = config["Image"]
    if opts["pull"] == "always":
        pull(ctx, image, opts["quiet"], platform)
    try:
        resp = c.create(config, name, platform)
    except APIError as e:
        if e.status != 404 or "No such image" not in e.message or opts["pull"] == "never":
            raise
        repo, tag = _image_ref(image)
        from tugboat.cli.formatter import familiar_name
        shown = familiar_name(repo) + (tag if tag.startswith("@") else ":" + tag)
        ctx.eprint(f"Unable to find image '{shown}' locally")
        pull(ctx, image, opts["quiet"], platform)
        resp = c.create(config, name, platform)
    for w in resp.get("Warnings") or []:
        ctx.eprint(f"WARNING: {w}")
    if opts["cidfile"]:
        with open(opts["cidfile"], "w") as f:
            f.write(resp["Id"])
    return str(resp["Id"])


def status_for_start_error(msg: str) -> int:
    if "executable file not found" in msg or "no such file or directory" in msg \
            or "system cannot find the file specified" in msg:
        return 127
    if "permission denied" in msg or "is a directory" in msg:
        return 126
    return 125


def _fail(ctx: Context, path: str, msg: str) -> None:
    ctx.eprint(f"tug: {msg}\n\nRun 'tug {path} --help' for more information")


def create(ctx: Context, argv: list[str], path: str) -> int:
    """Unlike run, docker's create reports failures plainly and exits 1 (125 only for flag errors)."""
    spec = _spec(path, run=False)
    opts, args = parse(spec, argv)
    run_limits.check_flags(opts, spec)
    run_health.check_flags(opts, spec)
    run_network.check_flags(opts, spec)
    run_mounts.check_flags(opts, spec, ram_in_bytes)
    try:
        # docker's create records the attach flags a later `start -a[i]` uses: stdout/stderr, and
        # stdin + StdinOnce with -i
        config, name = build_config(opts, args, detach=False)
        ctx.print(create_container(ctx, opts, config, name))
    except RunError as e:
        _fail(ctx, path, str(e))
        return 125
    except APIError as e:
        ctx.eprint(f"Error response from daemon: {e.message}")
        return 1
    except (DaemonUnreachable, StreamError) as e:
        ctx.eprint(str(e))
        return 1
    return 0


# ---------------------------------------------------------------------------------------------------
# run

class _Waiter:
    """POST /wait on its own connection, without a thread.

    begin() sends the request and waits for the response headers: dockerd and tugd send them as
    soon as the waiter is registered, so a container that exits right after start is not missed.
    A daemon that holds them back costs at most HEADER_WAIT seconds. result() reads the body
    after the output stream has ended."""

    HEADER_WAIT = 2.0

    def __init__(self, ctx: Context, id: str, condition: str) -> None:
        from tugboat.client.transport import Transport
        self.t = Transport(ctx.client.transport.host, ctx.client.transport.version)
        self.id, self.condition = id, condition
        self.conn: Any = None
        self.resp: Any = None
        self.error: Exception | None = None

    def begin(self) -> None:
        from tugboat.client.http11 import RawResponse
        t = self.t
        try:
            self.conn = t._new_conn()
            self.conn.connect()
            self.conn.sock.settimeout(self.HEADER_WAIT)
            self.conn.send("POST", t.url(f"/containers/{self.id}/wait", {"condition": self.condition}),
                           {"Content-Type": "application/json"})
            try:
                self.resp = RawResponse(self.conn, "POST")
            except TimeoutError:
                pass  # nothing read yet: result() will read the whole answer
            self.conn.sock.settimeout(None)
        except OSError as e:
            self.error = DaemonUnreachable(t.host, str(e))

    def result(self) -> dict[str, Any]:
        if self.error is not None or self.conn is None:
            return {}
        from tugboat.client import jsonlite
        from tugboat.client.http11 import RawResponse
        try:
            if self.resp is None:
                self.resp = RawResponse(self.conn, "POST")
            body = self.resp.read()
            if self.resp.status >= 400:
                self.error = APIError.from_body(self.resp.status, body)
                return {}
            return jsonlite.loads(body) if body.strip() else {}
        except (OSError, ValueError) as e:
            self.error = DaemonUnreachable(self.t.host, str(e))
            return {}
        finally:
            self.conn.close()


def _pump_stdin(sock: Any) -> None:
    fd = sys.stdin.fileno()
    try:
        while True:
            data = os.read(fd, 65536)
            if not data:
                break
            sock.sendall(data)
    except OSError:
        pass
    finally:
        sock.close_write()


def attach_and_start(ctx: Context, info: dict[str, Any], stdin: bool, stdout: bool = True,
                     stderr: bool = True, condition: str = "next-exit", run_path: str | None = None) -> int:
    """Attach to a created container, start it, copy its output, return its exit status.

    `run_path` set means we are `run` (start errors exit 126/127/125 with docker's run wording);
    otherwise `start -a` (plain daemon error, exit 1).
    """
    id = info["Id"]
    tty = bool((info.get("Config") or {}).get("Tty"))
    c = ctx.client.containers
    hijacked = c.attach(id, stdin=stdin, stdout=stdout, stderr=stderr)
    waiter = _Waiter(ctx, id, condition)
    waiter.begin()
    try:
        c.start(id)
    except APIError as e:
        hijacked.close()
        msg = f"Error response from daemon: {e.message}"
        if condition == "removed":
            waiter.result()  # docker waits for the removal before reporting
        if run_path is None:
            ctx.eprint(msg)
            return 1
        _fail(ctx, run_path, msg)
        return status_for_start_error(e.message)
    from tugboat.cli.terminal import attach_terminal
    restore = attach_terminal(lambda h, w: ctx.client.containers.resize(id, h, w), stdin) if tty else None
    if stdin:
        import threading
        threading.Thread(target=_pump_stdin, args=(hijacked,), daemon=True).start()
    _proxy_signals(ctx, id, tty)

    from tugboat.cli.streams import relay_attached
    relay_attached(hijacked, tty, restore)
    result = waiter.result()
    if waiter.error is not None:
        if isinstance(waiter.error, APIError):
            ctx.eprint(f"Error response from daemon: {waiter.error.message}")
        else:
            ctx.eprint(str(waiter.error))
        return 125
    err = result.get("Error") or {}
    if err and err.get("Message"):
        ctx.eprint(f"Error waiting for container: {err['Message']}")
        return 125
    return int(result.get("StatusCode", 0))


def _proxy_signals(ctx: Context, id: str, tty: bool) -> None:
    """--sig-proxy (default on without a TTY): forward SIGINT/SIGTERM/... to the container."""
    if tty:
        return
    import _signal as signal  # the C module: `signal` builds enums at import (~1 ms)

    def forward(signum: int, _frame: Any) -> None:
        try:
            ctx.client.containers.kill(id, str(signum))
        except Exception:  # noqa: BLE001 - best effort, like docker
            pass

    for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1, signal.SIGUSR2):
        try:
            signal.signal(s, forward)
        except (ValueError, OSError):
            pass


def run(ctx: Context, argv: list[str], path: str) -> int:
    spec = _spec(path, run=True)
    opts, args = parse(spec, argv)
    run_limits.check_flags(opts, spec)
    run_health.check_flags(opts, spec)
    run_network.check_flags(opts, spec)
    run_mounts.check_flags(opts, spec, ram_in_bytes)
    detach = bool(opts["detach"])
    if not detach and opts["tty"] and opts["interactive"] and not os.isatty(sys.stdin.fileno()):
        ctx.eprint("the input device is not a TTY")  # docker checks before creating anything
        return 1
    try:
        if detach and opts["attach"]:
            raise RunError("Conflicting options: -a and -d")
        config, name = build_config(opts, args, detach)
        id = create_container(ctx, opts, config, name)
    except RunError as e:
        _fail(ctx, path, str(e))
        return 125
    except APIError as e:
        _fail(ctx, path, f"Error response from daemon: {e.message}")
        return 125
    except (DaemonUnreachable, StreamError) as e:
        _fail(ctx, path, str(e))
        return 125
    c = ctx.client.containers
    if detach:
        try:
            c.start(id)
        except APIError as e:
            _fail(ctx, path, f"Error response from daemon: {e.message}")
            return status_for_start_error(e.message)
        ctx.print(id)
        return 0
    info = {"Id": id, "Config": config, "HostConfig": config["HostConfig"]}
    try:
        return attach_and_start(ctx, info, bool(config["AttachStdin"]), bool(config["AttachStdout"]),
                                bool(config["AttachStderr"]), "removed" if opts["rm"] else "next-exit", path)
    except APIError as e:
        _fail(ctx, path, f"Error response from daemon: {e.message}")
        return 125
